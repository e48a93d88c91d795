"""Network storage against a real Samba server on 127.0.0.1 (Debian's smbd in the foreground
with a generated smb.conf on a free port, a share folder in tmp, a user added with smbpasswd):
connection tests and their errors, SMB version choice, bind/unbind/mount rules, recording a
real camera to the share, the share's loss as a Disruption event with recording resumed when
it returns, format and retention on the share."""

from __future__ import annotations

import asyncio
import time
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import add_source, client_as, eventually, free_port
from tests.peers.rtsp import GstCameras
from tests.peers.samba import PASSWORD, USER, Samba, needs_samba
from tests.storage.conftest import fake_footage, rows, storage
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.storage.http_storage import volume_view
from vigil.features.storage.network import ShareConfig
from vigil.features.storage.service import DISRUPTION, NETWORK
from vigil.features.storage.tool_jobs import Job

pytestmark = needs_samba


@pytest.fixture
def other_samba() -> Iterator[Samba]:
    """A second server that knows the same user and password: a test that logs in there was
    given the password."""
    server = Samba().start()
    yield server
    server.close()


@pytest.fixture
async def dev(tmp_path: Path) -> AsyncIterator[Device]:
    device = build_device("s3016", tmp_path / "data", Ports(), Clock())
    yield device
    await storage(device).jobs.close()
    await storage(device).network_shares.disconnect()
    device.close()


async def call(client: httpx.AsyncClient, method: str, **params) -> dict:
    """A storage.cgi call without a context (so that the reply has none); the JSON reply."""
    body = {"apiVersion": "1.0", "method": method, "params": params}
    return (await client.post("/axis-cgi/storage.cgi", json=body)).json()


def share_body(samba: Samba, **changes) -> dict:
    return {"nicename": "NAS", "address": samba.address, "share": "footage", "user": USER, "password": PASSWORD,
            **changes}


async def test_connection_test_versions_and_clear_errors(dev: Device, samba: Samba) -> None:
    async with client_as(dev, "admin") as admin:
        reply = await call(admin, "addNetworkShare", share=share_body(samba, version="2.1"))
        assert "data" in reply, reply
        assert reply["data"]["share"]["password"] == "******"
        test = await call(admin, "testNetworkShare", shareId=reply["data"]["share"]["id"])
        job = await storage(dev).jobs.wait(storage(dev).jobs.get(test["data"]["job"]["jobId"]))
        assert job.result == "OK" and "SMB 2.1" in job.description, job.description
        test = await call(admin, "testNetworkShare", share=share_body(samba, version="3.1.1"))
        job = await storage(dev).jobs.wait(storage(dev).jobs.get(test["data"]["job"]["jobId"]))
        assert "SMB 3.1.1" in job.description

        before = list(storage(dev).shares)
        bad = await call(admin, "addNetworkShare", share=share_body(samba, nicename="NAS2", password="wrong"))
        assert bad["error"]["message"] == "The server refused the user name or password (logon failure)"
        bad = await call(admin, "addNetworkShare", share=share_body(samba, nicename="NAS2", share="nope"))
        assert bad["error"]["message"] == "There is no share named 'nope' on 127.0.0.1"
        bad = await call(admin, "addNetworkShare", share=share_body(samba, nicename="NAS2",
                                                                    address=f"127.0.0.1:{free_port()}"))
        assert bad["error"]["message"].startswith("Cannot connect to 127.0.0.1 port")
        bad = await call(admin, "addNetworkShare", share=share_body(samba, nicename="NAS2",
                                                                    address="no-such-host.invalid"))
        assert bad["error"]["message"] == "No such host name: no-such-host.invalid"
        bad = await call(admin, "addNetworkShare", share=share_body(samba, nicename="NAS2", address="\\\\NAS\\x"))
        assert "Windows SMB/CIFS names are not supported" in bad["error"]["message"]
        assert list(storage(dev).shares) == before  # nothing was stored

        # VAPIX: test.cgi + job.cgi give the network share API's error codes.
        r = await admin.get("/axis-cgi/disks/networkshare/test.cgi", params={
            "schemaversion": "1", "address": samba.address, "share": "footage", "user": USER, "pass": "wrong"})
        job_id = ET.fromstring(r.text).find("TestSuccess").get("JobId")
        await storage(dev).jobs.wait(storage(dev).jobs.get(int(job_id)))
        r = await admin.get(f"/axis-cgi/disks/networkshare/job.cgi?schemaversion=1&jobid={job_id}")
        assert ET.fromstring(r.text).findtext("JobSuccess/GeneralError/ErrorCode") == "710"

        added = await call(admin, "addNetworkShare", share=share_body(samba, nicename="Wrong", password="wrong"),
                           addWithoutTesting=True)
        share_id = added["data"]["share"]["id"]
        assert (await call(admin, "bindNetworkShare", shareId=share_id))["data"] == {"diskId": NETWORK}
        await storage(dev).tick()
        view = volume_view(storage(dev), storage(dev).volumes[NETWORK])
        assert view["status"] == "disconnected" and "refused the user name or password" in view["network"]["error"]
        assert dev.events.state(DISRUPTION, {"disk_id": NETWORK}) == {"disruption": "1"}
        assert "unmount it first" in (await call(admin, "unbindNetworkShare", shareId=share_id))["error"]["message"]
        r = await admin.get(f"/axis-cgi/disks/networkshare/remove.cgi?schemaversion=1&shareid={share_id}")
        assert ET.fromstring(r.text).findtext("GeneralError/ErrorCode") == "500"
        r = await admin.get(f"/axis-cgi/disks/networkshare/modify.cgi?schemaversion=1&shareid={share_id}&pass=x")
        assert ET.fromstring(r.text).findtext("GeneralError/ErrorCode") == "600"
        assert (await call(admin, "removeNetworkShare", shareId=share_id)) == {
            "apiVersion": "1.0", "method": "removeNetworkShare", "data": {}}  # unmounts, unbinds, removes
    assert storage(dev).bound is None and share_id not in storage(dev).shares


async def test_a_test_elsewhere_gets_no_stored_password(dev: Device, samba: Samba, other_samba: Samba) -> None:
    """Finding 1: a test with a changed address (or share, or user) logged in there with the
    stored password. Now it logs in only with a password given with the test."""
    svc = storage(dev)

    async def tested(reply: dict) -> Job:
        assert "data" in reply, reply
        return await svc.jobs.wait(svc.jobs.get(reply["data"]["job"]["jobId"]))

    async with client_as(dev, "admin") as admin:
        share_id = (await call(admin, "addNetworkShare", share=share_body(samba)))["data"]["share"]["id"]
        assert (await tested(await call(admin, "testNetworkShare", shareId=share_id))).result == "OK"
        for elsewhere in ({"address": other_samba.address}, {"address": other_samba.address, "password": "******"}):
            job = await tested(await call(admin, "testNetworkShare", share={"id": share_id, **elsewhere}))
            assert (job.result, job.code) == ("ERROR", 710) and "logon failure" in job.description, job
        r = await admin.get("/axis-cgi/disks/networkshare/test.cgi", params={
            "schemaversion": "1", "shareid": share_id, "address": other_samba.address})
        job = await svc.jobs.wait(svc.jobs.get(int(ET.fromstring(r.text).find("TestSuccess").get("JobId"))))
        assert (job.result, job.code) == ("ERROR", 710) and "logon failure" in job.description, job
        r = await admin.get(f"/axis-cgi/disks/networkshare/job.cgi?schemaversion=1&jobid={job.id}")
        assert ET.fromstring(r.text).findtext("JobSuccess/GeneralError/ErrorCode") == "710"
        # The other server does accept that user and password, when the test is given them.
        job = await tested(await call(admin, "testNetworkShare", share={
            "id": share_id, "address": other_samba.address, "password": PASSWORD}))
        assert job.result == "OK", job
    assert svc.shares[share_id].address == samba.address  # a test changes nothing stored


async def test_vapix_network_share_flow(dev: Device, samba: Samba) -> None:
    async with client_as(dev, "admin") as admin:
        r = await admin.get("/axis-cgi/disks/networkshare/add.cgi", params={
            "schemaversion": "1", "nicename": "My Share", "address": samba.address, "share": "footage",
            "user": USER, "pass": PASSWORD, "shareid": "nas-1"})
        assert ET.fromstring(r.text).find("AddSuccess").get("ShareId") == "nas-1"
        r = await admin.get("/axis-cgi/disks/networkshare/add.cgi", params={
            "nicename": "My Share", "address": samba.address, "share": "footage"})
        assert ET.fromstring(r.text).findtext("GeneralError/ErrorCode") == "220"
        r = await admin.get("/axis-cgi/disks/networkshare/bind.cgi?schemaversion=1&shareid=nas-1")
        assert ET.fromstring(r.text).find("BindSuccess").get("DiskID") == NETWORK
        await storage(dev).tick()
        listed = ET.fromstring((await admin.get("/axis-cgi/disks/networkshare/list.cgi?shareid=all")).text)
        share = listed.find("ListSuccess/NetworkShares/NetworkShare").attrib
        assert (share["ShareId"], share["DiskId"], share["Address"], share["User"]) == (
            "nas-1", NETWORK, samba.address, USER)
        disk = ET.fromstring((await admin.get("/axis-cgi/disks/list.cgi?diskid=NetworkShare")).text).find(
            "disks/disk").attrib
        assert (disk["status"], disk["filesystem"], disk["group"]) == ("OK", "cifs", "S1")
        assert int(disk["totalsize"]) > 0 and int(disk["freesize"]) > 0
        assert dev.events.state(DISRUPTION, {"disk_id": NETWORK}) == {"disruption": "0"}
        assert (samba.share / storage(dev).folder).is_dir()  # the device's own folder on the share
        r = await admin.get("/axis-cgi/disks/networkshare/unbind.cgi?schemaversion=1&shareid=nas-1")
        assert ET.fromstring(r.text).findtext("GeneralError/ErrorCode") == "400"
        r = await admin.get("/axis-cgi/disks/mount.cgi?action=unmount&diskid=NetworkShare")
        await storage(dev).jobs.wait(storage(dev).jobs.get(int(ET.fromstring(r.text).find("job").get("jobid"))))
        r = await admin.get("/axis-cgi/disks/networkshare/unbind.cgi?schemaversion=1&shareid=nas-1")
        assert ET.fromstring(r.text).find("GeneralSuccess") is not None
        r = await admin.get("/axis-cgi/disks/networkshare/remove.cgi?schemaversion=1&shareid=nas-1")
        assert ET.fromstring(r.text).find("GeneralSuccess") is not None


async def bind(dev: Device, samba: Samba) -> None:
    svc = storage(dev)
    config = await svc.network_shares.add(ShareConfig("nas", "NAS", samba.address, "footage", USER, PASSWORD), "test")
    svc.network_shares.bind(config.id, "test")
    await svc.tick()
    assert svc.share.online


async def test_format_and_retention_on_the_share(dev: Device, samba: Samba) -> None:
    svc = storage(dev)
    await bind(dev, samba)
    other = samba.share / "vigil-OTHERDEVICE"
    other.mkdir()
    (other / "keep.mp4").write_bytes(b"another device's footage")
    old = fake_footage(dev, NETWORK, source="c1", segments=2, start=time.time() - 10 * 86400)
    new = fake_footage(dev, NETWORK, source="c1", segments=2, start=time.time() - 60)
    assert await svc.network_shares.sync() == 4
    mine = samba.share / svc.folder
    on_share = sorted(p.relative_to(mine) for p in mine.rglob("*.mp4"))
    assert on_share == sorted(p.relative_to(svc.volumes[NETWORK].directory) for p in old + new)
    assert all((mine / "c1" / p.name).read_bytes() == p.read_bytes() for p in old + new)
    view = volume_view(svc, svc.volumes[NETWORK])
    assert view["usedBytes"] == sum(p.stat().st_size for p in mine.rglob("*") if p.is_file()) and view["network"]["backlogBytes"] == 0

    dev.params.set_internal({"Storage.S1.CleanupMaxAge": "7"})  # retention time of the share
    assert dev.features[RECORDING_SERVICE].enforce_retention() == 2
    await svc.network_shares.sync()
    assert sorted(p.name for p in mine.rglob("*.mp4")) == sorted(p.name for p in new)

    async with client_as(dev, "admin") as admin:
        await admin.get("/axis-cgi/disks/lock.cgi?action=lock&diskid=NetworkShare")
        r = await admin.get("/axis-cgi/disks/format.cgi?diskid=NetworkShare&filesystem=cifs")
        assert "write-protected" in ET.fromstring(r.text).find("job").get("description")
        assert all(p.exists() for p in new) and len(list(mine.rglob("*.mp4"))) == 2
        await admin.get("/axis-cgi/disks/lock.cgi?action=unlock&diskid=NetworkShare")
        r = await admin.get("/axis-cgi/disks/format.cgi?diskid=NetworkShare&filesystem=cifs")
        job = await svc.jobs.wait(svc.jobs.get(int(ET.fromstring(r.text).find("job").get("jobid"))))
    assert job.result == "OK" and "2 files on the share erased" in job.description, job.description
    assert not list(mine.rglob("*")) and rows(dev, NETWORK) == 0 and not any(p.exists() for p in new)
    assert (other / "keep.mp4").exists()  # other devices' folders stay
    assert svc.writable(NETWORK)


async def test_recording_to_the_share_survives_its_loss(dev: Device, samba: Samba, clip: Path) -> None:
    """Two cameras: c1 records to the share, c2 onboard. The share goes away twice: with the
    local buffer (default) c1 keeps recording and the backlog is copied when the share is
    back; with no buffer c1 stops, and resumes when the share returns."""
    svc, recorder = storage(dev), dev.features[RECORDING_SERVICE]
    dev.params.set_internal({"Recording.FreeSpaceFloorMB": "0", "Recording.SegmentSeconds": "2"})
    await bind(dev, samba)
    tasks = [asyncio.ensure_future(recorder.run()), asyncio.ensure_future(svc.run())]
    cams = GstCameras(clip, 2).start()
    disruption: list[str] = []
    dev.events.subscribe(lambda e: disruption.append(e.data["disruption"])
                         if e.topic == DISRUPTION and e.source.get("disk_id") == NETWORK else None)
    mine = samba.share / svc.folder
    try:
        await add_source(dev, "c1", cams.url(1), volume=NETWORK)
        await add_source(dev, "c2", cams.url(2))
        await eventually(lambda: len(recorder.ongoing()) == 2)
        await eventually(lambda: len(list((mine / "c1").glob("*.mp4"))) >= 2, timeout=15)
        sealed = {Path(p).name: Path(p) for (p,) in dev.store.query(
            "SELECT s.path FROM segments s JOIN recordings r ON r.id=s.recording WHERE r.volume=? AND s.sealed=1",
            (NETWORK,))}
        for copy in (mine / "c1").glob("*.mp4"):
            assert copy.read_bytes() == sealed[copy.name].read_bytes()  # the same bytes as indexed
        assert not (mine / "c2").exists() and not (dev.data / "recordings" / "c1").exists()  # placement

        # 1. Lost with the local buffer: Disruption, c1 keeps recording, the backlog follows.
        samba.stop()
        await eventually(lambda: disruption[-1:] == ["1"], timeout=5)
        (_, c1_recording, _), = [o for o in recorder.ongoing() if o[0] == "c1"]
        await asyncio.sleep(3)
        assert any(o[1] == c1_recording for o in recorder.ongoing())
        assert svc.backlog() > 0
        samba.start()
        await eventually(lambda: disruption[-1:] == ["0"], timeout=5)
        await eventually(lambda: svc.backlog() < 400_000 and len(list((mine / "c1").glob("*.mp4"))) >= 4, timeout=10)

        # 2. Lost with no buffer: c1 stops (c2 onboard goes on), and resumes when it returns.
        dev.params.set_internal({"Storage.S1.OfflineBufferMB": "0"})
        samba.stop()
        await eventually(lambda: disruption[-1:] == ["1"], timeout=5)
        await eventually(lambda: [o[0] for o in recorder.ongoing()] == ["c2"], timeout=5)
        lost_at = time.time()
        samba.start()
        await eventually(lambda: disruption[-1:] == ["0"], timeout=5)
        await eventually(lambda: len(recorder.ongoing()) == 2, timeout=5)
        back = recorder.store.query("SELECT MAX(start) FROM recordings WHERE source='c1'")[0][0]
        assert back >= lost_at  # a new recording: the gap is visible
        count = len(list((mine / "c1").glob("*.mp4")))
        await eventually(lambda: len(list((mine / "c1").glob("*.mp4"))) > count, timeout=10)
    finally:
        cams.stop()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    s = svc.share
    print(f"\nshare copies: {s.uploaded_bytes / 1e6:.1f} MB in {s.upload_seconds:.2f} s "
          f"({s.uploaded_bytes / max(s.upload_seconds, 1e-9) / 1e6:.1f} MB/s), lag after sealing: "
          f"median {sorted(s.lags)[len(s.lags) // 2]:.2f} s, max {max(s.lags):.2f} s over {len(s.lags)} segments")
    assert disruption.count("1") == 2


async def test_copy_throughput_to_the_share(dev: Device, samba: Samba) -> None:
    """Measured: large segments copied to the share (SMB 3.1.1, signed and encrypted)."""
    svc = storage(dev)
    await bind(dev, samba)
    files = fake_footage(dev, NETWORK, source="big", segments=4, fragments=8, payload=1_000_000)  # 4 x ~8 MB
    total = sum(f.stat().st_size for f in files)
    began = time.perf_counter()
    assert await svc.network_shares.sync() == 4
    seconds = time.perf_counter() - began
    mine = samba.share / svc.folder / "big"
    assert sum(p.stat().st_size for p in mine.glob("*.mp4")) == total
    print(f"\ncopied {total / 1e6:.0f} MB to the share in {seconds:.2f} s: {total / seconds / 1e6:.0f} MB/s "
          f"(SMB {svc.share.dialect})")
    assert total / seconds > 5e6
