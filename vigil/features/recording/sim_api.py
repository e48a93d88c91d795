"""The admin-only simulation API of the USB port: GET /vigil/sim/usb reads it; POST
{"insert": {"label": "STICK", "capacity": 8000000000, "readOnly": false}} puts a drive in,
{"remove": true} pulls it out (ejected or not, an export under way or not)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.hal.sim.usb import SimulatedUsb
from vigil.hal.usb import USB_HARDWARE, UsbError
from vigil.http.routing import Endpoint
from vigil.http.sim import SimRequestError, json_body, refused

if TYPE_CHECKING:
    from vigil.device import Device

SIM_USB = "/vigil/sim/usb"


def _apply(hardware: SimulatedUsb, raw: bytes) -> str:
    """Do what the body asks; returns it in words for the audit log."""
    body: Any = json_body(raw)
    if isinstance(body, dict) and body.get("remove") is True and len(body) == 1:
        hardware.remove()
        return "pulled out the USB drive"
    insert = body.get("insert") if isinstance(body, dict) and len(body) == 1 else None
    if not isinstance(insert, dict) or set(insert) - {"label", "capacity", "readOnly"}:
        raise SimRequestError('send {"insert": {"label": ..., "capacity": BYTES, "readOnly": false}} or '
                              '{"remove": true}')
    label, capacity, read_only = insert.get("label"), insert.get("capacity"), insert.get("readOnly", False)
    if not isinstance(label, str) or type(capacity) is not int or not isinstance(read_only, bool):
        raise SimRequestError("label is a string, capacity a whole number of bytes, readOnly true or false")
    drive = hardware.insert(label, capacity, read_only)
    return f"inserted the USB drive {drive.label} ({drive.capacity} bytes{', read-only' if read_only else ''})"


async def sim_usb(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    hardware = device.hardware[USB_HARDWARE]
    if request.method == "POST":
        if not isinstance(hardware, SimulatedUsb):
            return refused("the USB port is not simulated")
        try:
            done = _apply(hardware, await request.body())
        except (SimRequestError, UsbError) as err:
            device.logs.system(f"USB simulation request of {who.name} refused: {err}", "warning")
            return refused(str(err))
        device.logs.audit(who.name, f"simulation: {done}", "simulation")
    drive = hardware.drive()
    return JSONResponse({"drive": None if drive is None else {"label": drive.label, "capacity": drive.capacity,
                                                               "state": drive.state}})


ROUTES = (
    Endpoint(SIM_USB, sim_usb, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
