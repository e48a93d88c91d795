"""The S4000's network ports (LAN RJ45, LAN SFP, AUX RJ45: no PoE switch): a connected device is
seen by its link, a port's network turns off and on, friendly names; no power settings, no NVR
PoE API. The Linux backend reads a real veth's carrier and takes its link down."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import client_as, make_device
from tests.peers.lan import Lan, lan, needs_lan  # noqa: F401 (fixture)
from tests.poe.conftest import switch
from vigil.device import Device
from vigil.hal.linux.poe import LinuxNetworkPorts

PORTS = "/config/rest/poe/v1/ports"


@pytest.fixture
def s4000(tmp_path, clock) -> Iterator[Device]:
    device = make_device(tmp_path, clock, "s4000")
    yield device
    device.close()


async def test_the_s4000_lists_its_network_ports(s4000: Device) -> None:
    hardware, service = switch(s4000)
    hardware.connect(3, None, 0.0)
    async with client_as(s4000, "viewer") as viewer:
        data = (await viewer.get(PORTS)).json()["data"]
    assert data["totals"]["labels"] == ["LAN RJ45", "LAN SFP", "AUX RJ45"] and data["totals"]["pse"] is False
    assert [p["code"] for p in data["ports"]] == [0, 0, 2]
    assert not any(p["enabled"] for p in data["ports"])
    assert "PoE.Port.P1.Enabled" not in s4000.params.names() and "PoE.KeepPower" not in s4000.params.names()
    assert any(api.id == "network-ports" for api in s4000.apis) and not any(api.id == "nvr-poe" for api in s4000.apis)


async def test_an_operator_turns_a_ports_network_off_and_names_it(s4000: Device) -> None:
    hardware, service = switch(s4000)
    hardware.connect(3, 2, 5.0)  # a PoE camera with its own injector: the port gives it no power
    async with client_as(s4000, "operator") as operator:
        reply = await operator.patch(PORTS, json={"data": {"port": 3, "network": False, "name": "Uplink"}})
        assert reply.status_code == 200
        refused = await operator.patch(PORTS, json={"data": {"port": 3, "enabled": True}})
        assert refused.status_code == 400
        poe = await operator.get("/axis-cgi/nvr/poe/getportstatuses.cgi", params={"schemaversion": "1"})
        assert poe.status_code == 404
    assert not hardware.device(3).network and not hardware.powered(3)
    assert service.status(3).name == "Uplink" and service.status(3).code == 2
    assert "PoE.Port.P3.Network" in s4000.logs.text("audit")


def test_linux_network_ports_without_names_say_so() -> None:
    assert "VIGIL_NETWORK_PORTS" in LinuxNetworkPorts([]).absent
    assert "no network port nosuch0" in LinuxNetworkPorts(["nosuch0"]).absent


@needs_lan
def test_linux_network_ports_follow_the_carrier_and_take_the_link_down(lan: Lan) -> None:  # noqa: F811
    ports = LinuxNetworkPorts([lan.device_if])
    assert ports.absent == "" and ports.detect(1) is not None  # the peers' end is up: a carrier
    try:
        ports.set_network(1, False)
        state = subprocess.run(["ip", "-o", "link", "show", lan.device_if], capture_output=True, text=True,
                               check=True).stdout
        assert "state DOWN" in state and ports.detect(1) is not None  # still listed: we took it down
        with pytest.raises(ValueError):
            ports.set_power(1, True)
    finally:
        ports.set_network(1, True)
    assert "state DOWN" not in subprocess.run(["ip", "-o", "link", "show", lan.device_if], capture_output=True,
                                              text=True, check=True).stdout
