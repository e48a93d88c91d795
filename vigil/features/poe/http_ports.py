"""The Power over Ethernet page's API (`/config/rest/poe/v1/ports`, Device Configuration
shape): GET lists every port's status with the totals (viewer); PATCH `{"data": {"port": N,
"enabled": bool, "network": bool, "name": str}}` changes one port (operator), audited through
the parameters."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.poe.const import ENABLED, FRIENDLY_NAME, NETWORK, PORTS_API
from vigil.features.poe.service import POE_SERVICE, PoeError
from vigil.http.config_rest import RestError, failure, request_data, success
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device

SWITCHES = {"enabled": ENABLED, "network": NETWORK}


def port_change(data: Any, ports: int) -> tuple[int, dict[str, str]]:
    if not isinstance(data, dict):
        raise RestError(400, 'send {"data": {"port": <number>, "enabled": true|false, ...}}')
    port = data.get("port")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= ports:
        raise RestError(400, f"port must be a port number, 1 to {ports}")
    values: dict[str, str] = {}
    for key, value in data.items():
        if key == "port":
            continue
        if key in SWITCHES:
            if not isinstance(value, bool):
                raise RestError(400, f"{key} must be true or false")
            values[SWITCHES[key]] = "yes" if value else "no"
        elif key == "name":
            if not isinstance(value, str):
                raise RestError(400, "name must be text")
            values[FRIENDLY_NAME] = value
        else:
            raise RestError(400, f"unknown property {printable(str(key), 32)}")
    if not values:
        raise RestError(400, "nothing to change: send enabled, network or name")
    return port, values


async def ports(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    service = device.features[POE_SERVICE]
    try:
        if request.method == "PATCH":
            if who.role < Role.OPERATOR:
                raise RestError(403, "changing a port needs an operator")
            if service.absent:
                raise RestError(409, service.absent)
            port, values = port_change(await request_data(request), service.ports)
            service.set_port(port, values, who.role, who.name)
    except (RestError, PoeError) as err:
        status = err.status if isinstance(err, RestError) else 400
        device.logs.system(f"PoE port change of {who.name} refused: {printable(str(err))}", "warning")
        return failure(status, str(err))
    return success({"ports": [s.to_json() for s in service.statuses()], "totals": service.totals(),
                    "keepPower": service.keep_power() if not service.absent else False})


ROUTES = (
    Endpoint(PORTS_API, ports, Role.VIEWER, methods=("GET", "PATCH"), kind="json", safe_get=True),
)
