"""WLAN (W401): the wireless interface (vigil/hal/wlan.py: simulated, or NetworkManager), the
network it joins and its IP settings (`Network.Wireless.*`), and the switch-over from the wired
interface when the cable is pulled (service.py). The WLAN page's JSON API is http_wlan.py; the
simulated access points' API is sim_api.py.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vigil.features.wlan import http_wlan, params, sim_api
from vigil.features.wlan.service import WLAN_SERVICE, WlanService
from vigil.hal.network import NETWORK_HARDWARE
from vigil.hal.sim.wlan import SimulatedWlan
from vigil.hal.wlan import WLAN_RADIO, WlanRadio

if TYPE_CHECKING:
    from vigil.device import Device


def radio_for(device: Device) -> WlanRadio:
    """The simulated interface, unless VIGIL_HAL=linux and VIGIL_WLAN_INTERFACE names a wireless
    interface that NetworkManager manages."""
    interface = os.environ.get("VIGIL_WLAN_INTERFACE", "")
    if os.environ.get("VIGIL_HAL") == "linux" and interface:
        from vigil.hal.linux.wlan import NetworkManagerWlan  # the Linux backend loads dbus-fast

        return NetworkManagerWlan(interface)
    return SimulatedWlan()


def register(device: Device) -> None:
    radio = radio_for(device)
    device.params.declare(params.param_defs())
    service = WlanService(radio, device.hardware[NETWORK_HARDWARE], device.params, device.events, device.logs)
    device.hardware[WLAN_RADIO] = radio
    device.features[WLAN_SERVICE] = service
    device.on_load.append(service.declare)
    device.services.append(service.run)
    device.router.include(sim_api.ROUTES)
    http_wlan.register(device, service)
