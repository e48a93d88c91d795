"""SNMP (the manuals' System > SNMP): an SNMP v1/v2c/v3 agent and its traps.

Managers read (and with the write community or the v3 user, write) the device's objects:
MIB-II system, interfaces and snmp groups, HOST-RESOURCES storage and devices, AXIS-VIDEO-MIB
temperatures and storage (objects.py, over the tree of mib.py); the agent (agent.py) is
pysnmp configured from the `SNMP.*` parameters (params.py); the service (service.py) runs it
as the parameters say and turns device events on the bus (storage disruption, RAID, storage
alerts, network links) and its own starts and authentication failures into traps.
`GET /vigil/snmp` (http_status.py) reports the agent's state for the SNMP page.

Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.snmp import http_status
from vigil.features.snmp.service import SNMP_SERVICE, SnmpService

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    service = SnmpService(device)
    device.params.declare(service.param_defs())
    device.features[SNMP_SERVICE] = service
    device.services.append(service.run)
    device.router.include(http_status.ROUTES)
