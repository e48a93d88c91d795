"""`GET /vigil/snmp` (JSON, Vigil's own, administrators only): the agent's state for the SNMP
page: whether it runs and where, why not, the engine id and boots, counters of requests,
authentication failures, dropped datagrams and traps, and the active alarms. The settings
themselves are the `SNMP.*` parameters (param.cgi)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.snmp.service import SNMP_SERVICE
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device

PATH = "/vigil/snmp"


async def snmp_status(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse(dict(device.features[SNMP_SERVICE].status()), headers={"Cache-Control": "no-store"})


ROUTES = (
    Endpoint(PATH, snmp_status, Role.ADMIN, methods=("GET",), kind="json"),
)
