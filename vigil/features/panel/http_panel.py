"""`/vigil/panel`: what the Status page's Front panel card shows (viewers): each LED, the buzzer
and why it sounds, and the parts this machine lacks; `/vigil/panel/silence` (operators) silences
the buzzer, as a short press of the power button does."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.panel.const import PANEL_PATH, SILENCE_PATH
from vigil.features.panel.service import PANEL_SERVICE
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


async def panel(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse(device.features[PANEL_SERVICE].view())


async def silence(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    service = device.features[PANEL_SERVICE]
    was = service.silence(who.name)
    return JSONResponse({"silenced": was, **service.view()})


ROUTES = (
    Endpoint(PANEL_PATH, panel, Role.VIEWER, methods=("GET",), kind="json"),
    Endpoint(SILENCE_PATH, silence, Role.OPERATOR, methods=("POST",), kind="json"),
)
