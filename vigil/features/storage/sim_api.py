"""The admin-only simulation API for disks, so that tests and integrators can script a
recorder's drives in CI: `GET /vigil/sim/disks` shows the bays and the array;
`POST {"action": ..., "slot": N, ...}` changes them:

- `fail` (the drive breaks), `remove` (pulled out), `insert` (a new drive; optional
  `capacityGB`, `serial`), `temperature` (`celsius`), `health` (`health`: passed|failed)
- `step` (`seconds`: advance a running resync), `resyncSeconds` (`seconds`: how long a full
  rebuild takes), `capacity` (`capacityGB`: every drive).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.storage.service import StorageService
from vigil.hal.disks import DiskError
from vigil.hal.sim.disks import SimulatedDisks

if TYPE_CHECKING:
    from vigil.device import Device

GB = 1_000_000_000


def apply(hardware: SimulatedDisks, body: dict) -> str:
    action = str(body["action"])
    slot = int(body.get("slot", -1))
    if action == "fail":
        hardware.fail(slot)
    elif action == "remove":
        hardware.remove(slot)
    elif action == "insert":
        capacity = body.get("capacityGB")
        hardware.insert(slot, int(float(capacity) * GB) if capacity is not None else None, body.get("serial"))
    elif action == "temperature":
        hardware.set_temperature(slot, float(body["celsius"]))
    elif action == "health":
        hardware.set_health(slot, str(body["health"]))
    elif action == "step":
        hardware.step(float(body["seconds"]))
    elif action == "resyncSeconds":
        hardware.set_resync_seconds(float(body["seconds"]))
    elif action == "capacity":
        hardware.set_capacity(int(float(body["capacityGB"]) * GB))
    else:
        raise ValueError(f"unknown action {action!r}")
    return f"simulated disk {action}" + (f" in bay {slot}" if slot >= 0 else "")


def register(device: Device, hardware: SimulatedDisks, service: StorageService) -> None:
    async def sim_disks(request: Request, who: Principal) -> Response:
        if request.method == "POST":
            try:
                body = json.loads(await request.body())
                if not isinstance(body, dict):
                    raise TypeError("the body must be a JSON object")
                what = apply(hardware, body)
            except (ValueError, KeyError, TypeError, DiskError) as err:
                return JSONResponse({"error": {"code": 400, "message": f"bad simulation request: {err}"}},
                                    status_code=400)
            device.logs.audit(who.name, what, "simulation")
            service.refresh()
        return JSONResponse(hardware.state())

    device.router.add("/vigil/sim/disks", sim_disks, Role.ADMIN, methods=("GET", "POST"), kind="json")
