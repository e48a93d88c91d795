"""The admin-only simulation API of the ignition line: GET /vigil/sim/power reads it; POST
{"ignition": true|false} turns the vehicle's ignition on or off."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.power.const import SIM_POWER
from vigil.hal.power import POWER_HARDWARE
from vigil.hal.sim.power import SimulatedPower
from vigil.http.routing import Endpoint
from vigil.http.sim import json_body, refused

if TYPE_CHECKING:
    from vigil.device import Device



def parse(raw: bytes) -> bool:
    body: Any = json_body(raw)
    if not isinstance(body, dict) or not isinstance(body.get("ignition"), bool):
        raise ValueError('send {"ignition": true} or {"ignition": false}')
    return body["ignition"]


async def sim_power(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    hardware = device.hardware[POWER_HARDWARE]
    if request.method == "POST":
        if not isinstance(hardware, SimulatedPower):
            return refused("the power input is not simulated")
        try:
            on = parse(await request.body())
        except ValueError as err:
            device.logs.system(f"Power simulation request of {who.name} refused: {err}", "warning")
            return refused(str(err))
        hardware.set_ignition(on)
        device.logs.audit(who.name, f"simulated the ignition {'on' if on else 'off'}", "simulation")
    return JSONResponse({"ignition": hardware.ignition()})


ROUTES = (
    Endpoint(SIM_POWER, sim_power, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
