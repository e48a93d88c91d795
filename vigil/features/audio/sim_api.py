"""The admin-only simulation API for audio, so that tests and integrators can script a speaker
in CI: GET /vigil/sim/audio says what the speaker played since the sink was last cleared (its
length, level, main frequency, and how long it was audible) and how much fed sound the microphone
has yet to hear; POST {"tone": {"frequency": Hz, "seconds": s, "level": dBFS}} plays a tone into
the microphone, {"clearSink": true} empties the sink. Only with the simulated hardware."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.hal.audio import AUDIO_HARDWARE, RATE, audible, dominant_frequency, level_dbfs, tone
from vigil.hal.sim.audio import SimulatedAudio
from vigil.http.routing import Endpoint
from vigil.http.sim import SimRequestError, refused

if TYPE_CHECKING:
    from vigil.device import Device

SIM_AUDIO = "/vigil/sim/audio"
MAX_SECONDS = 60
AUDIBLE_DBFS = -60.0


def _number(tone_spec: dict[str, Any], key: str, low: float, high: float) -> float:
    value = tone_spec.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) \
            or not low <= value <= high:
        raise SimRequestError(f"tone.{key} must be a number from {low:g} to {high:g}")
    return float(value)


def parse(raw: bytes) -> dict[str, Any]:
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise SimRequestError("the body is not JSON") from None
    if not isinstance(body, dict) or not body or set(body) - {"tone", "clearSink"}:
        raise SimRequestError('send {"tone": {"frequency": Hz, "seconds": s, "level": dBFS}} or {"clearSink": true}')
    if "clearSink" in body and body["clearSink"] is not True:
        raise SimRequestError("clearSink must be true")
    if "tone" in body:
        spec = body["tone"]
        if not isinstance(spec, dict):
            raise SimRequestError("tone must be an object")
        body["tone"] = (_number(spec, "frequency", 20, RATE / 2 - 1), _number(spec, "seconds", 0.02, MAX_SECONDS),
                        _number(spec, "level", -90, 0))
    return body


def state(hardware: SimulatedAudio) -> dict[str, Any]:
    played = hardware.sink_samples()
    heard = audible(played, AUDIBLE_DBFS)
    return {"sink": {"seconds": round(len(played) / RATE, 3), "audibleSeconds": round(len(heard) / RATE, 3),
                     "levelDbfs": round(level_dbfs(heard), 2),
                     "frequencyHz": round(dominant_frequency(heard), 1) if len(heard) else 0.0},
            "microphone": {"queuedSeconds": round(hardware.fed_seconds, 3)}}


async def sim_audio(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    hardware = device.hardware[AUDIO_HARDWARE]
    if not isinstance(hardware, SimulatedAudio):
        return refused("the audio hardware is not simulated")
    if request.method == "POST":
        try:
            body = parse(await request.body())
        except SimRequestError as err:
            device.logs.system(f"Audio simulation request of {who.name} refused: {printable(str(err))}", "warning")
            return refused(str(err))
        if body.get("clearSink"):
            hardware.clear_sink()
            device.logs.audit(who.name, "simulated speaker sink cleared", "simulation")
        if "tone" in body:
            frequency, seconds, level = body["tone"]
            hardware.feed(tone(frequency, seconds, level))
            device.logs.audit(who.name, f"simulated a {frequency:g} Hz tone of {seconds:g} s at {level:g} dBFS "
                                        f"into the microphone", "simulation")
    return JSONResponse(state(hardware))


ROUTES = (
    Endpoint(SIM_AUDIO, sim_audio, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
