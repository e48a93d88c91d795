"""The admin-only simulation API of the wireless world: GET /vigil/sim/wlan lists the scripted
access points; POST {"add": {"ssid": ..., "security": "wpa2-psk", "password": ..., "signal": 70,
"channel": 6, "hidden": false, "identity": ...}} puts one in range, {"remove": "<ssid>"} takes
it away. The Ethernet cable is the network simulation's (`/vigil/sim/network`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.wlan.const import SIM_WLAN
from vigil.features.wlan.settings import check_ssid
from vigil.hal.sim.wlan import SimulatedWlan
from vigil.hal.wlan import SECURITIES, WLAN_RADIO
from vigil.http.routing import Endpoint
from vigil.http.sim import json_body, refused

if TYPE_CHECKING:
    from vigil.device import Device



def apply(radio: SimulatedWlan, raw: bytes) -> str:
    """Do what the body asks; returns what happened, for the audit log."""
    body: Any = json_body(raw)
    if isinstance(body, dict) and isinstance(body.get("remove"), str):
        radio.remove_access_point(body["remove"])
        return f"took the network {body['remove']!r} out of range"
    ap = body.get("add") if isinstance(body, dict) else None
    if not isinstance(ap, dict):
        raise ValueError('send {"add": {"ssid": ..., "security": ..., "password": ...}} or {"remove": "<ssid>"}')
    ssid = ap.get("ssid")
    if not isinstance(ssid, str) or check_ssid(ssid):
        raise ValueError("ssid must be 1 to 32 bytes of text")
    security = ap.get("security", "wpa2-psk")
    if security not in SECURITIES:
        raise ValueError(f"security must be one of {', '.join(SECURITIES)}")
    for name, low, high, default in (("signal", 0, 100, 70), ("channel", 1, 196, 6)):
        value = ap.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{name} must be a whole number from {low} to {high}")
    password, identity, hidden = ap.get("password", ""), ap.get("identity", ""), ap.get("hidden", False)
    if not isinstance(password, str) or not isinstance(identity, str) or not isinstance(hidden, bool):
        raise ValueError("password and identity are text, hidden is true or false")
    radio.add_access_point(ssid, security, password, ap.get("signal", 70), ap.get("channel", 6), hidden=hidden,
                           identity=identity)
    return f"put the network {ssid!r} in range"


async def sim_wlan(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    radio = device.hardware[WLAN_RADIO]
    if not isinstance(radio, SimulatedWlan):
        return refused("the wireless interface is not simulated")
    if request.method == "POST":
        try:
            done = apply(radio, await request.body())
        except ValueError as err:
            device.logs.system(f"WLAN simulation request of {who.name} refused: {printable(str(err))}", "warning")
            return refused(str(err))
        device.logs.audit(who.name, f"simulation: {done}", "simulation")
    return JSONResponse({"accessPoints": [
        {"ssid": s.ap.ssid, "bssid": s.ap.bssid, "signal": s.ap.signal, "channel": s.ap.channel,
         "security": s.ap.security, "hidden": s.hidden} for s in radio.access_points.values()]})


ROUTES = (
    Endpoint(SIM_WLAN, sim_wlan, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
