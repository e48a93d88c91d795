"""The admin-only simulation API for I/O, so that integrators can script a device in CI:
GET /vigil/sim/io lists every port's circuit; POST {"port": N, "circuit": "closed"} changes
what is wired to an input (open, closed, cut, short)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.io.service import IOService
from vigil.hal.sim.io import SimulatedIO

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device, hardware: SimulatedIO, service: IOService) -> None:
    async def sim_io(request: Request, who: Principal) -> Response:
        if request.method == "POST":
            try:
                body = json.loads(await request.body())
                port, circuit = int(body["port"]), str(body["circuit"])
                hardware.set_input(port, circuit)
            except (ValueError, KeyError, TypeError, IndexError) as err:
                return JSONResponse({"error": {"code": 400, "message": f"bad simulation request: {err}"}},
                                    status_code=400)
            device.logs.audit(who.name, f"simulated port {port} circuit {circuit}", "simulation")
        return JSONResponse({"ports": [
            {"port": v.index, "direction": v.direction, "circuit": hardware.output(v.index), "active": v.active}
            for v in service.views()]})

    device.router.add("/vigil/sim/io", sim_io, Role.ADMIN, methods=("GET", "POST"), kind="json")
