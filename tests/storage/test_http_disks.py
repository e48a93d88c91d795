"""VAPIX disk management beyond the tools' own tests (test_tools.py): the API families are
registered with named handlers, discovery lists them on every storage profile, and arguments
that name nothing get this API's answer, never an internal error."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import client_as, make_device
from tests.storage.conftest import storage, xml
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.storage import http_disks, http_properties, http_raid, http_shares, http_storage

APIS = {"s3008": {"disk-management", "storage"}, "s3016": {"raid", "disk-management", "storage"},
        "s4000": {"raid", "disk-management", "storage"}, "c1410": {"disk-management", "storage"}}


@pytest.mark.parametrize("profile", sorted(APIS))
def test_each_storage_url_has_a_named_handler_and_discovery_lists_the_apis(tmp_path, profile: str) -> None:
    device = make_device(tmp_path, FakeClock(), profile)
    try:
        assert {a.id for a in device.apis} & {"raid", "disk-management", "storage"} == APIS[profile]
        service = storage(device)
        tables = [*http_disks.ROUTES, *http_properties.ROUTES, *http_shares.ROUTES]
        if service.onboard() is not None:
            tables += http_properties.ENCRYPTION_ROUTES
        cgis = {c.path: c for c in tables}
        endpoints = {e.path: e for e in device.router.endpoints
                     if e.path.startswith("/axis-cgi/disks/") or e.path == http_storage.PATH}
        json_apis = {http_storage.PATH} | ({http_raid.PATH} if "raid" in APIS[profile] else set())
        assert set(endpoints) == set(cgis) | json_apis
        for path, cgi in cgis.items():  # the table's named handler, bound to the one service
            assert endpoints[path].handler.func is cgi.handler and endpoints[path].handler.args == (service,)
            assert endpoints[path].role == cgi.role and cgi.handler.__qualname__ == cgi.handler.__name__
    finally:
        device.close()


@pytest.mark.parametrize("jobid", ["9" * 5000, "²", "١", "-1", "", "1e3"])
async def test_job_cgi_answers_no_such_job(dev: Device, jobid: str) -> None:
    """Finding 14: `jobid` of 5,000 digits was an internal error; "١" (Arabic-Indic one) named job 1."""
    async with client_as(dev, "operator") as operator:
        r = await operator.get("/axis-cgi/disks/checkdisk.cgi", params={"diskid": "RAID_DISK"})
        await storage(dev).jobs.wait(storage(dev).jobs.get(int(xml(r).find("job").get("jobid"))))
        r = await operator.get("/axis-cgi/disks/job.cgi", params={"jobid": jobid})
    job = xml(r).find("job").attrib
    assert (job["result"], job["description"], job["jobid"]) == ("ERROR", "No such job", jobid)


@pytest.mark.parametrize("action", ["<lock/>", 'x" result="OK', "lock unlock", "&amp;"])
async def test_lock_cgi_with_an_unknown_action_answers_well_formed_xml(dev: Device, action: str) -> None:
    async with client_as(dev, "admin") as admin:
        r = await admin.get("/axis-cgi/disks/lock.cgi", params={"diskid": "RAID_DISK", "action": action})
    element = ET.fromstring(r.text)[0]  # the action was the element's name
    assert (element.tag, element.get("result"), element.get("description")) == (
        "lock", "ERROR", "action must be lock or unlock")
    assert dev.params.get("Storage.S0.Locked") == "no"
