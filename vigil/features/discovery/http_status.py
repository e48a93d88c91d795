"""`/vigil/discovery`: what each discovery protocol is doing (on, off, failed and why, or no
interface to announce on) and on which interfaces, for the Network page (administrators only).
The settings themselves are parameters (param.cgi)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.discovery.service import DISCOVERY_SERVICE
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


async def discovery_status(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse(device.features[DISCOVERY_SERVICE].status(), headers={"Cache-Control": "no-store"})


ROUTES = (
    Endpoint("/vigil/discovery", discovery_status, Role.ADMIN, methods=("GET",), kind="json"),
)
