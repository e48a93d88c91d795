"""The VAPIX NVR PoE API (`/axis-cgi/nvr/poe/*.cgi`) over the simulated switch: statuses with
their codes and figures, port mode, total power limit, keep power, the errors 20/40/50, the
operator level, and the audit log of every change."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import httpx
import pytest

from tests.conftest import client_as, make_device
from tests.poe.conftest import fill_s3016, switch
from vigil.device import Device

POE = "/axis-cgi/nvr/poe/"
V1 = {"schemaversion": "1"}


@pytest.fixture
async def operator(device: Device):
    async with client_as(device, "operator") as c:
        yield c


async def call(client: httpx.AsyncClient, cgi: str, **args: str) -> ET.Element:
    response = await client.get(POE + cgi, params={**V1, **args})
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
    root = ET.fromstring(response.text)
    assert root.tag == "PoeResponse" and root.get("SchemaVersion") == "1.2"
    return root


def error_code(root: ET.Element) -> int | None:
    code = root.find("GeneralError/ErrorCode")
    return None if code is None else int(code.text or "0")


async def test_port_statuses_of_a_full_switch(device: Device, operator: httpx.AsyncClient) -> None:
    hardware, _ = switch(device)
    fill_s3016(hardware)
    hardware.connect(16, 2, 5.0)
    root = await call(operator, "getportstatuses.cgi")
    statuses = root.findall("GetPortStatusesSuccess/PortStatus")
    assert [s.findtext("Port") for s in statuses] == [str(p) for p in range(1, 17)]
    first, last = statuses[0], statuses[15]
    assert {e.tag: e.text or "" for e in first} == {
        "Port": "1", "StatusCode": "1", "Description": "Connected - PoE",
        "Extra": "0x01: 802.3at-compliant device detected, class 4", "ClassPowerLimit": "30.0", "PoeClass": "4",
        "AllocatedPower": "30.0", "PowerConsumption": "15.0", "PseClassLimit": "4", "RequestedPower": ""}
    assert (last.findtext("StatusCode"), last.findtext("Description")) == ("4", "Error: Power budget exceeded")
    assert last.findtext("AllocatedPower") == "0.0" and last.findtext("PoeClass") == "2"
    limit = await call(operator, "gettotalpowerlimit.cgi")
    assert limit.findtext("GetTotalPowerLimitSuccess/Limit") == "305"
    allocated = sum(float(s.findtext("AllocatedPower") or 0) for s in statuses)
    assert allocated == pytest.approx(304.0)


async def test_port_mode_turns_a_port_off_and_on(device: Device, operator: httpx.AsyncClient) -> None:
    hardware, service = switch(device)
    hardware.connect(2, 3, 6.0)
    assert (await call(operator, "getportmode.cgi", port="2")).findtext("GetPortModeSuccess/Enabled") == "yes"
    assert (await call(operator, "setportmode.cgi", port="2", enabled="no")).find("GeneralSuccess") is not None
    assert (await call(operator, "getportmode.cgi", port="2")).findtext("GetPortModeSuccess/Enabled") == "no"
    assert service.status(2).code == 3 and not hardware.powered(2)
    await call(operator, "setportmode.cgi", port="2", enabled="yes")
    assert service.status(2).code == 1 and hardware.powered(2)
    audit = device.logs.text("audit")
    assert "user=operator1" in audit and "PoE.Port.P2.Enabled" in audit


async def test_keep_power(device: Device, operator: httpx.AsyncClient) -> None:
    assert (await call(operator, "getkeeppower.cgi")).findtext("GetKeepPowerSuccess/Enabled") == "no"
    await call(operator, "setkeeppower.cgi", enabled="yes")
    assert (await call(operator, "getkeeppower.cgi")).findtext("GetKeepPowerSuccess/Enabled") == "yes"
    assert "PoE.KeepPower" in device.logs.text("audit")


async def test_schema_versions(operator: httpx.AsyncClient) -> None:
    response = await operator.get(POE + "schemaversions.cgi")
    root = ET.fromstring(response.text)
    assert root.findtext("SchemaVersionsSuccess/SchemaVersion/VersionNumber") == "1.2"


@pytest.mark.parametrize(("cgi", "args", "code"), [
    ("getportmode.cgi", {"port": "17"}, 20),
    ("getportmode.cgi", {"port": "0"}, 20),
    ("getportmode.cgi", {"port": "one"}, 20),
    ("getportmode.cgi", {}, 20),
    ("setportmode.cgi", {"port": "1", "enabled": "maybe"}, 20),
    ("setportmode.cgi", {"port": "1"}, 20),
    ("setkeeppower.cgi", {"enabled": "1"}, 20),
    ("getportstatuses.cgi", {"schemaversion": "2"}, 40),
])
async def test_bad_requests_get_an_error_and_change_nothing(device: Device, operator: httpx.AsyncClient, cgi: str,
                                                            args: dict[str, str], code: int) -> None:
    before = device.params.get("PoE.Port.P1.Enabled"), device.params.get("PoE.KeepPower")
    root = await call(operator, cgi, **args)
    assert error_code(root) == code and root.findtext("GeneralError/Description")
    assert (device.params.get("PoE.Port.P1.Enabled"), device.params.get("PoE.KeepPower")) == before
    device.logs.flush()
    assert "PoE request of operator1 refused" in device.logs.text("system")


async def test_the_schema_version_is_required(operator: httpx.AsyncClient) -> None:
    root = ET.fromstring((await operator.get(POE + "getportstatuses.cgi")).text)
    assert error_code(root) == 20


async def test_a_viewer_may_not_use_the_api(device: Device) -> None:
    async with client_as(device, "viewer") as viewer:
        response = await viewer.get(POE + "setportmode.cgi", params={**V1, "port": "1", "enabled": "no"})
    assert response.status_code in (401, 403)
    assert device.params.get("PoE.Port.P1.Enabled") == "yes"


async def test_a_recorder_without_a_poe_switch_says_not_supported(tmp_path, clock) -> None:
    s4000 = make_device(tmp_path, clock, "s4000")
    try:
        async with client_as(s4000, "operator") as c:
            response = await c.get(POE + "getportstatuses.cgi", params=V1)
        assert response.status_code == 404  # the S4000 has no PoE switch: the API is not there
    finally:
        s4000.close()


async def test_api_discovery_lists_nvr_poe(device: Device) -> None:
    assert any(api.id == "nvr-poe" for api in device.apis)
