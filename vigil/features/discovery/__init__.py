"""Network discovery (the manual's "Network discovery protocols"): how other devices find this
one on the local network.

- `params`: the settings (Bonjour and its name, UPnP and its name, WS-Discovery, LLDP and CDP).
- `interfaces`: which interfaces and addresses discovery announces on: those of the network
  settings' interface (the network feature's `on_interface`) when it is one of this machine's.
- `model`: what is announced (the device's facts, the settings in force).
- `mdns` (Bonjour), `ssdp` (UPnP), `wsdiscovery` (WS-Discovery), `lldp` (LLDP and CDP): one
  protocol each, started and stopped by `service`, which follows the settings at once.
- `http_upnp` (the UPnP description documents) and `http_status` (`/vigil/discovery`).

Every profile has it.
"""

from __future__ import annotations

from vigil.device import Device
from vigil.features.discovery import http_status, http_upnp, params
from vigil.features.discovery.service import DISCOVERY_SERVICE, DiscoveryService
from vigil.features.network.service import NETWORK_SERVICE

ROUTES = (*http_upnp.ROUTES, *http_status.ROUTES)


def register(device: Device) -> None:
    device.params.declare(params.param_defs(device.profile, device.identity))
    service = DiscoveryService(device)
    device.features[DISCOVERY_SERVICE] = service
    device.params.listeners.append(service.on_params)
    network = device.features.get(NETWORK_SERVICE)
    if network is not None:  # loaded before: it says which interface the device has
        network.on_interface(service.on_network)
    device.services.append(service.run)
    device.router.include(ROUTES)
