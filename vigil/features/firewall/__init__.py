"""Firewall (System > Security > Firewall): the device's host firewall, on or off, a default
policy and FILTER rules by address, range, CIDR network, MAC, protocol, port or port range and
traffic type, applied at once or tested for a time and rolled back unless confirmed.

The Firewall configuration API (http_firewall.py, `/config/rest/firewall/v1`) reads and changes
it; rules are checked in model.py; the service (service.py) keeps the confirmed and the tested
rule sets, stores the confirmed ones and runs the test timer. The rules are enforced by the
firewall hardware (vigil/hal/firewall.py): by default in the device's own listeners
(vigil/hal/sim/firewall.py); with VIGIL_HAL=linux as an nftables table (vigil/hal/linux/firewall.py).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.firewall import http_firewall
from vigil.features.firewall.const import API_VERSION
from vigil.features.firewall.service import FIREWALL_SERVICE, FirewallService
from vigil.hal.firewall import FIREWALL_HARDWARE, FirewallError, FirewallHardware
from vigil.hal.sim.firewall import SimulatedFirewall

if TYPE_CHECKING:
    from vigil.device import Device


def hardware_for(device: Device) -> FirewallHardware:
    """nftables with VIGIL_HAL=linux, else the simulated firewall in the device's own listeners."""
    if os.environ.get("VIGIL_HAL") == "linux":
        from vigil.hal.linux.firewall import NftFirewall  # the Linux backend: only where asked for

        try:
            return NftFirewall()
        except FirewallError as err:
            device.logs.system(f"The host firewall cannot be used ({err}): the firewall rules apply in the "
                               "device's own listeners", "error")
    simulated = SimulatedFirewall()
    device.listening.filter_peers(simulated.admits)
    return simulated


def register(device: Device) -> None:
    hardware = hardware_for(device)
    service = FirewallService(hardware, device.store, device.logs, device.clock)
    device.hardware[FIREWALL_HARDWARE] = hardware
    device.features[FIREWALL_SERVICE] = service
    device.on_load.append(service.load)
    device.services.append(service.run)
    device.router.include(http_firewall.ROUTES)
    device.apis.append(Api("firewall", API_VERSION, "Firewall configuration"))
