"""recorder.cgi's manual recordings: a write-protected volume and parameters of the wrong type
are API errors (never "Internal error"), and nothing is recorded or changed."""

from __future__ import annotations

import pytest

from tests.conftest import client_as
from tests.recording.conftest import call
from vigil.device import Device
from vigil.features.recording.recorder import RecordingService


async def lock(device: Device, action: str = "lock") -> None:
    async with client_as(device, "admin") as admin:
        r = await admin.get("/axis-cgi/disks/lock.cgi", params={"diskid": "RAID_DISK", "action": action})
    assert 'result="OK"' in r.text, r.text


async def test_start_recording_on_a_write_protected_volume_is_refused(device: Device,
                                                                      recorder: RecordingService) -> None:
    await lock(device)
    reply = await call(device, "operator", "startRecording", {"source": "cam1"})
    assert reply["error"]["code"] == 1001, reply
    assert "write-protected" in reply["error"]["message"]
    assert recorder.ongoing() == [] and device.store.query("SELECT id FROM recordings") == []
    await lock(device, "unlock")
    started = await call(device, "operator", "startRecording", {"source": "cam1"})
    assert [r for _s, r, _k in recorder.ongoing()] == [started["data"]["recordingId"]]
    assert "error" not in await call(device, "operator", "stopRecording",
                                     {"recordingId": started["data"]["recordingId"]})


@pytest.mark.parametrize(("method", "params"), [
    ("startRecording", {"source": ["cam1"]}),
    ("startRecording", {"source": {"id": "cam1"}}),
    ("startRecording", {}),
    ("stopRecording", {"recordingId": ["x"]}),
    ("stopRecording", {"recordingId": 1e300}),
    ("removeSource", {"id": ["cam1"]}),
    ("removeSource", {}),
    ("setSource", {"source": ["cam1"]}),
])
async def test_parameters_of_the_wrong_type_are_refused(device: Device, recorder: RecordingService, method: str,
                                                        params: dict) -> None:
    reply = await call(device, "admin", method, params)
    assert reply["error"]["code"] == 4002, reply
    assert recorder.ongoing() == [] and "cam1" in recorder.sources.all


async def test_huge_and_non_finite_numbers_are_refused(device: Device, recorder: RecordingService) -> None:
    for value in ("1e999", "NaN", "-Infinity", "9" * 4000):
        raw = f'{{"apiVersion":"1.0","method":"startRecording","params":{{"source":{value}}}}}'
        reply = await call(device, "operator", "startRecording", raw=raw)
        assert reply["error"]["code"] == 4002, (value, reply)
    assert recorder.ongoing() == []
