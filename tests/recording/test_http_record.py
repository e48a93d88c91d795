"""The VAPIX record/*.cgi family in-process: a write-protected volume, bad numbers and
undecodable arguments are answered with the family's XML errors (never "Internal error"),
and nothing is recorded or removed."""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from tests.conftest import client_as
from tests.recording.footage import record
from vigil.device import Device
from vigil.features.recording.recorder import RecordingService


def error_code(response: httpx.Response) -> int | None:
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml"), response.text
    error = ElementTree.fromstring(response.content).find("error")
    return None if error is None else int(error.get("code", "0"))


async def lock(device: Device, action: str = "lock") -> None:
    async with client_as(device, "admin") as admin:
        r = await admin.get("/axis-cgi/disks/lock.cgi", params={"diskid": "RAID_DISK", "action": action})
    assert 'result="OK"' in r.text, r.text


async def test_record_cgi_on_a_write_protected_volume_is_refused(device: Device, recorder: RecordingService) -> None:
    await lock(device)
    async with client_as(device, "operator") as operator:
        r = await operator.get("/axis-cgi/record/record.cgi", params={"source": "cam1"})
        assert error_code(r) == 6 and "write-protected" in r.text
        assert recorder.ongoing() == []
        await lock(device, "unlock")
        r = await operator.get("/axis-cgi/record/record.cgi", params={"source": "cam1"})
        assert error_code(r) is None and 'result="OK"' in r.text
        recording = ElementTree.fromstring(r.content).find("record").get("recordingid")
        r = await operator.get("/axis-cgi/record/stop.cgi", params={"recordingid": recording})
        assert error_code(r) is None and recorder.ongoing() == []


async def test_remove_cgi_on_a_write_protected_volume_removes_nothing(device: Device, recorder: RecordingService,
                                                                      tmp_path: Path) -> None:
    _store, recording = record(tmp_path, "PCMU", seconds=2, store=device.store)
    files = sorted((tmp_path / "footage").rglob("*.mp4"))
    assert files
    await lock(device)
    async with client_as(device, "admin") as admin:
        r = await admin.get("/axis-cgi/record/remove.cgi", params={"recordingid": recording})
        assert error_code(r) == 6 and "write-protected" in r.text
        assert device.store.query("SELECT id FROM recordings") == [(recording,)]
        assert all(f.exists() for f in files)
        await lock(device, "unlock")
        r = await admin.get("/axis-cgi/record/remove.cgi", params={"recordingid": recording})
        assert error_code(r) is None
    assert device.store.query("SELECT id FROM recordings") == [] and not any(f.exists() for f in files)


@pytest.mark.parametrize("query", [
    "maxnumberofresults=-1",
    "maxnumberofresults=" + "9" * 5000,
    "startatresultnumber=1e3",
    "startatresultnumber=%d9%a3",  # an Arabic-Indic digit
    "maxnumberofresults=+2",
    "starttime=yesterday",
    "stoptime=0000-01-01T00:00:00Z",
    "source=%ff",  # not UTF-8
])
async def test_list_cgi_refuses_bad_arguments_with_its_xml_error(device: Device, recorder: RecordingService,
                                                                  query: str) -> None:
    async with client_as(device, "viewer") as viewer:
        r = await viewer.get(f"/axis-cgi/record/list.cgi?{query}")
    assert error_code(r) == 1, r.text


async def test_list_cgi_pages_through_the_recordings(device: Device, recorder: RecordingService,
                                                     tmp_path: Path) -> None:
    record(tmp_path, "PCMU", seconds=2, store=device.store)
    async with client_as(device, "viewer") as viewer:
        r = await viewer.get("/axis-cgi/record/list.cgi", params={"maxnumberofresults": "1", "startatresultnumber": "0"})
        recordings = ElementTree.fromstring(r.content).find("recordings")
        assert recordings.get("totalnumberofrecordings") == "1" and recordings.get("numberofrecordings") == "1"
        r = await viewer.get("/axis-cgi/record/list.cgi", params={"startatresultnumber": "5"})
        assert ElementTree.fromstring(r.content).find("recordings").get("numberofrecordings") == "0"


@pytest.mark.parametrize(("path", "role"), [("/axis-cgi/record/record.cgi", "operator"),
                                            ("/axis-cgi/record/stop.cgi", "operator"),
                                            ("/axis-cgi/record/remove.cgi", "admin")])
async def test_undecodable_arguments_get_the_xml_error(device: Device, recorder: RecordingService, path: str,
                                                        role: str) -> None:
    async with client_as(device, role) as client:
        r = await client.get(f"{path}?recordingid=%ff&source=%ff")
    assert error_code(r) == 1
    assert recorder.ongoing() == []
