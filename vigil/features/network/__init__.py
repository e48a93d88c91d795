"""Network (System > Network): the interface's IPv4 and IPv6 configuration (DHCP or static, the
static and link-local fallbacks), the host name, the DNS resolver, dynamic DNS and the global
proxies.

The `Network.*` parameters (params.py) are the settings; the service (service.py) turns them into
a plan for the network hardware (vigil/hal: simulated unless VIGIL_HAL=linux with
VIGIL_NET_INTERFACE naming the interface to manage) and re-applies it on every change, follows
the DHCP lease (host name, name servers, NTP servers for other features through `on_lease`), and
registers the device's name by dynamic DNS (dyndns.py). Every outbound client asks it for the
global proxies (vigil.core.proxies). APIs: network_settings.cgi (http_network_settings.py),
param.cgi, and the simulation API (sim_api.py).
"""

from __future__ import annotations

import os
from functools import partial
from typing import TYPE_CHECKING

from vigil.core.proxies import PROXIES
from vigil.device import Api
from vigil.features.network import http_network_settings, params, sim_api
from vigil.features.network.const import NETWORK_SETTINGS_VERSIONS
from vigil.features.network.service import NETWORK_SERVICE, NetworkService
from vigil.hal.network import NETWORK_HARDWARE, NetworkError, NetworkHardware
from vigil.hal.sim.network import SimulatedNetwork

if TYPE_CHECKING:
    from vigil.device import Device

ROUTES = (*http_network_settings.ROUTES, *sim_api.ROUTES)


def hardware_for(device: Device) -> NetworkHardware:
    """The simulated interface, unless VIGIL_HAL=linux names a real one to manage."""
    interface = os.environ.get("VIGIL_NET_INTERFACE", "")
    if os.environ.get("VIGIL_HAL") == "linux" and interface:
        from vigil.hal.linux.network import LinuxNetwork  # the Linux backend loads pyroute2

        try:
            return LinuxNetwork(interface, device.data / "network",
                                os.environ.get("VIGIL_RESOLV_CONF", "/etc/resolv.conf"),
                                os.environ.get("VIGIL_NET_SET_HOSTNAME") == "yes")
        except NetworkError as err:
            device.logs.system(f"The network interface cannot be managed ({err}): the network settings apply to "
                               f"a simulated interface", "error")
    if os.environ.get("VIGIL_HAL") == "linux":
        device.logs.system("No network interface is given (VIGIL_NET_INTERFACE): the network settings apply to a "
                           "simulated interface", "notice")
    return SimulatedNetwork(device.identity.mac)


def register(device: Device) -> None:
    hardware = hardware_for(device)
    service = NetworkService(hardware, device.params, device.logs)
    device.params.declare(params.param_defs(device.identity, service.live))
    device.params.vetoes.append(partial(params.veto, device.params))
    device.params.listeners.append(service.on_params)
    device.hardware[NETWORK_HARDWARE] = hardware
    device.features[NETWORK_SERVICE] = service
    device.features[PROXIES] = service
    device.on_load.append(service.apply_now)
    device.services.append(service.run)
    device.router.include(ROUTES)
    device.apis.append(Api("network-settings", NETWORK_SETTINGS_VERSIONS[-1], "Network settings"))
