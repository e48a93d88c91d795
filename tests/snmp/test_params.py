"""The SNMP parameters through param.cgi: the v3 password is set once, trap addresses and
communities are checked, engine boots count the agent's starts; /vigil/snmp is for
administrators only."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.conftest import client_as
from tests.snmp.conftest import needs_net_snmp, serving, snmp_device
from vigil.device import Device
from vigil.features.snmp.params import trap_receiver

PARAM = "/axis-cgi/param.cgi"


async def update(client: httpx.AsyncClient, **values: str) -> str:
    r = await client.get(PARAM, params={"action": "update", **{k.replace("__", "."): v for k, v in values.items()}})
    return r.text


async def test_the_v3_password_is_set_once(device: Device) -> None:
    async with client_as(device, "admin") as admin:
        assert "8 to 50 characters" in await update(admin, SNMP__InitialUserPasswd="short")
        assert await update(admin, SNMP__InitialUserPasswd="long-enough-1") == "OK\r\n"
        listed = (await admin.get(PARAM, params={"action": "list", "group": "SNMP"})).text
        assert "root.SNMP.InitialUserPasswd=******" in listed and "root.SNMP.InitialUserPasswdSet=yes" in listed
        again = await update(admin, SNMP__InitialUserPasswd="another-one-2")
        assert "can be set only once" in again and "another-one-2" not in again
    assert device.params.get("SNMP.InitialUserPasswd") == "long-enough-1"


@pytest.mark.parametrize(("name", "value", "why"), [
    ("SNMP.Trap.T0.Address", "bad host!", "neither an IP address nor a host name"),
    ("SNMP.Trap.T0.Address", "10.0.0.1:99999", "ports are 1 to 65535"),
    ("SNMP.Trap.T0.Address", "[::1]x", "[address]:port"),
    ("SNMP.V1ReadCommunity", "", "cannot be empty"),
    ("SNMP.V1WriteCommunity", "x" * 33, "longer than 32"),
    ("SNMP.DSCP", "64", "above the maximum 63"),
    ("SNMP.InitialUserAuthProtocol", "SHA1", "must be one of"),
])
async def test_bad_values_are_refused(device: Device, name: str, value: str, why: str) -> None:
    before = device.params.get(name)
    async with client_as(device, "admin") as admin:
        reply = (await admin.get(PARAM, params={"action": "update", name: value})).text
    assert reply.startswith("# Error") and why in reply, reply
    assert device.params.get(name) == before


def test_trap_receivers() -> None:
    assert trap_receiver("nms.example.com") == ("nms.example.com", 162)
    assert trap_receiver("10.0.0.5:1162") == ("10.0.0.5", 1162)
    assert trap_receiver("fe80::1") == ("fe80::1", 162)
    assert trap_receiver("[2001:db8::1]:9162") == ("2001:db8::1", 9162)


async def test_settings_are_for_administrators(device: Device) -> None:
    async with client_as(device, "operator") as operator:
        listed = (await operator.get(PARAM, params={"action": "list", "group": "SNMP"})).text
        assert "V1ReadCommunity" not in listed
        assert (await update(operator, SNMP__Enabled="yes")).startswith("# Error")
        assert (await operator.get("/vigil/snmp")).status_code == 403
    async with client_as(device, "admin") as admin:
        status = (await admin.get("/vigil/snmp")).json()
    assert status["running"] is False and status["enabled"] is False


@needs_net_snmp
async def test_engine_boots_count_starts_and_persist(tmp_path: Path) -> None:
    from vigil.core.roles import Role

    for expected in (1, 2):
        device, port = snmp_device(tmp_path)
        device.params.update([("SNMP.Enabled", "yes"), ("SNMP.V2c", "yes")], Role.ADMIN, "root")
        async with serving(device, port) as agent:
            await agent.running()
            assert agent.service.status()["engineBoots"] == expected
            assert device.params.get("SNMP.EngineBoots") == str(expected)
            engine_id = agent.service.status()["engineId"]
    assert engine_id.startswith("80000170")  # Axis's enterprise number, the MAC address format


@needs_net_snmp
async def test_a_port_in_use_is_reported(tmp_path: Path) -> None:
    import socket

    from vigil.core.roles import Role

    device, port = snmp_device(tmp_path)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", port))
        device.params.update([("SNMP.Enabled", "yes"), ("SNMP.V2c", "yes")], Role.ADMIN, "root")
        async with serving(device, port) as agent:
            await agent.running()
            status = agent.service.status()
            assert status["running"] is False and "cannot listen on 127.0.0.1" in status["error"]
            assert any("SNMP agent not started" in e.message for e in device.logs.entries("system"))
