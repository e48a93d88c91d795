"""Manual triggers: the virtual inputs every device has, independent of its I/O ports.

The service (service.py) keeps their states and publishes them as the VirtualInput event, which
rules take as a condition; VAPIX virtualinput/*.cgi (http_virtual_input.py) and the event
service's ChangeVirtualInputState (features/events) switch them. Loaded by the platform
(features/system) on every profile.
"""

from __future__ import annotations

from vigil.core.params import ParamDef
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.triggers import http_virtual_input
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE, VirtualInputs


def register(device: Device) -> None:
    service = VirtualInputs(device.events, device.logs)
    device.features[VIRTUAL_INPUTS_SERVICE] = service
    device.params.declare([ParamDef("Properties.VirtualInput.VirtualInput", "yes", read=Role.VIEWER, write=None)])
    device.on_load.append(service.declare)
    device.router.include(http_virtual_input.ROUTES)
