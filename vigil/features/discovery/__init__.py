"""Network discovery (the manual's "Network discovery protocols"): how other devices find this
one on the local network.

- `params`: the settings (Bonjour and its name, UPnP and its name, WS-Discovery, LLDP and CDP).
- `interfaces`: which interfaces and addresses discovery announces on.
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

ROUTES = (*http_upnp.ROUTES, *http_status.ROUTES)


def register(device: Device) -> None:
    device.params.declare(params.param_defs(device.profile, device.identity))
    service = DiscoveryService(device)
    device.features[DISCOVERY_SERVICE] = service
    device.params.listeners.append(service.on_params)
    device.services.append(service.run)
    device.router.include(ROUTES)
