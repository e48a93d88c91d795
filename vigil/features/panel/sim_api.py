"""The admin-only simulation API of the front panel: POST /vigil/sim/panel
{"press": "power", "seconds": 0.5} is a hand on the power button (4 s or more: a long press)."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.panel.const import SIM_PANEL
from vigil.hal.indicators import INDICATORS
from vigil.hal.sim.indicators import SimulatedIndicators
from vigil.http.routing import Endpoint
from vigil.http.sim import SimRequestError, json_body, refused

if TYPE_CHECKING:
    from vigil.device import Device

MAX_PRESS_SECONDS = 60


def parse(raw: bytes, buttons: tuple[str, ...]) -> tuple[str, float]:
    body: Any = json_body(raw)
    if not isinstance(body, dict) or body.get("press") not in buttons:
        raise SimRequestError(f'send {{"press": "{"|".join(buttons)}", "seconds": S}}')
    seconds = body.get("seconds", 0.2)
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not math.isfinite(seconds) \
            or not 0 < seconds <= MAX_PRESS_SECONDS:
        raise SimRequestError(f"seconds is a number above 0, at most {MAX_PRESS_SECONDS}")
    return body["press"], float(seconds)


async def sim_panel(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    hardware = device.hardware[INDICATORS]
    if not isinstance(hardware, SimulatedIndicators):
        return refused("the front panel is not simulated")
    try:
        button, seconds = parse(await request.body(), hardware.buttons)
    except SimRequestError as err:
        device.logs.system(f"Panel simulation request of {who.name} refused: {err}", "warning")
        return refused(str(err))
    device.logs.audit(who.name, f"simulated a {seconds:g} s press of the {button} button", "simulation")
    hardware.press(button, seconds)
    return JSONResponse({"pressed": button, "seconds": seconds})


ROUTES = (
    Endpoint(SIM_PANEL, sim_panel, Role.ADMIN, methods=("POST",), kind="json"),
)
