"""The storage service on simulated drives, through the public APIs: events when the RAID
degrades and fails, list.cgi and usage that matches the bytes on disk, the tools (check,
repair, format, change RAID level, write protect, mount/unmount) with jobs and audit
entries, bad input that erases nothing, and retention per volume."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.conftest import client_as, make_device
from tests.storage.conftest import audit, call, fake_footage, fragment, rows, storage
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.recording.recorder import RECORDING_SERVICE, VolumeUnavailable
from vigil.features.storage.service import (
    DISRUPTION,
    FAILURE,
    FAILURE_ONVIF,
    NETWORK,
    RAID,
)
from vigil.features.storage.tools import disk_usage
from vigil.footage.writer import Checksum
from vigil.hal.disks import DISK_HARDWARE

RAID_DISK = "RAID_DISK"


async def finish(device: Device, reply: dict) -> dict:
    assert "error" not in reply, reply
    job = storage(device).jobs.get(reply["data"]["job"]["jobId"])
    await storage(device).jobs.wait(job)
    return job.public()


async def test_events_follow_the_raid_as_drives_fail(dev: Device) -> None:
    bus = dev.events
    assert bus.state(RAID, {})["raidstate"] == "active"
    assert bus.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "0"}
    assert bus.state(DISRUPTION, {"disk_id": NETWORK}) == {"disruption": "1"}  # no share bound
    async with client_as(dev, "operator") as operator:
        assert (await operator.post("/vigil/sim/disks", json={"action": "fail", "slot": 1})).status_code == 403
    async with client_as(dev, "admin") as admin:
        r = await admin.post("/vigil/sim/disks", json={"action": "fail", "slot": 1})
        assert r.status_code == 200 and r.json()["array"]["state"] == "degraded"
        raid = bus.state(RAID, {})
        assert (raid["raidstate"], raid["raidlevel"], raid["component1status"], raid["component0status"]) == \
            ("degraded", "raid5", "missing", "connected")
        assert bus.state(f"{RAID}/RAIDDegraded", {}) == {"state": "1"}
        assert bus.state(FAILURE, {"disk_id": RAID_DISK}) == {"disruption": "0"}  # degraded still records
        status = (await call(admin, "getStatus"))["data"]
        assert [d["led"]["color"] for d in status["drives"]] == ["amber", "red", "amber", "amber"]
        assert status["volumes"][0]["recordingPossible"] is True

        await admin.post("/vigil/sim/disks", json={"action": "remove", "slot": 3})
        assert bus.state(RAID, {})["raidstate"] == "failure"
        assert bus.state(f"{RAID}/RAIDFailure", {}) == {"state": "1"}
        assert bus.state(f"{RAID}/RAIDDegraded", {}) == {"state": "0"}
        assert bus.state(FAILURE, {"disk_id": RAID_DISK}) == {"disruption": "1"}
        assert bus.state(FAILURE_ONVIF, {"Token": RAID_DISK}) == {"Failed": "true"}
        assert bus.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "1"}
        status = (await call(admin, "getStatus"))["data"]
        assert [d["led"]["color"] for d in status["drives"]] == ["red", "red", "red", "off"]
        assert "failed" in status["volumes"][0]["problem"]
        raid_cgi = (await admin.post("/axis-cgi/disks/raid.cgi", json={"apiVersion": "1.0", "method": "getStatus"}))
        raid_status = raid_cgi.json()["data"]["raids"][0]
        assert raid_status["status"] == "failure" and raid_status["raidLevel"] == "raid5"
        assert [c["componentStatus"] for c in raid_status["components"]] == ["connected", "missing", "connected",
                                                                             "missing"]
        assert raid_status["components"][0]["capacity"] == 4000  # GB
    assert any("simulated disk fail in bay 1" in m for m in audit(dev))


async def test_resync_progress_is_reported_and_ends_online(dev: Device, clock: FakeClock) -> None:
    hw = dev.hardware[DISK_HARDWARE]
    hw.set_resync_seconds(200)
    hw.fail(2)
    hw.insert(2)
    async with client_as(dev, "admin") as admin:
        reply = await admin.post("/axis-cgi/disks/raid.cgi", json={"apiVersion": "1.0", "method": "getStatus"})
        raid = reply.json()["data"]["raids"][0]
        assert (raid["status"], raid["syncProgress"], raid["syncTimeRemaining"]) == ("syncing", 0, 200)
        clock.advance(50)
        await storage(dev).tick()
        raid = (await admin.post("/axis-cgi/disks/raid.cgi", json={"apiVersion": "1.0", "method": "getStatus"})
                ).json()["data"]["raids"][0]
        assert (raid["status"], raid["syncProgress"], raid["syncTimeRemaining"]) == ("syncing", 25, 150)
        assert dev.events.state(f"{RAID}/RAIDSyncing", {}) == {"state": "1"}
        clock.advance(150)
        await storage(dev).tick()
        assert dev.events.state(RAID, {})["raidstate"] == "active"
        status = (await call(admin, "getStatus"))["data"]
        assert {d["led"]["color"] for d in status["drives"]} == {"green"}


async def test_list_cgi_sizes_match_the_bytes_on_disk(dev: Device) -> None:
    files = fake_footage(dev, RAID_DISK, segments=3) + fake_footage(dev, "default", source="c2", segments=1)
    on_disk = sum(f.stat().st_size for f in files)
    async with client_as(dev, "operator") as op:
        xml = (await op.get("/axis-cgi/disks/list.cgi?diskid=all")).text
        disks = {d.get("diskid"): d.attrib for d in ET.fromstring(xml).iter("disk")}
        status = (await call(op, "getStatus"))["data"]
    raid = disks[RAID_DISK]
    assert (raid["status"], raid["filesystem"], raid["locked"], raid["group"], raid["cleanuppolicy"]) == \
        ("OK", "ext4", "no", "S0", "fifo")
    assert int(raid["totalsize"]) == 12 * 10**12 // 1024
    assert disks[NETWORK]["status"] == "disconnected" and disks[NETWORK]["filesystem"] == "cifs"
    volume = status["volumes"][0]
    assert volume["usedBytes"] == on_disk == disk_usage(dev.data / "recordings")[0]
    assert volume["indexedBytes"] == on_disk  # index and files agree ("default" is this volume)
    assert dev.features[RECORDING_SERVICE].used_bytes(RAID_DISK) == on_disk
    assert volume["raid"] == {"level": 5, "state": "online", "members": [0, 1, 2, 3], "syncProgress": 100.0,
                              "syncTimeRemaining": 0.0}


async def test_write_protect_refuses_format_and_deletion_and_erases_nothing(dev: Device) -> None:
    files = fake_footage(dev, RAID_DISK)
    fake_footage(dev, NETWORK, source="c9")
    recorder = dev.features[RECORDING_SERVICE]
    async with client_as(dev, "admin") as admin:
        r = await admin.get("/axis-cgi/disks/lock.cgi?action=lock&diskid=RAID_DISK")
        assert 'result="OK"' in r.text
        assert dev.events.state(DISRUPTION, {"disk_id": RAID_DISK}) == {"disruption": "1"}
        r = await admin.get("/axis-cgi/disks/format.cgi?diskid=RAID_DISK&filesystem=ext4")
        job = ET.fromstring(r.text).find("job").attrib
        assert job["result"] == "ERROR" and "write-protected" in job["description"]
        reply = await call(admin, "format", diskId=RAID_DISK, fileSystem="ext4")
        assert reply["error"]["message"].startswith("RAID_DISK is write-protected: turn off write protection")
        reply = await call(admin, "changeRaidLevel", raidLevel=6, confirm=True)
        assert "write-protected" in reply["error"]["message"]
        seg = dev.store.query("SELECT id FROM segments LIMIT 1")[0][0]
        with pytest.raises(VolumeUnavailable, match="write-protected"):
            recorder.delete_segment(seg)
        assert all(f.exists() for f in files) and rows(dev, RAID_DISK) == 2
        assert recorder.enforce_retention() == 0
        assert (await call(admin, "setWriteProtect", diskId=RAID_DISK, enabled=False))["data"] == {
            "writeProtected": False}
    assert dev.params.get("Storage.S0.Locked") == "no"
    assert any("set root.Storage.S0.Locked=yes" in m for m in audit(dev))


async def test_format_erases_that_volume_only_with_progress_and_audit(dev: Device) -> None:
    files = fake_footage(dev, RAID_DISK) + fake_footage(dev, "default", source="c2")
    fake_footage(dev, NETWORK, source="c9")
    async with client_as(dev, "admin") as admin:
        bad = await admin.get("/axis-cgi/disks/format.cgi?diskid=RAID_DISK&filesystem=vfat")
        assert "cannot be formatted with 'vfat'" in bad.text and all(f.exists() for f in files)
        caps = ET.fromstring((await admin.get("/axis-cgi/disks/getcapabilities.cgi?diskid=RAID_DISK")).text)
        assert [f.get("name") for f in caps.iter("filesystem")] == ["ext4", "xfs"]
        r = await admin.get("/axis-cgi/disks/format.cgi?diskid=RAID_DISK&filesystem=xfs")
        job_id = ET.fromstring(r.text).find("job").get("jobid")
        await storage(dev).jobs.wait(storage(dev).jobs.get(int(job_id)))
        done = ET.fromstring((await admin.get(f"/axis-cgi/disks/job.cgi?jobid={job_id}&diskid=RAID_DISK")).text)
        job = done.find("job").attrib
        assert (job["action"], job["result"], job["progress"]) == ("format", "OK", "100")
        assert "2 recordings erased" in job["description"]
        unknown = ET.fromstring((await admin.get("/axis-cgi/disks/job.cgi?jobid=999&diskid=RAID_DISK")).text)
        assert unknown.find("job").get("result") == "ERROR"
    assert not any(f.exists() for f in files)
    assert rows(dev, RAID_DISK) == rows(dev, "default") == 0 and rows(dev, NETWORK) == 2
    assert storage(dev).volumes[RAID_DISK].filesystem == "xfs" and dev.params.get("Storage.S0.FileSystem") == "xfs"
    assert storage(dev).status(storage(dev).volumes[RAID_DISK]) == "OK"
    log = audit(dev)
    assert any("started storage tool: format RAID_DISK (xfs)" in m for m in log)
    assert any("storage tool done: format RAID_DISK (xfs)" in m for m in log)


async def test_raid_level_change_checks_first_and_needs_confirmation(dev: Device) -> None:
    files = fake_footage(dev, RAID_DISK)
    dev.hardware[DISK_HARDWARE].fail(0)  # three working drives left
    async with client_as(dev, "admin") as admin:
        reply = await call(admin, "changeRaidLevel", raidLevel="raid6", confirm=True)
        assert reply["error"]["message"] == "RAID 6 needs at least 4 drives; 3 working drives available"
        reply = await call(admin, "changeRaidLevel", raidLevel=5)
        assert "confirm" in reply["error"]["message"]
        raid = await admin.post("/axis-cgi/disks/raid.cgi", json={
            "apiVersion": "1.0", "method": "recreateRaidOnAllComponents", "params": {"raidLevel": "raid5"}})
        assert raid.json()["error"]["code"] == 1200 and "unmount" in raid.json()["error"]["message"]
        raid = await admin.post("/axis-cgi/disks/raid.cgi", json={
            "apiVersion": "1.0", "method": "recreateRaidOnAllComponents", "params": {"raidLevel": "raid3"}})
        assert raid.json()["error"]["code"] == 1201
        caps = await admin.post("/axis-cgi/disks/raid.cgi", json={"apiVersion": "1.0", "method": "getCapabilities"})
        assert caps.json()["data"]["raidLevels"] == ["raid0", "raid1", "raid5", "raid6", "raid10"]
        assert all(f.exists() for f in files) and rows(dev, RAID_DISK) == 2  # nothing erased
        job = await finish(dev, await call(admin, "changeRaidLevel", raidLevel=5, confirm=True))
        assert job["result"] == "OK" and "raid5 over 3 drives, 8000 GB, 1 recordings erased" in job["description"]
    array = dev.hardware[DISK_HARDWARE].array()
    assert (array.level, array.state, array.members) == (5, "syncing", (1, 2, 3))
    assert not any(f.exists() for f in files) and rows(dev, RAID_DISK) == 0
    vol = storage(dev).volumes[RAID_DISK]
    assert vol.mounted and storage(dev).writable(RAID_DISK)  # a syncing RAID records


async def test_mount_state_and_a_mounted_volume_after_restart(tmp_path: Path, clock: FakeClock) -> None:
    dev = make_device(tmp_path, clock, "s3008")
    try:
        assert "HDD_DISK" in storage(dev).volumes and storage(dev).writable("default")
        async with client_as(dev, "admin") as admin:
            r = await admin.get("/axis-cgi/disks/mount.cgi?action=unmount&diskid=HDD_DISK")
            await storage(dev).jobs.wait(storage(dev).jobs.get(int(ET.fromstring(r.text).find("job").get("jobid"))))
            assert storage(dev).status(storage(dev).volumes["HDD_DISK"]) == "connected"
            assert not storage(dev).writable("default")
            assert dev.events.state(DISRUPTION, {"disk_id": "HDD_DISK"}) == {"disruption": "1"}
    finally:
        await storage(dev).jobs.close()
        dev.close()
    dev = make_device(tmp_path, clock, "s3008")  # restart: mounted at boot
    try:
        assert storage(dev).volumes["HDD_DISK"].mounted
        assert dev.events.state(DISRUPTION, {"disk_id": "HDD_DISK"}) == {"disruption": "0"}
        dev.params.set_internal({"Storage.S0.MountOnBoot": "no"})
        await storage(dev).jobs.wait(storage(dev).unmount("HDD_DISK", "test"))
    finally:
        await storage(dev).jobs.close()
        dev.close()
    dev = make_device(tmp_path, clock, "s3008")
    try:
        assert not storage(dev).volumes["HDD_DISK"].mounted  # MountOnBoot=no: stays unmounted
        job = await storage(dev).jobs.wait(storage(dev).mount("HDD_DISK", "test"))
        assert job.result == "OK" and storage(dev).writable("default")
    finally:
        await storage(dev).jobs.close()
        dev.close()


async def test_a_replaced_single_drive_needs_a_format_or_autoformat(tmp_path: Path, clock: FakeClock) -> None:
    dev = make_device(tmp_path, clock, "s3008")
    try:
        hw, svc = dev.hardware[DISK_HARDWARE], storage(dev)
        hw.fail(0)
        assert svc.status(svc.volumes["HDD_DISK"]) == "failed"
        assert dev.events.state(FAILURE, {"disk_id": "HDD_DISK"}) == {"disruption": "1"}
        hw.insert(0)
        assert svc.status(svc.volumes["HDD_DISK"]) == "connected"  # a new, empty drive
        assert svc.why_not_writable("default") == "HDD_DISK is not formatted"
        job = await svc.jobs.wait(svc.mount("HDD_DISK", "test"))
        assert job.result == "ERROR" and "format it first" in job.description
        dev.params.set_internal({"Storage.S0.RequiredFileSystem": "ext4"})  # Autoformat
        job = await svc.jobs.wait(svc.mount("HDD_DISK", "test"))
        assert job.result == "OK" and svc.writable("default")
        assert dev.events.state(FAILURE, {"disk_id": "HDD_DISK"}) == {"disruption": "0"}
    finally:
        await storage(dev).jobs.close()
        dev.close()


async def test_check_reports_and_repair_cuts_back_a_damaged_segment(dev: Device) -> None:
    files = fake_footage(dev, RAID_DISK, segments=2, fragments=3)
    damaged = files[1]
    data = bytearray(damaged.read_bytes())
    last = len(data) - len(fragment(4000))
    data[last + 4:last + 8] = b"xxxx"  # the last fragment's header is torn
    damaged.write_bytes(bytes(data))
    orphan = dev.data / "recordings" / "c1" / "stray.mp4"
    orphan.write_bytes(b"junk")
    gone = files[0]
    gone.unlink()
    async with client_as(dev, "operator") as op:
        job = await finish(dev, await call(op, "check", diskId=RAID_DISK))
        assert "does not match its checksum" in job["description"]
        assert "file missing, index entry removed" in job["description"] and "1 unindexed file" in job["description"]
        assert (await op.post("/axis-cgi/storage.cgi", json={"apiVersion": "1.0", "method": "repair",
                                                             "params": {"diskId": RAID_DISK}})).status_code == 403
    assert orphan.exists() and damaged.stat().st_size == len(data)
    async with client_as(dev, "admin") as admin:
        job = await finish(dev, await call(admin, "repair", diskId=RAID_DISK))
    assert "cut back to 2 whole fragments" in job["description"] and "recording resumed" in job["description"]
    assert not orphan.exists()
    (size, checksum), = dev.store.query("SELECT bytes, checksum FROM segments")
    assert damaged.stat().st_size == size and Checksum.of_file(damaged) == checksum
    assert dev.store.query("SELECT COUNT(*) FROM fragments")[0][0] == 2


async def test_retention_runs_per_volume(dev: Device, clock: FakeClock) -> None:
    svc, recorder = storage(dev), dev.features[RECORDING_SERVICE]
    dev.hardware[DISK_HARDWARE].set_capacity(15_000)  # RAID 5 over four: 45 kB
    dev.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    old = fake_footage(dev, RAID_DISK, segments=3, start=clock.time() - 5 * 86400)
    new = fake_footage(dev, "default", source="c2", segments=3, start=clock.time() - 3600)
    share = fake_footage(dev, NETWORK, source="c3", segments=2, start=clock.time() - 30 * 86400)
    assert svc.free_bytes(RAID_DISK) < 0  # 6 segments of ~8 kB on a 45 kB volume
    removed = recorder.enforce_retention()
    assert removed >= 1 and svc.free_bytes(RAID_DISK) >= 0
    assert not old[0].exists() and all(f.exists() for f in new)  # the oldest went first
    assert all(f.exists() for f in share) and rows(dev, NETWORK) == 2  # another volume is left alone
    dev.hardware[DISK_HARDWARE].set_capacity(10**12)
    async with client_as(dev, "admin") as admin:
        assert (await call(admin, "setRetention", diskId=RAID_DISK, maxAgeDays=2))["data"] == {"maxAgeDays": 2}
        r = await admin.get("/axis-cgi/disks/properties/setcleanupmaxage.cgi?schemaversion=1&diskid=RAID_DISK&maxage=x")
        assert "<ErrorCode>20</ErrorCode>" in r.text
    assert svc.max_age_days("default") == 2
    recorder.enforce_retention()
    assert not any(f.exists() for f in old) and all(f.exists() for f in new)


async def test_health_and_temperature(dev: Device) -> None:
    hw = dev.hardware[DISK_HARDWARE]
    async with client_as(dev, "admin") as admin:
        assert (await call(admin, "healthTest", slot=2))["data"] == {"slot": 2, "health": "passed"}
        await admin.post("/vigil/sim/disks", json={"action": "temperature", "slot": 1, "celsius": 65})
        xml = ET.fromstring((await admin.get("/axis-cgi/disks/gethealth.cgi")).text)
        health = {h.get("diskid"): h.attrib for h in xml.iter("HealthStatus")}
        assert health[RAID_DISK]["temperature"] == "338" and health[RAID_DISK]["overallhealth"] == "1"
        assert dev.events.state("tnsaxis:Storage/Alert", {"disk_id": RAID_DISK})["alert"] == "1"
        hw.set_health(3, "failed")
        assert (await call(admin, "healthTest", slot=3))["data"]["health"] == "failed"
        assert (await call(admin, "healthTest", slot=9))["error"]["code"] == 1000
        status = (await call(admin, "getStatus"))["data"]
        drive = status["drives"][1]
        assert drive["temperature"] == 65 and drive["serialNumber"].startswith("VS") and drive["capacity"] == 4 * 10**12
    assert dev.events.state("tnsaxis:Storage/Alert", {"disk_id": RAID_DISK})["overall_health"] == "0"


async def test_jobs_on_one_volume_run_one_at_a_time(dev: Device) -> None:
    svc = storage(dev)
    fake_footage(dev, RAID_DISK, segments=20)
    first = svc.check(RAID_DISK, "test")
    with pytest.raises(Exception, match="busy with a checkdisk job"):
        svc.repair(RAID_DISK, "test")
    await svc.jobs.wait(first)
    await asyncio.sleep(0)


async def test_the_cleanup_level_keeps_the_fill_level_under_it(dev: Device, clock: FakeClock) -> None:
    svc, recorder = storage(dev), dev.features[RECORDING_SERVICE]
    dev.hardware[DISK_HARDWARE].set_capacity(40_000)  # RAID 5 over four: 120 kB
    dev.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    files = fake_footage(dev, RAID_DISK, segments=8, start=clock.time() - 3600)  # ~64 kB: over half full
    total = 120_000
    assert recorder.enforce_retention() == 0  # under the factory level, 95 %
    async with client_as(dev, "admin") as admin:
        r = await admin.get("/axis-cgi/param.cgi?action=update&Storage.S0.CleanupLevel=50")
        assert r.text.strip() == "OK"
        dev.params.set_internal({"Storage.S0.CleanupPolicyActive": "none"})
        assert recorder.enforce_retention() == 0  # no FIFO cleanup: nothing goes
        dev.params.set_internal({"Storage.S0.CleanupPolicyActive": "fifo"})
    removed = recorder.enforce_retention()
    assert removed >= 1 and total - svc.free_bytes(RAID_DISK) <= total // 2
    assert not files[0].exists() and files[-1].exists()  # the oldest went first, the newest stays
    assert total - svc.free_bytes(RAID_DISK) > total // 2 - 9_000  # no more than needed went
