"""The network share API (VAPIX networkshare/*.cgi and storage.cgi's share methods) without a
share server: who may test what, where a test connects (a plain TCP listener records it),
binding needing an administrator on both APIs, and job ids that name no job."""

from __future__ import annotations

import pytest

from tests.conftest import client_as
from tests.storage.conftest import Listener, audit, call, storage, xml
from vigil.device import Device
from vigil.features.storage.const import NETWORK
from vigil.features.storage.network import MASKED

SHARES = "/axis-cgi/disks/networkshare"
SECRET = "NasSecret!"


async def add_nas(device: Device, address: str) -> str:
    async with client_as(device, "admin") as admin:
        reply = await call(admin, "addNetworkShare", addWithoutTesting=True, share={
            "id": "nas1", "nicename": "NAS", "address": address, "share": "footage", "user": "nasuser",
            "password": SECRET})
    assert reply["data"]["share"]["id"] == "nas1", reply
    return "nas1"


def share_tests(device: Device) -> list:
    return [j for j in storage(device).jobs.recent() if j.action == "test"]


async def test_an_operator_cannot_send_a_stored_share_to_another_address(dev: Device, listener: Listener) -> None:
    """Finding 1: the stored share's user and password went to any address an operator named."""
    await add_nas(dev, "192.0.2.10")
    async with client_as(dev, "operator") as operator:
        r = await operator.get(f"{SHARES}/test.cgi", params={"schemaversion": "1", "shareid": "nas1",
                                                            "address": listener.address, "smbversion": "2.1"})
        assert r.status_code == 403, r.text
        reply = await call(operator, "testNetworkShare", share={"id": "nas1", "address": listener.address})
        assert reply["error"]["code"] == 1000 and "administrator" in reply["error"]["message"], reply
        for arg, field in (("user", "user"), ("share", "share"), ("pass", "password"), ("smbversion", "version")):
            r = await operator.get(f"{SHARES}/test.cgi", params={"shareid": "nas1", arg: "2.1"})
            assert r.status_code == 403, arg
            reply = await call(operator, "testNetworkShare", share={"id": "nas1", field: "2.1"})
            assert reply["error"]["code"] == 1000, field
        # Nor can a new address be probed with no stored share at all (a port scanner).
        r = await operator.get(f"{SHARES}/test.cgi", params={"address": listener.address, "share": "x"})
        assert r.status_code == 403
    assert share_tests(dev) == [] and listener.received == []
    dev.logs.flush()
    assert "refused testNetworkShare with connection settings" in dev.logs.text("access")
    assert "refused /axis-cgi/disks/networkshare/test.cgi" in dev.logs.text("access")

    # An administrator may test another address, without the stored password.
    async with client_as(dev, "admin") as admin:
        r = await admin.get(f"{SHARES}/test.cgi", params={"shareid": "nas1", "address": listener.address})
        job = storage(dev).jobs.get(int(xml(r).find("TestSuccess").get("JobId")))
    await storage(dev).jobs.wait(job)
    assert job.result == "ERROR" and len(share_tests(dev)) == 1
    assert any(b"SMB" in data for data in listener.received)  # the negotiation reached the listener
    # (That no stored password goes there is shown against real SMB servers in test_network.py.)


async def test_an_operator_tests_a_stored_share_as_stored(dev: Device, listener: Listener) -> None:
    await add_nas(dev, listener.address)
    async with client_as(dev, "operator") as operator:
        r = await operator.get(f"{SHARES}/test.cgi", params={"schemaversion": "1", "shareid": "nas1"})
        first = storage(dev).jobs.get(int(xml(r).find("TestSuccess").get("JobId")))
        second = (await call(operator, "testNetworkShare", shareId="nas1"))["data"]["job"]
        third = (await call(operator, "testNetworkShare", share={"id": "nas1", "nicename": "renamed"}))["data"]["job"]
        for job in (first, storage(dev).jobs.get(second["jobId"]), storage(dev).jobs.get(third["jobId"])):
            await storage(dev).jobs.wait(job)
            assert job.result == "ERROR" and job.action == "test"  # the listener is no SMB server
        r = await operator.get(f"{SHARES}/job.cgi", params={"jobid": str(first.id)})
        assert xml(r).findtext("JobSuccess/GeneralError/ErrorCode") == "710"
        r = await operator.get(f"{SHARES}/test.cgi", params={"shareid": "nope"})
        assert xml(r).findtext("GeneralError/ErrorCode") == "20"
        assert (await call(operator, "testNetworkShare", shareId="nope"))["error"]["code"] == 1000
    assert len(listener.received) >= 3  # each test reached the stored address


async def test_binding_a_share_needs_an_administrator_on_both_apis(dev: Device) -> None:
    """Finding 7: bind.cgi and unbind.cgi were an operator's, bindNetworkShare an admin's."""
    await add_nas(dev, "192.0.2.10")
    async with client_as(dev, "operator") as operator:
        assert (await operator.get(f"{SHARES}/bind.cgi", params={"shareid": "nas1"})).status_code == 403
        r = await operator.post("/axis-cgi/storage.cgi", json={"apiVersion": "1.0", "method": "bindNetworkShare",
                                                              "params": {"shareId": "nas1"}})
        assert r.status_code == 403
        assert storage(dev).bound is None
    async with client_as(dev, "admin") as admin:
        r = await admin.get(f"{SHARES}/bind.cgi", params={"schemaversion": "1", "shareid": "nas1",
                                                          "automaticmount": "no"})
        assert xml(r).find("BindSuccess").get("DiskID") == NETWORK
    async with client_as(dev, "operator") as operator:
        assert (await operator.get(f"{SHARES}/unbind.cgi", params={"shareid": "nas1"})).status_code == 403
        r = await operator.post("/axis-cgi/storage.cgi", json={"apiVersion": "1.0", "method": "unbindNetworkShare",
                                                              "params": {"shareId": "nas1"}})
        assert r.status_code == 403
    assert storage(dev).bound == "nas1"
    assert not any("operator1" in m and "bound" in m for m in audit(dev))
    async with client_as(dev, "admin") as admin:
        r = await admin.get(f"{SHARES}/unbind.cgi", params={"shareid": "nas1"})
        assert xml(r).find("GeneralSuccess") is not None
    assert storage(dev).bound is None


@pytest.mark.parametrize("jobid", ["9" * 5000, "²", "١", "-1", "1.0", "", "0x1"])
async def test_a_job_id_that_names_no_job(dev: Device, listener: Listener, jobid: str) -> None:
    """Finding 14: 5,000 digits (and "²") were an internal error."""
    await add_nas(dev, listener.address)
    async with client_as(dev, "operator") as operator:
        await call(operator, "testNetworkShare", shareId="nas1")  # job 1 exists
        r = await operator.get(f"{SHARES}/job.cgi", params={"jobid": jobid})
    root = xml(r)
    assert (root.findtext("GeneralError/ErrorCode"), root.findtext("GeneralError/ErrorDescription")) == (
        "20", "No such job")


@pytest.mark.parametrize("port", ["\u00b2", "9" * 5000, "99999", "0", "-1", "1e3"])
async def test_an_address_with_a_port_that_is_no_port_is_refused(dev: Device, port: str) -> None:
    """"host:²" and a 5,000-digit port were internal errors."""
    async with client_as(dev, "admin") as admin:
        r = await admin.get(f"{SHARES}/add.cgi", params={"nicename": "NAS", "address": f"192.0.2.10:{port}",
                                                        "share": "footage"})
        assert xml(r).findtext("GeneralError/ErrorCode") == "20", r.text
        reply = await call(admin, "testNetworkShare", share={"address": f"192.0.2.10:{port}", "share": "footage"})
        assert reply["error"]["code"] == 1000 and "The address must be" in reply["error"]["message"], reply
    assert storage(dev).shares == {} and share_tests(dev) == []


async def test_modifying_where_a_share_is_needs_its_password_again(dev: Device) -> None:
    """modify.cgi and modifyNetworkShare kept the stored password for a changed address, share
    or user: the next connection sent it to wherever the change pointed."""
    await add_nas(dev, "192.0.2.10")
    async with client_as(dev, "admin") as admin:
        for change in ({"address": "192.0.2.66"}, {"share": "other"}, {"user": "admin"}):
            r = await admin.get(f"{SHARES}/modify.cgi", params={"shareid": "nas1", **change})
            assert xml(r).findtext("GeneralError/ErrorCode") == "20", r.text
            assert "give the share's password again" in xml(r).findtext("GeneralError/ErrorDescription")
            field = next(iter(change))
            for password in ({}, {"password": MASKED}):
                reply = await call(admin, "modifyNetworkShare", share={"id": "nas1", field: change[field], **password})
                assert reply["error"]["code"] == 1000 and "password again" in reply["error"]["message"], reply
        stored = storage(dev).shares["nas1"]
        assert (stored.address, stored.share, stored.user, stored.password) == (
            "192.0.2.10", "footage", "nasuser", SECRET)

        # Renaming, the SMB version, or the same server written differently keep it ...
        reply = await call(admin, "modifyNetworkShare", share={"id": "nas1", "nicename": "Renamed",
                                                               "address": "192.0.2.10:445", "password": MASKED})
        assert reply["data"]["share"]["password"] == MASKED, reply
        r = await admin.get(f"{SHARES}/modify.cgi", params={"shareid": "nas1", "smbversion": "2.1"})
        assert xml(r).find("GeneralSuccess") is not None
        assert storage(dev).shares["nas1"].password == SECRET
        # ... and a moved share stores the password given with it.
        r = await admin.get(f"{SHARES}/modify.cgi", params={"shareid": "nas1", "address": "192.0.2.66",
                                                           "pass": "ForTheNewServer"})
        assert xml(r).find("GeneralSuccess") is not None
        reply = await call(admin, "modifyNetworkShare", share={"id": "nas1", "user": "other", "password": "Other!"})
        assert "error" not in reply, reply
    stored = storage(dev).shares["nas1"]
    assert (stored.nicename, stored.address, stored.user, stored.password, stored.version) == (
        "Renamed", "192.0.2.66", "other", "Other!", "2.1")


async def test_removing_several_shares_removes_all_or_none(dev: Device) -> None:
    """remove.cgi?shareid=a,b removed a before b failed."""
    await add_nas(dev, "192.0.2.10")
    async with client_as(dev, "admin") as admin:
        reply = await call(admin, "addNetworkShare", addWithoutTesting=True, bind=True, share={
            "id": "nas2", "nicename": "NAS2", "address": "192.0.2.11", "share": "footage"})
        assert reply["data"]["share"]["bound"] is True, reply
        r = await admin.get(f"{SHARES}/remove.cgi", params={"shareid": "nas1,nas2"})
        assert xml(r).findtext("GeneralError/ErrorCode") == "500", r.text
        r = await admin.get(f"{SHARES}/remove.cgi", params={"shareid": "nas1,nope"})
        assert xml(r).findtext("GeneralError/ErrorCode") == "20", r.text
        assert set(storage(dev).shares) == {"nas1", "nas2"}
        r = await admin.get(f"{SHARES}/remove.cgi", params={"shareid": "nas1,nas1"})
        assert xml(r).find("GeneralSuccess") is not None, r.text
    assert set(storage(dev).shares) == {"nas2"}
    assert sum("removed network share nas1" in m for m in audit(dev)) == 1
