"""The pages' JSON for the speaker (operators and administrators): `/vigil/audio/detection`, what
the Detectors page's activity indicator shows (the live level 0-100, the alarm level, whether
it is above), and `/vigil/audio/locate`, Locate device: GET its state, POST {"seconds": 1-300}
to start it or {"stop": true} to end it. The alarm level itself is a parameter (param.cgi)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.audio import const as c
from vigil.features.audio.detection import AUDIO_DETECTION
from vigil.features.audio.speakertest import LOCATE, MAX_LOCATE_SECONDS
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


def bad(message: str) -> Response:
    return JSONResponse({"error": {"code": 400, "message": message}}, status_code=400)


async def detection(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse(device.features[AUDIO_DETECTION].status())


def parse_locate(raw: bytes) -> dict[str, Any]:
    try:
        body: Any = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("the body is not JSON") from None
    if isinstance(body, dict) and set(body) == {"stop"} and body["stop"] is True:
        return body
    seconds = body.get("seconds") if isinstance(body, dict) and set(body) == {"seconds"} else None
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 1 <= seconds <= MAX_LOCATE_SECONDS:
        raise ValueError(f'send {{"seconds": 1 to {MAX_LOCATE_SECONDS}}} to locate the device or {{"stop": true}}')
    return body


async def locate(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    service = device.features[LOCATE]
    if request.method == "POST":
        try:
            body = parse_locate(await request.body())
        except ValueError as err:
            device.logs.system(f"Locate device request of {who.name} refused: {printable(str(err))}", "warning")
            return bad(str(err))
        if body.get("stop"):
            service.stop(who.name)
        else:
            service.start(body["seconds"], who.name)
    return JSONResponse(service.status())


ROUTES = (
    Endpoint(c.DETECTION_PATH, detection, Role.OPERATOR, methods=("GET",), kind="json"),
    Endpoint(c.LOCATE_PATH, locate, Role.OPERATOR, methods=("GET", "POST"), kind="json"),
)
