"""`/vigil/power`: what System > Power settings shows (viewers): the ignition, whether Delayed
shutdown is on and armed, and the time left while a shutdown is pending. The settings
themselves are parameters (param.cgi)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.power.const import STATUS_PATH
from vigil.features.power.service import POWER_SERVICE
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


async def power_status(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse(device.features[POWER_SERVICE].status())


ROUTES = (
    Endpoint(STATUS_PATH, power_status, Role.VIEWER, methods=("GET",), kind="json"),
)
