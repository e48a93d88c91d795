"""Where discovery announces when the network settings say which interface the device has: the
addresses of that interface when it is one of this machine's (the Linux backend), the default
choice (the listening address's interfaces) when it is the simulated one, whose addresses do
not exist on the host. The Linux backend's case for real is in tests/network/test_linux.py."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

import vigil.features.network as network_feature
from tests.conftest import make_device
from vigil.core.clock import FakeClock
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.discovery.interfaces import Interface, from_network, interfaces_for
from vigil.features.discovery.service import DISCOVERY_SERVICE
from vigil.features.network import const as c
from vigil.features.network.service import NETWORK_SERVICE
from vigil.hal.network import Address, InterfaceState, Lease
from vigil.hal.sim.network import SimulatedNetwork

MAC = "AC:CC:8E:00:00:01"


def state(**kw) -> InterfaceState:
    values = {"name": "enp3s0", "mac": MAC, "link": True, "up": True, "index": 3,
              "addresses": (Address("10.0.0.9", 24, "static"), Address("169.254.7.7", 16, "linkLocal", "link"),
                            Address("fd00::9", 64, "static"))}
    return InterfaceState(**{**values, **kw})


def test_a_host_interface_is_announced_on_with_its_ipv4_addresses():
    assert from_network(state()) == [Interface("enp3s0", "10.0.0.9", 3), Interface("enp3s0", "169.254.7.7", 3)]


def test_a_host_interface_that_is_down_or_unplugged_has_nowhere_to_announce():
    assert from_network(state(up=False)) == []
    assert from_network(state(link=False)) == []


def test_the_simulated_interface_leaves_the_default_choice():
    assert from_network(state(index=0)) is None


class HostInterface(SimulatedNetwork):
    """The simulated interface, reported as a host interface (index 3): what the Linux backend
    reports, without touching the machine's network."""

    def state(self) -> InterfaceState:
        return dataclasses.replace(super().state(), index=3)


@pytest.fixture
def on_host(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Device]:
    monkeypatch.setattr(network_feature, "hardware_for", lambda device: HostInterface(device.identity.mac, "enp3s0"))
    device = make_device(tmp_path, clock)
    yield device
    device.close()


def announced(device: Device) -> list[tuple[str, str]]:
    return [(i.name, i.address) for i in device.features[DISCOVERY_SERVICE].read_settings().interfaces]


def test_discovery_follows_the_network_settings_interface(on_host: Device):
    device = on_host
    assert ("enp3s0", "192.168.0.90") in announced(device)  # the DHCP lease, as the device loaded
    device.params.update([(c.BOOT_PROTO, "none"), (c.IP_ADDRESS, "10.1.2.3"), (c.SUBNET_MASK, "255.255.255.0"),
                          (c.DEFAULT_ROUTER, "10.1.2.1")], Role.ADMIN, "test")
    device.features[NETWORK_SERVICE].apply_now()  # what the change schedules, at once
    assert ("enp3s0", "10.1.2.3") in announced(device) and ("enp3s0", "192.168.0.90") not in announced(device)
    hardware = device.features[NETWORK_SERVICE].hardware
    assert isinstance(hardware, HostInterface)
    hardware.set_link(False)  # unplugged: nowhere to announce, and the page says why
    assert announced(device) == []
    status = device.features[DISCOVERY_SERVICE].status()
    assert status["interfaces"] == []


def test_a_lease_changes_where_discovery_announces(on_host: Device):
    hardware = on_host.features[NETWORK_SERVICE].hardware
    assert isinstance(hardware, HostInterface)
    hardware.offer(Lease("192.168.5.40", 24, ("192.168.5.1",)))
    assert ("enp3s0", "192.168.5.40") in announced(on_host)


def test_the_simulated_interface_addresses_are_not_announced(device: Device):
    """The default device: its interface is simulated, so discovery keeps to the listening
    address's interfaces, whatever address the settings give."""
    device.params.update([(c.BOOT_PROTO, "none"), (c.IP_ADDRESS, "10.1.2.3"), (c.DEFAULT_ROUTER, "10.1.2.1")],
                         Role.ADMIN, "test")
    device.features[NETWORK_SERVICE].apply_now()
    assert announced(device) == [(i.name, i.address) for i in interfaces_for(device.listening.host)]
