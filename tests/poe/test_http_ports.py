"""The Power over Ethernet page's API (`/config/rest/poe/v1/ports`) and the simulation API
(`/vigil/sim/poe`): statuses and totals for a viewer, port changes for an operator (audited),
clear errors for bad input."""

from __future__ import annotations

import pytest

from tests.conftest import client_as
from tests.poe.conftest import fill_s3016, switch
from vigil.device import Device

PORTS = "/config/rest/poe/v1/ports"
SIM = "/vigil/sim/poe"


async def test_a_viewer_sees_ports_and_totals(device: Device) -> None:
    hardware, _ = switch(device)
    fill_s3016(hardware)
    async with client_as(device, "viewer") as viewer:
        data = (await viewer.get(PORTS)).json()["data"]
        refused = await viewer.patch(PORTS, json={"data": {"port": 1, "enabled": False}})
    assert len(data["ports"]) == 16 and data["ports"][0]["code"] == 1
    assert data["totals"]["allocated_w"] == 304.0 and data["totals"]["consumption_w"] == 150.0
    assert refused.status_code == 403 and device.params.get("PoE.Port.P1.Enabled") == "yes"


async def test_an_operator_changes_a_port(device: Device) -> None:
    hardware, service = switch(device)
    hardware.connect(5, 3, 6.0)
    async with client_as(device, "operator") as operator:
        reply = await operator.patch(PORTS, json={"data": {"port": 5, "network": False, "name": "Gate camera"}})
    assert reply.status_code == 200
    port = reply.json()["data"]["ports"][4]
    assert (port["name"], port["network"], port["code"]) == ("Gate camera", False, 1)
    assert not hardware.device(5).network and service.status(5).name == "Gate camera"
    assert "PoE.Port.P5.FriendlyName" in device.logs.text("audit")


@pytest.mark.parametrize("data", [
    {"port": 17, "enabled": False},
    {"port": "1", "enabled": False},
    {"port": 1, "enabled": "no"},
    {"port": 1, "colour": "red"},
    {"port": 1},
    ["port", 1],
    {"port": 1, "name": "x" * 65},
])
async def test_bad_changes_are_refused(device: Device, data) -> None:
    async with client_as(device, "operator") as operator:
        reply = await operator.patch(PORTS, json={"data": data})
    assert reply.status_code == 400 and reply.json()["status"] == "error"
    assert device.params.get("PoE.Port.P1.Enabled") == "yes" and device.params.get("PoE.Port.P1.FriendlyName") == ""


async def test_the_simulation_api_connects_and_disconnects(device: Device) -> None:
    _, service = switch(device)
    async with client_as(device, "admin") as admin:
        listed = (await admin.post(SIM, json={"port": 3, "connect": {"class": 4, "draw": 12.5}})).json()["ports"]
        assert listed[2] == {"port": 3, "connected": True, "class": 4, "draw": 12.5, "powered": True,
                             "network": True, "powerCycles": 0}
        assert service.status(3).consumption_w == 12.5
        bad = await admin.post(SIM, json={"port": 3, "connect": {"class": 9, "draw": 1}})
        assert bad.status_code == 400 and "0 to 8" in bad.json()["error"]["message"]
        await admin.post(SIM, json={"port": 3, "disconnect": True})
        assert service.status(3).code == 0
    async with client_as(device, "operator") as operator:
        assert (await operator.post(SIM, json={"port": 1, "disconnect": True})).status_code in (401, 403)
    assert "connected a class 4 device" in device.logs.text("audit")
