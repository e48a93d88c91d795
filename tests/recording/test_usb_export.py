"""Exports to the USB drive in-process, on the simulated USB port: the drive's status, events and
log lines; an export written under a partial name and renamed when whole, with the same bytes as
one kept on the device; no drive, an ejected, read-only or full drive refused with the export
API's codes (JSON and VAPIX XML); a drive pulled out during an export: a clear error, the event,
nothing else on the drive lost, the partial file removed when it comes back; safe eject."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path

import pytest

from tests.conftest import client_as
from tests.recording.footage import record
from tests.recording.test_export_jobs import jobs_call
from vigil.device import Device
from vigil.features.recording import export_jobs
from vigil.features.recording.const import USB_DRIVE_TOPIC
from vigil.features.recording.export_jobs import EXPORT_JOBS
from vigil.hal.sim.usb import SimulatedUsb
from vigil.hal.usb import USB_HARDWARE

SIM = "/vigil/sim/usb"
EXPORT = "/axis-cgi/record/export/exportrecording.cgi"


@pytest.fixture
def footage(device: Device, tmp_path: Path) -> str:
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    _store, recording = record(tmp_path, "PCMU", seconds=3, store=device.store)
    return recording


def port(device: Device) -> SimulatedUsb:
    hardware = device.hardware[USB_HARDWARE]
    assert isinstance(hardware, SimulatedUsb)
    return hardware


async def insert(device: Device, label: str = "STICK", capacity: int = 1 << 30, read_only: bool = False) -> Path:
    async with client_as(device, "admin") as admin:
        r = await admin.post(SIM, content=json.dumps({"insert": {"label": label, "capacity": capacity,
                                                                "readOnly": read_only}}))
        assert r.status_code == 200 and r.json()["drive"]["label"] == label, r.text
    return port(device).root / label


async def finished(device: Device, job_id: int) -> dict:
    exports = device.features[EXPORT_JOBS]
    await exports.registry.wait(exports.registry.get(job_id))
    async with client_as(device, "operator") as operator:
        return (await jobs_call(operator, "getExport", {"jobId": job_id}))["data"]["job"]


async def test_an_export_is_written_to_the_usb_drive(device: Device, footage: str) -> None:
    async with client_as(device, "operator") as operator:
        assert (await jobs_call(operator, "getUsbDrive"))["data"]["drive"] is None
        assert device.events.state(USB_DRIVE_TOPIC, {}) == {"Active": "0", "Label": ""}
        folder = await insert(device)
        assert device.events.state(USB_DRIVE_TOPIC, {}) == {"Active": "1", "Label": "STICK"}
        drive = (await jobs_call(operator, "getUsbDrive"))["data"]
        assert drive["drive"]["state"] == "mounted" and drive["drive"]["capacity"] == 1 << 30 and not drive["exporting"]
        (folder / "holiday.jpg").write_bytes(b"not ours")
        kept = (await jobs_call(operator, "startExport", {"recordingId": footage}))["data"]["job"]
        job = (await jobs_call(operator, "startExport", {"recordingId": footage, "destination": "usb"}))["data"]["job"]
        assert job["destination"] == "usb"
        done = await finished(device, job["jobId"])
        assert done["status"] == "done" and done["progress"] == 100
        on_drive = folder / done["fileName"]
        kept_path = device.features[EXPORT_JOBS].registry.get((await finished(device, kept["jobId"]))["jobId"]).path
        assert on_drive.read_bytes() == kept_path.read_bytes()
        assert sorted(p.name for p in folder.iterdir()) == sorted(["holiday.jpg", done["fileName"]])
        # The same export again gets a name of its own: nothing on the drive is written over.
        again = (await jobs_call(operator, "startExport", {"recordingId": footage, "destination": "usb"}))["data"]["job"]
        assert (await finished(device, again["jobId"]))["fileName"] == on_drive.name.replace(".mp4", " (2).mp4")
        # The file is the user's now: not downloadable from the device, kept when the job goes.
        r = await operator.get(f"/axis-cgi/record/export/download.cgi?jobid={job['jobId']}")
        assert "<ErrorCode>10</ErrorCode>" in r.text and "USB drive" in r.text
        assert (await jobs_call(operator, "removeExport", {"jobId": job["jobId"]}))["data"] == {}
        assert on_drive.exists()
        # The VAPIX CGI writes to the drive as a job too, and says which.
        r = await operator.get(EXPORT, params={"schemaversion": "1", "recordingid": footage, "exportformat": "matroska",
                                               "destination": "usb"})
        assert "<ExportJob JobId=" in r.text and 'Destination="usb"' in r.text, r.text
    assert any("written to the USB drive STICK" in e.message for e in device.logs.entries("system"))


async def test_bad_destinations_are_refused_with_the_export_apis_codes(device: Device, footage: str) -> None:
    async with client_as(device, "operator") as operator:
        async def refused(params: dict) -> tuple[int, str]:
            reply = await jobs_call(operator, "startExport", {"recordingId": footage, **params})
            vapix = await operator.get(EXPORT, params={"schemaversion": "1", "recordingid": footage,
                                                       "exportformat": "mp4", "destination": params["destination"]})
            code = reply["error"]["code"]
            assert f"<ErrorCode>{code}</ErrorCode>" in vapix.text, vapix.text
            return code, reply["error"]["message"]

        assert await refused({"destination": "usb"}) == (300, "there is no USB drive in the USB port")
        assert (await refused({"destination": "floppy"}))[0] == 20
        await insert(device, "LOCKED", read_only=True)
        assert await refused({"destination": "usb"}) == (310, "the USB drive LOCKED is read-only (write-protected)")
        port(device).remove()
        await insert(device, "TINY", capacity=1000)
        code, message = await refused({"destination": "usb"})
        assert code == 320 and "not enough space on the USB drive TINY" in message and "1 MB are free" in message
        assert (await jobs_call(operator, "ejectUsbDrive"))["data"]["drive"]["state"] == "ejected"
        code, message = await refused({"destination": "usb"})
        assert code == 300 and "ejected" in message
        assert list((port(device).root / "TINY").iterdir()) == []
    assert device.features[EXPORT_JOBS].registry.all() == []


async def test_a_drive_pulled_out_during_an_export(device: Device, footage: str, monkeypatch) -> None:
    hardware = port(device)
    loop = asyncio.get_running_loop()
    real = export_jobs.write_layout

    def pulled_midway(layout, out, transform=None, progress=None, cancelled=None) -> int:
        def pull(done: int) -> None:
            if hardware.drive() is not None:  # the first chunk is on the drive: pull it out, let the job see it
                loop.call_soon_threadsafe(hardware.remove)
                assert cancelled is not None
                cancelled.__self__.wait(10)  # (job.cancel.is_set: the job's threading.Event)
            if progress is not None:
                progress(done)

        return real(layout, out, transform, pull, cancelled)

    monkeypatch.setattr(export_jobs, "write_layout", pulled_midway)
    folder = await insert(device)
    (folder / "holiday.jpg").write_bytes(b"not ours")
    async with client_as(device, "operator") as operator:
        job = (await jobs_call(operator, "startExport", {"recordingId": footage, "destination": "usb"}))["data"]["job"]
        done = await finished(device, job["jobId"])
        status = await operator.get("/axis-cgi/record/export/getjobstatus.cgi",
                                    params={"schemaversion": "1", "jobid": job["jobId"]})
        assert "<ErrorCode>330</ErrorCode>" in status.text and "pulled out" in status.text, status.text
    assert done["status"] == "failed" and done["error"]["code"] == 330
    assert "pulled out during the export" in done["error"]["message"]
    assert device.events.state(USB_DRIVE_TOPIC, {}) == {"Active": "0", "Label": ""}
    assert any("export job" in e.message and "pulled out" in e.message for e in device.logs.entries("system"))
    # The drive kept the partial file (it was gone); it goes when the drive comes back, the rest stays.
    assert sorted(p.name for p in folder.iterdir()) == sorted(["holiday.jpg", f".{done['fileName']}.vigil-part"])
    monkeypatch.setattr(export_jobs, "write_layout", real)
    await insert(device)
    assert [p.name for p in folder.iterdir()] == ["holiday.jpg"] and (folder / "holiday.jpg").read_bytes() == b"not ours"
    assert any("removed the incomplete export" in e.message for e in device.logs.entries("system"))


async def test_eject_waits_for_an_export_and_needs_a_drive(device: Device, footage: str, monkeypatch) -> None:
    writing, release = threading.Event(), threading.Event()
    real = export_jobs.write_layout

    def held(layout, out, transform=None, progress=None, cancelled=None) -> int:
        writing.set()
        release.wait(10)
        return real(layout, out, transform, progress, cancelled)

    monkeypatch.setattr(export_jobs, "write_layout", held)
    async with client_as(device, "operator") as operator:
        reply = await jobs_call(operator, "ejectUsbDrive")
        assert reply["error"]["code"] == 300 and "no USB drive" in reply["error"]["message"]
        await insert(device)
        job = (await jobs_call(operator, "startExport", {"recordingId": footage, "destination": "usb"}))["data"]["job"]
        await asyncio.to_thread(writing.wait, 10)
        assert (await jobs_call(operator, "getUsbDrive"))["data"]["exporting"] is True
        reply = await jobs_call(operator, "ejectUsbDrive")
        assert reply["error"]["code"] == 340 and f"export job {job['jobId']}" in reply["error"]["message"]
        release.set()
        assert (await finished(device, job["jobId"]))["status"] == "done"
        assert (await jobs_call(operator, "ejectUsbDrive"))["data"]["drive"]["state"] == "ejected"
    assert any("ejected the USB drive STICK" in e.message for e in device.logs.entries("audit"))
    async with client_as(device, "viewer") as viewer:
        r = await viewer.post("/axis-cgi/record/export/jobs.cgi",
                              content=json.dumps({"apiVersion": "1.0", "method": "ejectUsbDrive", "params": {}}))
        assert r.status_code in (401, 403) or r.json()["error"]["code"] != 0
    assert port(device).drive().state == "ejected"


async def test_the_usb_simulation_refuses_bad_requests(device: Device) -> None:
    async with client_as(device, "admin") as admin:
        for body in ('{"remove": true}', '{"insert": {"label": "a b", "capacity": 5}}', '{"insert": {"label": "A"}}',
                     '{"insert": {"label": "A", "capacity": 0}}', "[]", "nonsense"):
            r = await admin.post(SIM, content=body)
            assert r.status_code == 400 and "bad simulation request" in r.json()["error"]["message"], body
    async with client_as(device, "operator") as operator:
        assert (await operator.post(SIM, content='{"remove": true}')).status_code in (401, 403)


async def test_a_drive_change_seen_by_a_polling_thread_is_handled_on_the_event_loop(device: Device) -> None:
    """The Linux port is polled in a worker thread: what it sees reaches events and jobs on the loop."""
    usb = device.features[EXPORT_JOBS].usb
    assert usb is not None
    loop = asyncio.get_running_loop()
    polling = asyncio.create_task(usb.run())
    await asyncio.sleep(0)  # (the poller starts and knows its loop)
    await insert(device)
    told: asyncio.Future[int] = loop.create_future()

    def on_event(event) -> None:
        if event.topic == USB_DRIVE_TOPIC and event.data["Active"] == "0" and not told.done():
            ident = threading.get_ident()
            loop.call_soon_threadsafe(lambda: told.done() or told.set_result(ident))

    subscription = device.events.subscribe(on_event)
    try:
        await asyncio.to_thread(port(device).remove)
        assert await asyncio.wait_for(told, 10) == threading.get_ident()
    finally:
        subscription.cancel()
        polling.cancel()
