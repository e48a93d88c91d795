"""The admin-only simulation API of the Bluetooth radio, so that integrators can script a
W401 in CI: GET /vigil/sim/ble shows what the device has on the air (decoded); POST makes it
hear one advertisement from a scripted advertiser: {"address": "AA:BB:CC:DD:EE:FF",
"rssi": -60, "systemId": "00C0FFEE", "messageType": 1, "sequence": 0} for a beacon, or
{"address": ..., "rssi": ..., "company": 65535, "data": "<hex>"} for any manufacturer data."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.beacon.const import SIM_BLE
from vigil.features.beacon.payload import COMPANY_ID, Signal, encode, parse_message_type, parse_system_id
from vigil.features.beacon.service import BEACON_SERVICE
from vigil.hal.ble import BLE_RADIO
from vigil.hal.sim.ble import SimulatedBle
from vigil.http.routing import Endpoint
from vigil.http.sim import SimRequestError, json_body, refused

if TYPE_CHECKING:
    from vigil.device import Device

ADDRESS = re.compile(r"[0-9A-Fa-f]{2}(:[0-9A-Fa-f]{2}){5}")
HEX = re.compile(r"(?:[0-9A-Fa-f]{2}){0,31}")  # at most 31 bytes: one legacy advertisement




def whole(body: dict[str, Any], name: str, low: int, high: int, default: int | None = None) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SimRequestError(f"{name} must be a whole number from {low} to {high}")
    return value


def parse(raw: bytes) -> tuple[str, int, dict[int, bytes]]:
    """The sender, RSSI and manufacturer data of a POST body, or SimRequestError saying what is wrong."""
    body: Any = json_body(raw)
    if not isinstance(body, dict):
        raise SimRequestError('send {"address": "AA:BB:CC:DD:EE:FF", "rssi": -60, "systemId": "00C0FFEE", '
                              '"messageType": 1}')
    address = body.get("address")
    if not isinstance(address, str) or not ADDRESS.fullmatch(address):
        raise SimRequestError("address must be a Bluetooth address such as AA:BB:CC:DD:EE:FF")
    rssi = whole(body, "rssi", -127, 20)
    if "data" in body:
        company = whole(body, "company", 0, 0xFFFF, COMPANY_ID)
        data = body["data"]
        if not isinstance(data, str) or not HEX.fullmatch(data):
            raise SimRequestError("data must be hexadecimal bytes, at most 31")
        return address, rssi, {company: bytes.fromhex(data)}
    try:
        system = parse_system_id(str(body.get("systemId", "")))
        message_type = parse_message_type(str(body.get("messageType", "1")))
    except ValueError as err:
        raise SimRequestError(str(err)) from None
    sequence = whole(body, "sequence", 0, 255, 0)
    return address, rssi, {COMPANY_ID: encode(Signal(system, message_type, sequence))}


async def sim_ble(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    radio = device.hardware[BLE_RADIO]
    if request.method == "POST":
        if not isinstance(radio, SimulatedBle):
            return refused("the Bluetooth radio is not simulated")
        try:
            address, rssi, data = parse(await request.body())
        except SimRequestError as err:
            device.logs.system(f"Bluetooth simulation request of {who.name} refused: {printable(str(err))}", "warning")
            return refused(str(err))
        radio.hear(address, rssi, data)
        device.logs.audit(who.name, f"simulated a Bluetooth advertisement from {address}", "simulation")
    return JSONResponse({"onAir": device.features[BEACON_SERVICE].status()["onAir"]})


ROUTES = (
    Endpoint(SIM_BLE, sim_ble, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
