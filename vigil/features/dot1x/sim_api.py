"""The admin-only simulation API of the simulated switch port's 802.1X authenticator, so that
integrators can script a device in CI: GET /vigil/sim/dot1x shows the port's state and why the
last authentication failed; POST sets what the authentication server takes:
`{"present": true, "peapUsers": {"vigil": "secret"}, "tlsIdentities": ["vigil-s3016"],
"clientCA": "<PEM>", "serverCA": "<PEM>", "ckn": "<hex>", "cak": "<hex>"}` (members left out
are none), and the port authenticates again."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.dot1x.const import SIM_DOT1X
from vigil.hal.dot1x import DOT1X_HARDWARE
from vigil.hal.sim.dot1x import Script, SimulatedDot1x
from vigil.http.routing import Endpoint
from vigil.http.sim import refused

if TYPE_CHECKING:
    from vigil.device import Device

FIELDS = {"present", "peapUsers", "tlsIdentities", "clientCA", "serverCA", "ckn", "cak"}


class SimRequestError(ValueError):
    pass



def _text(body: dict[str, Any], key: str) -> str:
    value = body.get(key, "")
    if not isinstance(value, str) or len(value) > 65536:
        raise SimRequestError(f"{key} is a string")
    return value


def script_of(body: Any) -> Script:
    if not isinstance(body, dict) or set(body) - FIELDS:
        raise SimRequestError(f"the body is an object with some of {', '.join(sorted(FIELDS))}")
    users = body.get("peapUsers", {})
    if not isinstance(users, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in users.items()):
        raise SimRequestError("peapUsers maps identities to passwords")
    identities = body.get("tlsIdentities", [])
    if not isinstance(identities, list) or not all(isinstance(i, str) for i in identities):
        raise SimRequestError("tlsIdentities is a list of identities")
    present = body.get("present", False)
    if not isinstance(present, bool):
        raise SimRequestError("present is true or false")
    client_ca, server_ca = _text(body, "clientCA"), _text(body, "serverCA")
    return Script(present, dict(users), set(identities), client_ca.encode() or None, server_ca.encode() or None,
                  _text(body, "ckn"), _text(body, "cak"))


async def sim_dot1x(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    port = device.hardware[DOT1X_HARDWARE]
    if not isinstance(port, SimulatedDot1x):
        return refused("the 802.1X port is not simulated")
    if request.method == "POST":
        try:
            port.set_script(script_of(json.loads(await request.body())))
        except (ValueError, UnicodeDecodeError, RecursionError) as err:
            return refused(str(err) if isinstance(err, SimRequestError) else "the body is not JSON")
        device.logs.audit(who.name, "simulated 802.1X authenticator changed", "sim")
    return JSONResponse({"status": port.status(), "reason": port.reason, "present": port.script.present})


ROUTES = (Endpoint(SIM_DOT1X, sim_dot1x, Role.ADMIN, methods=("GET", "POST"), kind="json"),)
