"""The network share API (VAPIX networkshare/*.cgi and storage.cgi's share methods) without a
share server: binding needs an administrator on both APIs."""

from __future__ import annotations

from tests.conftest import client_as
from tests.storage.conftest import audit, call, storage, xml
from vigil.device import Device
from vigil.features.storage.const import NETWORK

SHARES = "/axis-cgi/disks/networkshare"
SECRET = "NasSecret!"


async def add_nas(device: Device, address: str) -> str:
    async with client_as(device, "admin") as admin:
        reply = await call(admin, "addNetworkShare", addWithoutTesting=True, share={
            "id": "nas1", "nicename": "NAS", "address": address, "share": "footage", "user": "nasuser",
            "password": SECRET})
    assert reply["data"]["share"]["id"] == "nas1", reply
    return "nas1"


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
