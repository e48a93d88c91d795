"""Listen and record's continuous audio recording on a C1410 whose storage is a real Samba share:
started without a share it is refused, with one it records the microphone (the tone fed to it
comes back when ffmpeg decodes the recording played or exported in part), it resumes after a
restart as a new recording, it is listed and deleted, and bad requests and viewers change nothing."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tests.conftest import client_as, eventually
from tests.peers.samba import PASSWORD, USER, Samba, needs_samba
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.audio import const as c
from vigil.features.audio.recording import AUDIO_RECORDER, SOURCE
from vigil.features.storage.network import ShareConfig
from vigil.features.storage.service import STORAGE_SERVICE
from vigil.footage import index
from vigil.hal.audio import AUDIO_HARDWARE, RATE, dominant_frequency, tone

pytestmark = needs_samba


async def decode(data: bytes) -> np.ndarray:
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-f", "mp4", "-i", "pipe:0", "-ac", "1", "-ar", str(RATE), "-f", "s16le", "-",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(data), 30)
    assert proc.returncode == 0, err.decode()
    return np.frombuffer(out, "<i2")


async def running(data: Path) -> tuple[Device, list[asyncio.Task]]:
    device = build_device("c1410", data, Ports(), Clock())
    recorder = device.features[AUDIO_RECORDER]
    tasks = [asyncio.create_task(recorder.run())]
    await eventually(lambda: recorder.running, 10, "the recorder to start")
    return device, tasks


async def stopped(device: Device, tasks: list[asyncio.Task]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await device.features[STORAGE_SERVICE].jobs.close()
    await device.features[STORAGE_SERVICE].network_shares.disconnect()
    device.close()


async def test_the_microphone_is_recorded_to_the_share_played_resumed_and_deleted(tmp_path: Path,
                                                                                  samba: Samba) -> None:
    device, tasks = await running(tmp_path / "data")
    recorder = device.features[AUDIO_RECORDER]
    try:
        async with client_as(device, "operator") as operator:
            r = await operator.post(c.RECORDING_PATH, json={"record": True})
            assert r.status_code == 400 and "network share" in r.json()["error"]["message"]
            assert recorder.wanted is False
            storage = device.features[STORAGE_SERVICE]
            config = await storage.network_shares.add(ShareConfig("nas", "NAS", samba.address, "footage", USER,
                                                                  PASSWORD), "test")
            storage.network_shares.bind(config.id, "test")
            await storage.tick()
            device.hardware[AUDIO_HARDWARE].feed(tone(1000, 4.0, -20.0))
            r = await operator.post(c.RECORDING_PATH, json={"record": True})
            assert r.status_code == 200 and r.json()["recording"] is True, r.text
            first = r.json()["recordingId"]
            await eventually(lambda: (index.recording_extent(device.store, first) or (0, 0))[1]
                             - (index.recording_extent(device.store, first) or (0, 0))[0] >= 2.5, 15,
                             "three seconds of audio indexed")
        await stopped(device, tasks)  # a restart: recording resumes

        device, tasks = await running(tmp_path / "data")
        recorder = device.features[AUDIO_RECORDER]
        await eventually(lambda: recorder.ongoing is not None, 10, "recording to resume")
        assert recorder.ongoing is not None and recorder.ongoing.id != first
        async with client_as(device, "operator") as operator, client_as(device, "viewer") as viewer:
            listed = (await viewer.get(c.RECORDINGS_PATH)).json()["recordings"]
            assert [r["id"] for r in listed] == [first, recorder.ongoing.id] and listed[0]["stop"] is not None
            whole = await viewer.get(c.RECORDINGS_PATH + "/play", params={"id": first})
            assert whole.status_code == 200 and whole.headers["content-type"] == "audio/mp4"
            heard = await decode(whole.content)
            assert len(heard) >= 2 * RATE and abs(dominant_frequency(heard[RATE // 2:]) - 1000) < 20
            start = listed[0]["start"]
            part = await viewer.get(c.RECORDINGS_PATH + "/play", params={
                "id": first, "download": "1", "starttime": iso(start + 1.2), "stoptime": iso(start + 2.2)})
            assert part.headers["content-disposition"] == f'attachment; filename="{first}.mp4"'
            assert 0.9 * RATE <= len(await decode(part.content)) <= 2.1 * RATE  # from the fragment before

            for query in ({"id": "nope"}, {"id": first, "starttime": "yesterday"},
                          {"id": first, "starttime": iso(start + 3), "stoptime": iso(start + 1)}):
                r = await viewer.get(c.RECORDINGS_PATH + "/play", params=query)
                assert r.status_code in (400, 404) and "error" in r.json(), query
            for body in ({"record": "yes"}, {"delete": 1}, {"record": True, "delete": first}, []):
                r = await operator.post(c.RECORDING_PATH, json=body)
                assert r.status_code == 400, body
            assert (await operator.post(c.RECORDING_PATH, json={"delete": "nope"})).status_code == 400
            r = await operator.post(c.RECORDING_PATH, json={"delete": recorder.ongoing.id})
            assert r.status_code == 400 and "ongoing" in r.json()["error"]["message"]
            assert (await viewer.post(c.RECORDING_PATH, json={"record": False})).status_code == 403
            assert recorder.wanted is True
            files = [Path(p) for _i, p, _b in index.segments_on(device.store, (recorder.volume(),))]
            r = await operator.post(c.RECORDING_PATH, json={"delete": first})
            assert r.status_code == 200
            assert [x["id"] for x in (await viewer.get(c.RECORDINGS_PATH)).json()["recordings"]] == \
                [recorder.ongoing.id]
            assert not any(f.exists() for f in files if first in f.name)
            r = await operator.post(c.RECORDING_PATH, json={"record": False})
            assert r.json()["recording"] is False and recorder.wanted is False
        assert all(row[1] == SOURCE for row in index.recording_rows(device.store))
    finally:
        await stopped(device, tasks)


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat()
