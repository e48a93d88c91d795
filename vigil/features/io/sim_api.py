"""The admin-only simulation API for I/O, so that integrators can script a device in CI:
GET /vigil/sim/io lists every port's circuit; POST {"port": N, "circuit": "closed"} changes
what is wired to an input (open, closed, cut, short)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.io.const import SIM_IO
from vigil.features.io.service import IO_SERVICE
from vigil.hal.io import CIRCUITS, IO_HARDWARE
from vigil.hal.sim.io import SimulatedIO
from vigil.http.routing import Endpoint
from vigil.http.sim import SimRequestError, json_body, refused

if TYPE_CHECKING:
    from vigil.device import Device




def parse(raw: bytes, ports: int) -> tuple[int, str]:
    """The port index and circuit of a POST body, or SimRequestError saying what is wrong."""
    body: Any = json_body(raw)
    if not isinstance(body, dict) or "port" not in body or "circuit" not in body:
        raise SimRequestError('send {"port": <index>, "circuit": "open|closed|cut|short"}')
    port, circuit = body["port"], body["circuit"]
    if isinstance(port, str) and port.isascii() and port.isdigit() and len(port) <= 3:
        port = int(port)  # "3" was always taken for 3
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port < ports:
        raise SimRequestError(f"port must be a port index, 0 to {ports - 1}")
    if not isinstance(circuit, str) or circuit not in CIRCUITS:
        raise SimRequestError(f"circuit must be one of {', '.join(CIRCUITS)}")
    return port, circuit


async def sim_io(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    service = device.features[IO_SERVICE]
    hardware = device.hardware[IO_HARDWARE]
    if request.method == "POST":
        if not isinstance(hardware, SimulatedIO):
            return refused("the I/O hardware is not simulated")
        try:
            port, circuit = parse(await request.body(), len(hardware.specs))
            hardware.set_input(port, circuit)
        except ValueError as err:  # SimRequestError, or the hardware refusing (an output port)
            device.logs.system(f"I/O simulation request of {who.name} refused: {printable(str(err))}", "warning")
            return refused(str(err))
        device.logs.audit(who.name, f"simulated port {port} circuit {circuit}", "simulation")
    return JSONResponse({"ports": [
        {"port": v.index, "direction": v.direction, "circuit": hardware.read(v.index), "active": v.active}
        for v in service.views()]})


ROUTES = (
    Endpoint(SIM_IO, sim_io, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
