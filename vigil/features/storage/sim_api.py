"""The admin-only simulation API for disks, so that tests and integrators can script a
recorder's drives in CI: `GET /vigil/sim/disks` shows the bays and the array;
`POST {"action": ..., "slot": N, ...}` changes them:

- `fail` (the drive breaks), `remove` (pulled out), `insert` (a new drive; optional
  `capacityGB`, `serial`), `temperature` (`celsius`), `health` (`health`: passed|failed)
- `step` (`seconds`: advance a running resync), `resyncSeconds` (`seconds`: how long a full
  rebuild takes), `capacity` (`capacityGB`: every drive).

Numbers are JSON numbers (not strings, not true/false), finite and in range; a request that
is refused changes nothing and answers 400 with `{"error": {"code": 400, "message": ...}}`.
"""

from __future__ import annotations

import json
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.hal.disks import DiskError
from vigil.hal.sim.disks import MAX_CAPACITY, SimulatedDisks

if TYPE_CHECKING:
    from vigil.device import Device
    from vigil.features.storage.service import StorageService

GB = 1_000_000_000
SLOTTED = ("fail", "remove", "insert", "temperature", "health")  # the actions on one bay


class BadRequest(ValueError):
    """A simulation request that is refused; `str()` says why."""


def _number(body: dict[str, Any], key: str) -> float:
    value = body.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"'{key}' must be a number")
    return value


def _capacity(body: dict[str, Any]) -> int:
    gb = _number(body, "capacityGB")
    if not 0 < gb <= MAX_CAPACITY // GB:  # NaN and Infinity fail here too
        raise BadRequest(f"'capacityGB' must be more than 0 and at most {MAX_CAPACITY // GB}")
    return int(gb * GB)


def _refuse_constant(name: str) -> float:
    raise BadRequest(f"{name} is not a number")


def parse(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object; NaN, Infinity and absurd nesting are refused."""
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except RecursionError:
        raise BadRequest("the body is nested too deeply") from None
    except ValueError as err:  # includes JSONDecodeError and UnicodeDecodeError
        raise BadRequest(f"the body is not JSON: {err}") from None
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    return body


def apply(hardware: SimulatedDisks, body: dict[str, Any]) -> str:
    action = body.get("action")
    if not isinstance(action, str):
        raise BadRequest("'action' must be a string")
    slot = -1
    if action in SLOTTED:
        raw = body.get("slot")
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise BadRequest("'slot' must be a bay number (0-based)")
        slot = raw
    if action == "fail":
        hardware.fail(slot)
    elif action == "remove":
        hardware.remove(slot)
    elif action == "insert":
        serial = body.get("serial")
        if serial is not None and not isinstance(serial, str):
            raise BadRequest("'serial' must be a string")
        hardware.insert(slot, _capacity(body) if body.get("capacityGB") is not None else None, serial)
    elif action == "temperature":
        hardware.set_temperature(slot, _number(body, "celsius"))
    elif action == "health":
        health = body.get("health")
        if not isinstance(health, str):
            raise BadRequest("'health' must be passed or failed")
        hardware.set_health(slot, health)
    elif action == "step":
        hardware.step(_number(body, "seconds"))
    elif action == "resyncSeconds":
        hardware.set_resync_seconds(_number(body, "seconds"))
    elif action == "capacity":
        hardware.set_capacity(_capacity(body))
    else:
        raise BadRequest(f"unknown action {action!r}")
    return f"simulated disk {action}" + (f" in bay {slot}" if slot >= 0 else "")


async def sim_disks(hardware: SimulatedDisks, service: StorageService, request: Request, who: Principal) -> Response:
    if request.method == "POST":
        try:
            what = apply(hardware, parse(await request.body()))
        except (BadRequest, DiskError) as err:
            service.logs.system(f"simulation request refused: {err}", "warning")
            return JSONResponse({"error": {"code": 400, "message": f"bad simulation request: {err}"}},
                                status_code=400)
        service.logs.audit(who.name, what, "simulation")
        service.refresh()
    return JSONResponse(hardware.state())


def register(device: Device, hardware: SimulatedDisks, service: StorageService) -> None:
    device.router.add("/vigil/sim/disks", partial(sim_disks, hardware, service), Role.ADMIN, methods=("GET", "POST"),
                      kind="json")
