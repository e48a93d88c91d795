"""System > Power settings (W401): the ignition line from the power layer (vigil/hal/power.py)
and Delayed shutdown (service.py), which stops the device through its own stop path when the
ignition has been off for the delay. The page's view is http_status.py; the simulated ignition's
API is sim_api.py.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.power import http_status, params, sim_api
from vigil.features.power.service import POWER_SERVICE, PowerService
from vigil.hal.power import POWER_HARDWARE
from vigil.hal.sim.power import SimulatedPower

if TYPE_CHECKING:
    from vigil.device import Device

ROUTES = (*http_status.ROUTES, *sim_api.ROUTES)


def register(device: Device) -> None:
    hardware = SimulatedPower(device.data / "sim" / "ignition")
    device.params.declare(params.param_defs())
    service = PowerService(hardware, device.params, device.events, device.logs, device.clock, device.store,
                           lambda: device.request_stop("shutdown"))
    device.hardware[POWER_HARDWARE] = hardware
    device.features[POWER_SERVICE] = service
    device.on_load.append(service.declare)
    device.services.append(service.run)
    device.router.include(ROUTES)
    device.apis.append(Api("power-settings", "1.0", "Power settings"))
