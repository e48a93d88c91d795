"""I/O ports: inputs (optionally supervised), outputs and relays (virtual inputs are the
platform's manual triggers, vigil/features/triggers).

The profile's ports become `IOPort.I<n>` parameters (params.py) over the simulated hardware;
the service (service.py) turns circuits into events and drives outputs for the VAPIX APIs
(http_port_cgi.py, http_port_management.py), the simulation API
(sim_api.py) and the rule actions it registers.
"""

from __future__ import annotations

from vigil.device import Api, Device
from vigil.features.io import http_port_cgi, http_port_management, params, sim_api
from vigil.features.io.const import PORT_MANAGEMENT_VERSIONS
from vigil.features.io.service import IO_SERVICE, IOService
from vigil.hal.io import IO_HARDWARE
from vigil.hal.sim.io import SimulatedIO

ROUTES = (*http_port_management.ROUTES, *http_port_cgi.ROUTES, *sim_api.ROUTES)


def register(device: Device) -> None:
    hardware = SimulatedIO(params.port_specs(device.profile.hardware))
    device.params.declare(params.param_defs(device.profile.hardware))
    service = IOService(hardware, device.params, device.events, device.logs)
    device.hardware[IO_HARDWARE] = hardware
    device.features[IO_SERVICE] = service
    for action in service.action_types():
        device.rules.register(action)
    device.on_load.append(service.declare)
    device.router.include(ROUTES)
    device.apis.append(Api("io-port-management", PORT_MANAGEMENT_VERSIONS[-1], "I/O Port Management"))
