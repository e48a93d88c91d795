"""The admin-only simulation API of the PoE switch, so that integrators can script a recorder in
CI: GET /vigil/sim/poe lists what is connected; POST `{"port": N, "connect": {"class": 0-8 or
null, "draw": watts}}` plugs in a device (class null: one with its own supply),
`{"port": N, "disconnect": true}` unplugs it, `{"port": N, "lldp": "<hex frame>"}` makes the
device send an LLDP frame."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.poe.const import SIM_POE
from vigil.hal.poe import POE_HARDWARE
from vigil.hal.sim.poe import SimulatedPoe
from vigil.http.routing import Endpoint
from vigil.http.sim import refused

if TYPE_CHECKING:
    from vigil.device import Device



def apply(hardware: SimulatedPoe, raw: bytes) -> str:
    """Carry out one POST body; what was done, or ValueError saying what is wrong."""
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("the body is not JSON") from None
    if not isinstance(body, dict) or len(body) != 2 or "port" not in body:
        raise ValueError('send {"port": N} with one of "connect", "disconnect" or "lldp"')
    port = body["port"]
    if isinstance(port, bool) or not isinstance(port, int):
        raise ValueError(f"port must be a number, 1 to {hardware.ports}")
    if "connect" in body:
        device = body["connect"]
        if not isinstance(device, dict) or set(device) - {"class", "draw"}:
            raise ValueError('connect is {"class": 0-8 or null, "draw": watts}')
        poe_class, draw = device.get("class"), device.get("draw", 0)
        if poe_class is not None and (isinstance(poe_class, bool) or not isinstance(poe_class, int)):
            raise ValueError("class must be 0 to 8, or null")
        if isinstance(draw, bool) or not isinstance(draw, (int, float)):
            raise ValueError("draw must be a number of watts")
        hardware.connect(port, poe_class, float(draw))
        return f"connected a class {poe_class} device drawing {draw} W to PoE port {port}"
    if body.get("disconnect") is True:
        hardware.disconnect(port)
        return f"disconnected PoE port {port}"
    if "lldp" in body:
        frame = body["lldp"]
        if not isinstance(frame, str) or len(frame) > 3200:
            raise ValueError("lldp is a frame in hexadecimal, at most 1600 bytes")
        hardware.receive_lldp(port, bytes.fromhex(frame))
        return f"PoE port {port} received an LLDP frame"
    raise ValueError('send {"port": N} with one of "connect", "disconnect" or "lldp"')


async def sim_poe(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    hardware = device.hardware.get(POE_HARDWARE)
    if not isinstance(hardware, SimulatedPoe):
        return refused("the PoE switch is not simulated")
    if request.method == "POST":
        try:
            done = apply(hardware, await request.body())
        except ValueError as err:
            device.logs.system(f"PoE simulation request of {who.name} refused: {printable(str(err))}", "warning")
            return refused(str(err))
        device.logs.audit(who.name, done, "simulation")
    listed = []
    for port in range(1, hardware.ports + 1):
        found = hardware.device(port)
        listed.append({"port": port, "connected": found is not None,
                       "class": found.poe_class if found else None, "draw": found.draw_w if found else 0,
                       "powered": hardware.powered(port), "network": found.network if found else True,
                       "powerCycles": found.power_cycles if found else 0})
    return JSONResponse({"ports": listed})


ROUTES = (
    Endpoint(SIM_POE, sim_poe, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
