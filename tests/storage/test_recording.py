"""Recording from a real RTSP camera (GStreamer's RTSP server) while the simulated drives fail,
are replaced and resync, and while the storage tools run: a degraded RAID keeps recording, a
failed one stops with a StorageFailure event, repair pauses and resumes, write protection and
unmounting stop recording until they are undone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import client_as
from tests.peers.rtsp import GstCameras, make_long_mkv
from tests.recording.test_ingest import add_source, wait_for
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.recording.recorder import RECORDING, RECORDING_SERVICE, VolumeUnavailable
from vigil.features.storage.service import DISRUPTION, FAILURE, FAILURE_ONVIF, RAID, STORAGE_SERVICE
from vigil.hal.disks import DISK_HARDWARE

RAID_DISK = "RAID_DISK"


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    return make_long_mkv(tmp_path_factory.mktemp("clips"))


@pytest.fixture
async def recorder(tmp_path: Path, clip: Path) -> AsyncIterator[tuple[Device, GstCameras]]:
    cams = GstCameras(clip, 1).start()
    device = build_device("s3016", tmp_path / "data", Ports(), Clock())
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0", "Recording.SegmentSeconds": "2"})
    task = asyncio.ensure_future(device.features[RECORDING_SERVICE].run())
    await add_source(device, "c1", cams.url(1))
    await wait_for(lambda: device.features[RECORDING_SERVICE].ongoing())
    try:
        yield device, cams
    finally:
        cams.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await device.features[STORAGE_SERVICE].jobs.close()
        device.close()


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
    await wait_for(lambda: not service.ongoing(), timeout=5)
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
    await wait_for(lambda: service.ongoing(), timeout=5)  # recording resumes on the new, syncing RAID
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
    await wait_for(lambda: service.ongoing(), timeout=5)
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
        await wait_for(lambda: not service.ongoing(), timeout=5)
        await asyncio.sleep(1.5)
        assert not await grows(device, 1.5)
        await admin.get("/axis-cgi/disks/lock.cgi?action=unlock&diskid=RAID_DISK")
        await wait_for(lambda: service.ongoing(), timeout=5)
        assert await grows(device, 1.5)

        await storage.jobs.wait(storage.unmount(RAID_DISK, "test"))
        await wait_for(lambda: not service.ongoing(), timeout=5)
        assert device.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "1"}
        await storage.jobs.wait(storage.mount(RAID_DISK, "test"))
        await wait_for(lambda: service.ongoing(), timeout=5)
        assert device.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "0"}
    assert await grows(device, 1.5)
