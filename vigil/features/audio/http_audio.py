"""The pages' JSON for the speaker: `/vigil/audio/detection` (operators), what the Detectors
page's activity indicator shows (the live level 0-100, the alarm level, whether it is above);
`/vigil/audio/locate` (operators), Locate device: GET its state, POST {"seconds": 1-300} to start
it or {"stop": true} to end it; `/vigil/audio/recording` (operators), Listen and record: GET the
state, POST {"record": true|false} or {"delete": "<recording id>"}; `/vigil/audio/recordings`
(viewers) lists the microphone's recordings and `/vigil/audio/recordings/play?id=ID` (viewers)
gives one as MP4 (`starttime`/`stoptime` in ISO 8601 for a part, `download=1` to export it). The
alarm level itself is a parameter (param.cgi)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.audio import const as c
from vigil.features.audio import recording
from vigil.features.audio.detection import AUDIO_DETECTION
from vigil.features.audio.recording import AUDIO_RECORDER, RecordError
from vigil.features.audio.speakertest import LOCATE, MAX_LOCATE_SECONDS
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


def refused(device: Device, who: Principal, what: str, err: Exception) -> Response:
    """A bad request: logged, and answered 400 with a JSON error object."""
    device.logs.system(f"{what} request of {who.name} refused: {printable(str(err))}", "warning")
    return JSONResponse({"error": {"code": 400, "message": str(err)}}, status_code=400)


async def detection(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse(device.features[AUDIO_DETECTION].status())


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ValueError("the body is not JSON") from None


def parse_locate(raw: bytes) -> dict[str, Any]:
    body = json_body(raw)
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
            return refused(device, who, "Locate device", err)
        if body.get("stop"):
            service.stop(who.name)
        else:
            service.start(body["seconds"], who.name)
    return JSONResponse(service.status())


def parse_recording(raw: bytes) -> dict[str, Any]:
    body = json_body(raw)
    if isinstance(body, dict) and set(body) == {"record"} and isinstance(body["record"], bool):
        return body
    if isinstance(body, dict) and set(body) == {"delete"} and isinstance(body["delete"], str):
        return body
    raise ValueError('send {"record": true} or {"record": false}, or {"delete": "<recording id>"}')


async def recording_state(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    recorder = device.features[AUDIO_RECORDER]
    if request.method == "POST":
        try:
            body = parse_recording(await request.body())
            if "record" in body:
                recorder.set_recording(body["record"], who.name)
            else:
                recording.delete(device.store, recorder.volumes, body["delete"])
                device.logs.audit(who.name, f"audio recording {printable(body['delete'])} deleted", "audio")
        except (ValueError, RecordError) as err:
            return refused(device, who, "Audio recording", err)
    return JSONResponse(recorder.status())


async def recordings_list(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse({"recordings": recording.recordings(device.store)})


def moment(text: str | None) -> float | None:
    if not text:
        return None
    try:
        at = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RecordError(f"not an ISO 8601 time: {printable(text)[:40]!r}") from None
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


async def recording_play(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    query = request.query_params
    try:
        size, chunks = recording.read(device.store, query.get("id", ""), moment(query.get("starttime")),
                                      moment(query.get("stoptime")))
    except (RecordError, OverflowError, OSError) as err:
        status = 404 if "There is no audio recording" in str(err) else 400
        return JSONResponse({"error": {"code": status, "message": str(err)}}, status_code=status)
    headers = {"Content-Length": str(size)}
    if query.get("download") == "1":
        headers["Content-Disposition"] = f'attachment; filename="{query.get("id")}.mp4"'
    return StreamingResponse(chunks, media_type="audio/mp4", headers=headers)


ROUTES = (
    Endpoint(c.DETECTION_PATH, detection, Role.OPERATOR, methods=("GET",), kind="json"),
    Endpoint(c.LOCATE_PATH, locate, Role.OPERATOR, methods=("GET", "POST"), kind="json"),
    Endpoint(c.RECORDING_PATH, recording_state, Role.OPERATOR, methods=("GET", "POST"), kind="json"),
    Endpoint(c.RECORDINGS_PATH, recordings_list, Role.VIEWER, methods=("GET",), kind="json"),
    Endpoint(c.RECORDINGS_PATH + "/play", recording_play, Role.VIEWER, methods=("GET",), kind="json", safe_get=True),
)
