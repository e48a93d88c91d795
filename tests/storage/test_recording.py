"""Recording from a real RTSP camera (GStreamer's RTSP server) while the simulated drives fail,
are replaced and resync, and while the storage tools run: a degraded RAID keeps recording, a
failed one stops with a StorageFailure event, repair pauses and resumes, write protection and
unmounting stop recording until they are undone; footage that cannot be written (a full disk)
is reported and recording resumes by itself, after rotation tried to make room."""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import add_source, client_as, eventually
from tests.footage.conftest import fill, small_filesystem
from tests.peers.rtsp import GstCameras
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.recording.recorder import RECORDING, RECORDING_SERVICE, VolumeUnavailable
from vigil.features.recording.write_failures import QUIET_SECONDS
from vigil.features.storage.http_storage import volume_view
from vigil.features.storage.service import DISRUPTION, FAILURE, FAILURE_ONVIF, RAID, STORAGE_SERVICE
from vigil.footage.check import Options, Scope, check
from vigil.hal.disks import DISK_HARDWARE

RAID_DISK = "RAID_DISK"


@contextlib.asynccontextmanager
async def recording(data: Path, clip: Path) -> AsyncIterator[tuple[Device, GstCameras]]:
    """An S3016 with its data in `data`, recording a GStreamer camera as `c1` in 2 s segments."""
    cams = GstCameras(clip, 1).start()
    device = build_device("s3016", data, Ports(), Clock())
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0", "Recording.SegmentSeconds": "2"})
    task = asyncio.ensure_future(device.features[RECORDING_SERVICE].run())
    try:
        await add_source(device, "c1", cams.url(1))
        await eventually(lambda: device.features[RECORDING_SERVICE].ongoing())
        yield device, cams
    finally:
        cams.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await device.features[STORAGE_SERVICE].jobs.close()
        device.close()


@pytest.fixture
async def recorder(tmp_path: Path, clip: Path) -> AsyncIterator[tuple[Device, GstCameras]]:
    async with recording(tmp_path / "data", clip) as (device, cams):
        yield device, cams


def written(device: Device) -> int:
    return device.features[RECORDING_SERVICE].segments.written_bytes


async def grows(device: Device, seconds: float = 2.5) -> bool:
    before = written(device)
    await asyncio.sleep(seconds)
    return written(device) > before


async def sim(device: Device, action: str, slot: int) -> dict:
    async with client_as(device, "admin") as admin:
        r = await admin.post("/vigil/sim/disks", json={"action": action, "slot": slot})
        assert r.status_code == 200, r.text
        return r.json()


async def test_degraded_raid5_records_a_failed_one_stops_and_a_new_raid_resumes(recorder) -> None:
    device, _cams = recorder
    service = device.features[RECORDING_SERVICE]
    seen: list[tuple[str, dict]] = []
    device.events.subscribe(lambda e: seen.append((e.topic, dict(e.data))) if e.topic in (
        FAILURE, FAILURE_ONVIF, DISRUPTION, RAID, RECORDING) else None)
    (_, first, _), = service.ongoing()

    assert (await sim(device, "fail", 1))["array"]["state"] == "degraded"
    assert await grows(device)  # Degraded keeps recording ...
    assert [r for _s, r, _k in service.ongoing()] == [first]  # ... in the same recording
    assert device.events.state(RAID, {})["raidstate"] == "degraded"

    assert (await sim(device, "fail", 2))["array"]["state"] == "failed"
    await eventually(lambda: not service.ongoing(), timeout=5)
    assert (FAILURE, {"disruption": "1"}) in seen and (FAILURE_ONVIF, {"Failed": "true"}) in seen
    assert device.events.state(RECORDING, {"RecordingToken": "c1"}) == {"IsRecording": "0"}
    assert device.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "1"}
    await asyncio.sleep(1.5)  # the writer finishes the last fragments
    assert not await grows(device, 2.0)  # recording has stopped
    stop = device.store.query("SELECT stop FROM recordings WHERE id=?", (first,))[0][0]
    assert stop is not None
    with pytest.raises(VolumeUnavailable, match="RAID of RAID_DISK has failed"):
        service.start_recording("c1", "manual")

    await sim(device, "insert", 1)
    await sim(device, "insert", 2)  # new drives cannot bring back a lost RAID ...
    assert device.hardware[DISK_HARDWARE].array().state == "failed"
    async with client_as(device, "admin") as admin:  # ... a new RAID can
        body = {"apiVersion": "1.0", "method": "changeRaidLevel", "params": {"raidLevel": 5, "confirm": True}}
        reply = (await admin.post("/axis-cgi/storage.cgi", json=body)).json()
        job = device.features[STORAGE_SERVICE].jobs.get(reply["data"]["job"]["jobId"])
        await device.features[STORAGE_SERVICE].jobs.wait(job)
        assert job.result == "OK", job.description
    await eventually(lambda: service.ongoing(), timeout=5)  # recording resumes on the new, syncing RAID
    assert device.hardware[DISK_HARDWARE].array().state == "syncing"
    assert await grows(device)
    assert device.events.state(FAILURE, {"disk_id": RAID_DISK}) == {"disruption": "0"}
    assert not device.store.query("SELECT 1 FROM recordings WHERE id=?", (first,))  # erased with the old RAID


async def test_a_replaced_drive_resyncs_to_online_without_stopping_recording(recorder) -> None:
    device, _cams = recorder
    service, hw = device.features[RECORDING_SERVICE], device.hardware[DISK_HARDWARE]
    (_, first, _), = service.ongoing()
    await sim(device, "fail", 3)
    await sim(device, "insert", 3)
    assert hw.array().state == "syncing"
    assert await grows(device, 1.5)
    async with client_as(device, "admin") as admin:
        await admin.post("/vigil/sim/disks", json={"action": "step", "seconds": hw.resync_seconds / 2})
        assert hw.array().sync_progress == 50.0
        await admin.post("/vigil/sim/disks", json={"action": "step", "seconds": hw.resync_seconds / 2})
    assert hw.array().state == "online" and device.events.state(RAID, {})["raidstate"] == "active"
    assert [r for _s, r, _k in service.ongoing()] == [first]  # never interrupted
    assert await grows(device, 1.5)


async def test_repair_pauses_recording_then_resumes(recorder) -> None:
    device, _cams = recorder
    service, storage = device.features[RECORDING_SERVICE], device.features[STORAGE_SERVICE]
    (_, first, _), = service.ongoing()
    await asyncio.sleep(2.5)  # a sealed segment or two
    job = await storage.jobs.wait(storage.repair(RAID_DISK, "test"))
    assert job.result == "OK" and job.description.endswith("recording resumed"), job.description
    await eventually(lambda: service.ongoing(), timeout=5)
    (_, second, _), = service.ongoing()
    assert second != first  # the paused recording ended; a new one started after the repair
    first_stop = device.store.query("SELECT stop FROM recordings WHERE id=?", (first,))[0][0]
    assert first_stop is not None
    assert await grows(device)


async def test_write_protect_and_unmount_stop_recording_until_undone(recorder) -> None:
    device, _cams = recorder
    service, storage = device.features[RECORDING_SERVICE], device.features[STORAGE_SERVICE]
    async with client_as(device, "admin") as admin:
        assert 'result="OK"' in (await admin.get("/axis-cgi/disks/lock.cgi?action=lock&diskid=RAID_DISK")).text
        await eventually(lambda: not service.ongoing(), timeout=5)
        await asyncio.sleep(1.5)
        assert not await grows(device, 1.5)
        await admin.get("/axis-cgi/disks/lock.cgi?action=unlock&diskid=RAID_DISK")
        await eventually(lambda: service.ongoing(), timeout=5)
        assert await grows(device, 1.5)

        await storage.jobs.wait(storage.unmount(RAID_DISK, "test"))
        await eventually(lambda: not service.ongoing(), timeout=5)
        assert device.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "1"}
        await storage.jobs.wait(storage.mount(RAID_DISK, "test"))
        await eventually(lambda: service.ongoing(), timeout=5)
        assert device.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "0"}
    assert await grows(device, 1.5)


# -- a disk that runs full ------------------------------------------------------------------------------
@pytest.fixture
async def small_recorder(tmp_path: Path, clip: Path) -> AsyncIterator[tuple[Device, Path]]:
    """A recorder whose data folder is on a 32 MB filesystem, recording one camera."""
    with small_filesystem(tmp_path / "small", "32m") as small:
        async with recording(small / "data", clip) as (device, _cams):
            yield device, small


def system_log(device: Device, text: str) -> list[str]:
    return [e.message for e in device.logs.entries("system", text)]


def leave_free(folder: Path, room: int) -> Path:
    """Fill the filesystem, then give `room` bytes back."""
    filler = fill(folder)
    os.truncate(filler, filler.stat().st_size - room)
    return filler


async def test_a_disk_that_runs_full_rotates_the_oldest_footage_out_and_recording_goes_on(small_recorder) -> None:
    device, small = small_recorder
    service = device.features[RECORDING_SERVICE]
    states: list[str] = []
    device.events.subscribe(lambda e: states.append(e.data["IsRecording"]) if e.topic == RECORDING else None)
    await asyncio.sleep(3)  # a few sealed segments
    leave_free(small, 400_000)
    await eventually(lambda: system_log(device, "the disk was full: rotation removed"), timeout=30)
    assert await grows(device)
    assert "0" not in states and service.stats()["c1"]["state"] == "recording"  # it never stopped
    assert not system_log(device, "recording to RAID_DISK fails")
    report = check(device.store, Scope.device(device.data), Options(running=True))
    assert report.ok and not report.orphans, report.text()


async def test_footage_that_cannot_be_written_is_reported_and_recording_resumes_by_itself(small_recorder) -> None:
    device, small = small_recorder
    service, storage = device.features[RECORDING_SERVICE], device.features[STORAGE_SERVICE]
    (_, first, _), = service.ongoing()
    disruptions: list[str] = []
    device.events.subscribe(lambda e: disruptions.append(e.data["disruption"])
                            if e.topic == DISRUPTION and e.source == {"disk_id": RAID_DISK} else None)
    assert await grows(device)
    async with client_as(device, "viewer") as viewer:  # (its account is made while there is room)
        filler = leave_free(small, 0)
        await eventually(lambda: service.stats()["c1"]["state"] == "failing", timeout=20)  # rotation freed what it could
        reply = await viewer.post("/axis-cgi/recorder.cgi", json={"apiVersion": "1.0", "method": "getStatus"})
    camera = reply.json()["data"]["sources"]["c1"]
    assert camera["state"] == "failing" and camera["error"], camera
    assert device.events.state(RECORDING, {"RecordingToken": "c1"}) == {"IsRecording": "0"}
    assert device.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "1"}
    volume = volume_view(storage, storage.volumes[RAID_DISK])
    assert volume["problem"] == f"Footage cannot be written: {camera['error']}"
    assert volume["recordingPossible"] is False and volume["disruption"] is True
    await asyncio.sleep(2)  # fragments keep coming, and keep failing

    filler.unlink()
    freed = time.monotonic()
    await eventually(lambda: service.stats()["c1"]["state"] == "recording", timeout=10)
    assert time.monotonic() - freed < 10
    assert device.events.state(RECORDING, {"RecordingToken": "c1"}) == {"IsRecording": "1"}
    assert device.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "0"}
    assert [r for _s, r, _k in service.ongoing()] == [first]  # the same recording goes on, with a gap
    assert await grows(device)
    assert "1" in disruptions and disruptions[-1] == "0"
    await eventually(lambda: system_log(device, "recording to RAID_DISK works again"), timeout=QUIET_SECONDS + 5)
    assert len(system_log(device, "recording to RAID_DISK fails: ")) == 1
    report = check(device.store, Scope.device(device.data), Options(running=True))
    assert report.ok and not report.orphans, report.text()
