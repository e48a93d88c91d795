"""`/vigil/beacon`: what the Accessories page shows of Bluetooth (viewers): the signals the
device broadcasts now, the signals heard (System ID, port, sender, RSSI, active), the receive
settings and the counters of duplicates, weak and malformed advertisements."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.beacon.const import STATUS_PATH
from vigil.features.beacon.service import BEACON_SERVICE
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


async def beacon_status(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse(device.features[BEACON_SERVICE].status())


ROUTES = (
    Endpoint(STATUS_PATH, beacon_status, Role.VIEWER, methods=("GET",), kind="json"),
)
