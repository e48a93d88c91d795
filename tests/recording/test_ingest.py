"""Recording from real RTSP servers on 127.0.0.1 (GStreamer's RTSP server)."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect

from tests.conftest import ADMIN, LiveDevice, add_source, create_admin_live, eventually, start_live
from tests.footage.conftest import fill, small_filesystem
from tests.peers.rtsp import GstCameras, make_av_clip
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.core.rules import Condition, Rule
from vigil.device import Device, Ports
from vigil.features.recording.recorder import CONNECTION, RECORDING, RECORDING_SERVICE
from vigil.features.recording.rtsp_client import RtspError, connect
from vigil.features.recording.sources import Source
from vigil.features.recording.write_failures import QUIET_SECONDS
from vigil.features.storage.service import DISRUPTION


def ffprobe_frames(path: Path) -> int:
    out = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0", "-show_entries",
                          "stream=nb_read_frames", "-of", "csv=p=0", str(path)], capture_output=True, text=True)
    return int(out.stdout.strip() or 0)


@pytest.fixture
async def recorder_device(tmp_path: Path):
    device = build_device("s3016", tmp_path / "data", Ports(), Clock())
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    service = device.features[RECORDING_SERVICE]
    task = asyncio.ensure_future(service.run())
    yield device
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    device.close()


async def test_records_two_cameras_into_playable_segments(recorder_device: Device, clip: Path) -> None:
    cams = GstCameras(clip, 2).start()
    try:
        service = recorder_device.features[RECORDING_SERVICE]
        await add_source(recorder_device, "c1", cams.url(1))
        await add_source(recorder_device, "c2", cams.url(2))
        await eventually(lambda: len(service.ongoing()) == 2)
        await asyncio.sleep(4)
        rows = recorder_device.store.query("SELECT id, source, video, width, height FROM recordings ORDER BY source")
        assert [(r[1], r[2], r[3], r[4]) for r in rows] == [("c1", "h264", 640, 360), ("c2", "h264", 640, 360)]
        for rid, *_ in rows:
            service.end_recording(rid.split("_")[2], rid)
        await asyncio.sleep(1.0)
        for (path, sealed, checksum) in recorder_device.store.query("SELECT path, sealed, checksum FROM segments"):
            assert sealed == 1 and checksum.startswith("crc32:")
            frames = ffprobe_frames(Path(path))
            assert 45 <= frames <= 90, frames  # about 4-5 s at 15 fps
        assert recorder_device.events.state(RECORDING, {"RecordingToken": "c1"}) == {"IsRecording": "0"}
    finally:
        cams.stop()


async def test_digest_protected_camera(recorder_device: Device, clip: Path) -> None:
    cams = GstCameras(clip, 1, user="cam", password="secret").start()
    try:
        with pytest.raises(RtspError, match="user name"):
            await asyncio.to_thread(connect, cams.url(1), "cam", "wrong")
        await add_source(recorder_device, "c1", cams.url(1), username="cam", password="secret")
        await eventually(lambda: recorder_device.features[RECORDING_SERVICE].ongoing())
    finally:
        cams.stop()


async def test_camera_that_drops_and_returns_leaves_a_gap_and_two_events(recorder_device: Device, clip: Path) -> None:
    cams = GstCameras(clip, 1).start()
    service = recorder_device.features[RECORDING_SERVICE]
    seen = []
    recorder_device.events.subscribe(lambda e: seen.append(e.data["connected"]) if e.topic == CONNECTION else None)
    try:
        await add_source(recorder_device, "c1", cams.url(1))
        await eventually(lambda: service.ongoing())
        await asyncio.sleep(2)
        cams.stop()
        await eventually(lambda: not service.ongoing(), timeout=10)
        lost_at = time.time()
        cams = GstCameras(clip, 1, port=cams.port).start()
        await eventually(lambda: service.ongoing(), timeout=15)
        await asyncio.sleep(2)
    finally:
        cams.stop()
    assert seen[-2:] == ["0", "1"] and seen.count("0") >= 1
    rows = recorder_device.store.query("SELECT start, stop FROM recordings WHERE source='c1' ORDER BY start")
    assert len(rows) == 2
    first_stop, second_start = rows[0][1], rows[1][0]
    assert first_stop is not None and second_start > first_stop  # the gap is visible
    assert second_start >= lost_at - 1


async def test_triggered_recording_with_pre_and_post_buffers(recorder_device: Device, clip: Path) -> None:
    from vigil.core.events import Item, Topic

    cams = GstCameras(clip, 1).start()
    device = recorder_device
    service = device.features[RECORDING_SERVICE]
    device.events.declare(Topic("tnsaxis:Test/Door", "Door", True, (), (Item("open", state=True),)))
    device.events.publish("tnsaxis:Test/Door", {}, {"open": "0"})
    try:
        device.params.set_internal({})
        service.sources.put(Source("c1", "c1", cams.url(1), continuous=False), "test")
        action = device.rules.add_action("rec", "com.axis.action.unlimited.recording.storage",
                                         {"source": "c1", "pre_duration": "2000", "post_duration": "1000"}, "t")
        device.rules.add_rule(Rule(0, "door", True, action.id, (Condition("tnsaxis:Test/Door"),)), "t")
        await service.reconfigure("c1")
        await eventually(lambda: "c1" in service.recorders and service.recorders["c1"].connected)
        await asyncio.sleep(3.5)  # fill the pre-event buffer
        opened = time.time()
        device.events.publish("tnsaxis:Test/Door", {}, {"open": "1"})
        await asyncio.sleep(2)
        device.events.publish("tnsaxis:Test/Door", {}, {"open": "0"})
        closed = time.time()
        await asyncio.sleep(2.5)
        assert not service.ongoing()
    finally:
        cams.stop()
    (rid, kind, start, stop), = device.store.query("SELECT id, kind, start, stop FROM recordings")
    first = device.store.query("SELECT MIN(f.start) FROM fragments f JOIN segments s ON s.id=f.segment")[0][0]
    last = device.store.query("SELECT MAX(f.start + f.duration) FROM fragments f JOIN segments s ON s.id=f.segment")[0][0]
    assert kind == "triggered"
    # The event that started it is kept with it (ONVIF FindEvents finds it there).
    assert device.store.query("SELECT recording, topic, data, operation FROM recording_triggers") == \
        [(rid, "tnsaxis:Test/Door", '{"open": "1"}', "Changed")]
    assert first <= opened - 0.5  # pre-event footage is there (2 s asked, whole fragments kept)
    assert last >= closed + 0.5  # and post-event footage


async def test_rotation_keeps_recording_when_the_volume_is_full(recorder_device: Device, clip: Path) -> None:
    device = recorder_device
    device.params.set_internal({"Recording.SegmentSeconds": "2", "Recording.QuotaMB": "1"})
    service = device.features[RECORDING_SERVICE]
    cams = GstCameras(clip, 4).start()
    try:
        for n in range(1, 5):
            await add_source(device, f"c{n}", cams.url(n))
        await eventually(lambda: len(service.ongoing()) == 4)
        removed = 0
        for _ in range(10):
            await asyncio.sleep(1)
            removed += await asyncio.to_thread(service.enforce_retention)
        lost = sum(d.lost for c in service._connections.values() for d in c.parser.channels.values())
        ongoing = len(service.ongoing())
    finally:
        cams.stop()
    assert removed >= 1
    assert service.used_bytes() <= 1_000_000 + 4 * 200_000  # at most about one segment per camera over the quota
    assert lost == 0  # rotation never disturbed ingest
    assert ongoing == 4  # recording never stopped
    assert device.store.query("SELECT COUNT(*) FROM recordings")[0][0] == 4


def test_kill9_during_16_streams_loses_about_a_second(tmp_path: Path, clip: Path) -> None:
    cams = GstCameras(clip, 16).start()
    live = start_live(tmp_path / "data")
    try:
        create_admin_live(live)
        auth = httpx.DigestAuth(*ADMIN)
        for n in range(1, 17):
            body = {"apiVersion": "1.0", "method": "setSource",
                    "params": {"source": {"id": f"c{n}", "name": f"Camera {n}", "url": cams.url(n)}}}
            r = httpx.post(live.http + "/axis-cgi/recorder.cgi", json=body, auth=auth)
            assert "error" not in r.json(), r.text
        deadline = time.time() + 20
        while time.time() < deadline:
            status = httpx.post(live.http + "/axis-cgi/recorder.cgi", auth=auth,
                                json={"apiVersion": "1.0", "method": "getStatus"}).json()["data"]
            if len(status["ongoing"]) == 16:
                break
            time.sleep(0.3)
        assert len(status["ongoing"]) == 16
        time.sleep(4)
        os.kill(live.process.pid, signal.SIGKILL)
        killed = time.time()
        live.process.wait()
    finally:
        live.stop()
        cams.stop()
    data = tmp_path / "data"
    before = subprocess.run([sys.executable, "-m", "vigil", "check", "--data", str(data), "--no-repair"],
                            capture_output=True, text=True)
    # Before any repair: no index entry points at footage that is not on disk.
    assert "problem:" not in before.stdout, before.stdout
    after = subprocess.run([sys.executable, "-m", "vigil", "check", "--data", str(data)],
                           capture_output=True, text=True)
    assert after.returncode == 0 and "index and footage agree" in after.stdout, after.stdout
    import sqlite3

    db = sqlite3.connect(data / "vigil.db")
    ends = db.execute("SELECT r.source, MAX(f.start + f.duration) FROM fragments f JOIN segments s ON s.id=f.segment "
                      "JOIN recordings r ON r.id=s.recording GROUP BY r.source").fetchall()
    db.close()
    assert len(ends) == 16
    losses = {source: killed - end for source, end in ends}
    assert max(losses.values()) < 2.0, json.dumps(losses)


@pytest.mark.parametrize(("codec", "audio", "audio_codec"), [("h265", "aac", "aac"), ("h264", "pcmu", "pcm_mulaw")])
async def test_h265_and_audio_are_kept_without_transcoding(recorder_device: Device, tmp_path_factory, codec: str,
                                                           audio: str, audio_codec: str) -> None:
    clip = make_av_clip(tmp_path_factory.mktemp("avclips"), codec=codec, audio="aac")
    cams = GstCameras(clip, 1, codec=codec, audio=audio).start()
    service = recorder_device.features[RECORDING_SERVICE]
    try:
        await add_source(recorder_device, "c1", cams.url(1))
        await eventually(lambda: service.ongoing(), timeout=15)
        await asyncio.sleep(3)
        (rid,), = recorder_device.store.query("SELECT id FROM recordings")
        service.end_recording("c1", rid)
        await asyncio.sleep(1)
    finally:
        cams.stop()
    (path,), = recorder_device.store.query("SELECT path FROM segments")
    probe = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "stream=codec_name,codec_type", "-of", "csv=p=0",
                            path], capture_output=True, text=True).stdout.split()
    assert f"{'hevc' if codec == 'h265' else 'h264'},video" in probe
    assert f"{audio_codec},audio" in probe
    decoded = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-f", "null", "-"], capture_output=True, text=True)
    assert decoded.returncode == 0 and not decoded.stderr.strip(), decoded.stderr[-500:]


async def test_records_over_udp(recorder_device: Device, clip: Path) -> None:
    cams = GstCameras(clip, 1).start()
    service = recorder_device.features[RECORDING_SERVICE]
    try:
        await add_source(recorder_device, "c1", cams.url(1), transport="udp")
        await eventually(lambda: service.ongoing())
        await asyncio.sleep(3)
        stats = service.stats()["c1"]
        assert service._connections["c1"].session.udp  # really RTP over UDP
        (rid,), = recorder_device.store.query("SELECT id FROM recordings")
        service.end_recording("c1", rid)
        await asyncio.sleep(1)
    finally:
        cams.stop()
    assert stats["frames"] >= 30 and stats["packetsLost"] == 0
    (path,), = recorder_device.store.query("SELECT path FROM segments")
    assert ffprobe_frames(Path(path)) >= 30


async def test_a_full_disk_stops_16_cameras_and_they_resume_by_themselves(tmp_path: Path) -> None:
    """A real `vigil run` recording its 16 test cameras onto a 64 MB filesystem that is filled
    (ENOSPC for the footage and for SQLite alike) and then freed, as on the reliability probe:
    the recorder says it cannot write (status, storage status, events, one log line), goes on
    trying, and records again within 10 s of space returning; the index stays true to the files."""
    with small_filesystem(tmp_path / "small", "64m") as small:
        data = small / "data"
        live = start_live(data, test_cameras=16)
        try:
            create_admin_live(live)
            async with httpx.AsyncClient(base_url=live.http, auth=httpx.DigestAuth(*ADMIN), timeout=30) as api:
                await _full_disk_round(api, live, small)
        finally:
            live.stop()
        checked = subprocess.run([sys.executable, "-m", "vigil", "check", "--data", str(data), "--no-repair"],
                                 capture_output=True, text=True, timeout=120)
        assert "problem:" not in checked.stdout and "index and footage agree" in checked.stdout, checked.stdout


async def _full_disk_round(api: httpx.AsyncClient, live: LiveDevice, small: Path) -> None:
    events: list[tuple[str, dict]] = []

    async def status() -> dict:
        reply = await api.post("/axis-cgi/recorder.cgi", json={"apiVersion": "1.0", "method": "getStatus"})
        return reply.json()["data"]

    async def every_camera(state: str) -> bool:
        return {source["state"] for source in (await status())["sources"].values()} == {state}

    async def written_since(before: int) -> bool:
        return (await status())["writtenBytes"] > before

    async def problem() -> str:
        reply = await api.post("/axis-cgi/storage.cgi", json={"apiVersion": "1.0", "method": "getStatus"})
        return reply.json()["data"]["volumes"][0]["problem"]

    async def system_log(text: str) -> list[str]:
        return [line for line in (await api.get("/axis-cgi/systemlog.cgi")).text.splitlines() if text in line]

    async def logged(text: str) -> bool:
        return bool(await system_log(text))

    async def seen(since: int, *wanted: tuple[str, dict]) -> bool:
        return all(event in events[since:] for event in wanted)

    async def until(what: str, holds: Callable[[], Awaitable[bool]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not await holds():
            assert time.monotonic() < deadline, f"{what}: not within {timeout} s"
            await asyncio.sleep(0.25)

    reply = await api.get("/axis-cgi/param.cgi", params={"action": "update", "Recording.SegmentSeconds": "4"})
    assert reply.text.strip() == "OK", reply.text
    await until("16 recordings", lambda: every_camera("recording"), 30)
    basic = "Basic " + base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode()).decode()
    url = f"ws://127.0.0.1:{live.http_port}/vapix/ws-data-stream?sources=events"
    async with ws_connect(url, additional_headers={"Authorization": basic}) as ws:
        await ws.send(json.dumps({"apiVersion": "1.0", "method": "events:configure", "params": {"eventFilterList": [
            {"topicFilter": DISRUPTION}, {"topicFilter": RECORDING}]}}))

        async def listen() -> None:
            async for message in ws:
                body = json.loads(message)
                if body.get("method") == "events:notify":
                    notification = body["params"]["notification"]
                    events.append((notification["topic"], notification["message"]["data"]))

        listener = asyncio.create_task(listen())
        try:
            before = (await status())["writtenBytes"]
            await until("footage written", lambda: written_since(before), 10)
            filler = await asyncio.to_thread(fill, small)
            mark = len(events)
            await until("every camera failing", lambda: every_camera("failing"), 30)
            assert (await problem()).startswith("Footage cannot be written: ")
            await until("the events", lambda: seen(mark, (DISRUPTION, {"disruption": "1"}),
                                                   (RECORDING, {"IsRecording": "0"})), 5)
            await asyncio.sleep(3)  # the cameras go on sending, nothing can be written
            stalled = (await status())["writtenBytes"]

            filler.unlink()
            freed, mark = time.monotonic(), len(events)
            await until("recording again", lambda: every_camera("recording"), 10)
            await until("footage written again", lambda: written_since(stalled), 10)
            assert time.monotonic() - freed < 10
            assert await problem() == ""
            await until("the events", lambda: seen(mark, (DISRUPTION, {"disruption": "0"}),
                                                   (RECORDING, {"IsRecording": "1"})), 5)
        finally:
            listener.cancel()
    await until("the log line", lambda: logged("recording to RAID_DISK works again"), QUIET_SECONDS + 10)
    assert len(await system_log("recording to RAID_DISK fails: ")) == 1
