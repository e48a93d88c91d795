"""Live view in the browser: a camera's video as one fragmented MP4 stream (live.py), which a
page appends to a MediaSource as it arrives.

    GET /vigil/live?camera=N     (viewer) video/mp4, chunked, for as long as the camera plays

`camera` is numbered as the RTSP relay and image.cgi number the cameras (1-based,
`Sources.numbered`; default 1). The Content-Type names the codec (`video/mp4;
codecs="avc1.4D401F"`), what `MediaSource.addSourceBuffer` needs; `X-Vigil-Video-Size` gives
the picture's size. The stream starts with the init segment and the frames since the latest key
frame, then one fragment per frame as the camera sends it. It ends when the camera's connection
ends; a viewer that hangs up leaves at once.

Errors are JSON, `{"error": {"code": C, "message": M}}`, with an HTTP status: 400 (2100) a bad
argument, 404 (2101) no such camera, 503 (2102) the camera is not connected, (2103) the device's
live viewers are at their limit (live.MAX_VIEWERS), (2104) the camera has sent no key frame yet.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import Receive, Scope, Send

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.recording.const import (
    LIVE_BAD_ARGUMENT,
    LIVE_NO_CAMERA,
    LIVE_NO_PICTURE,
    LIVE_NOT_CONNECTED,
)
from vigil.features.recording.live import LiveRefused, LiveStream, Viewer
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.http.routing import Endpoint, client_address
from vigil.http.vapix import BadArguments, form_args

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.recording")
LIVE_PATH = "/vigil/live"
FIRST_PICTURE_WAIT = 5.0  # seconds a viewer of a camera that just connected waits for its first key frame


def live_error(err: LiveRefused) -> Response:
    return JSONResponse({"error": {"code": err.code, "message": str(err)}}, status_code=err.status)


class LiveResponse(Response):
    """The viewer's chunks as they come. The client hanging up ends the viewer at once, even
    while no frame is due (a plain streaming response would notice only at its next write)."""

    def __init__(self, stream: LiveStream, viewer: Viewer, headers: dict[str, str]) -> None:
        self.stream = stream
        self.viewer = viewer
        self.status_code = 200
        self.media_type = stream.mime
        self.background = None
        self.init_headers(headers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def hang_up() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass
            self.viewer.end()

        watcher = asyncio.ensure_future(hang_up())
        try:
            await send({"type": "http.response.start", "status": 200, "headers": self.raw_headers})
            async for chunk in self.viewer.chunks():
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        except OSError:
            pass  # the client went away mid-write
        finally:
            watcher.cancel()
            self.stream.leave(self.viewer)


async def live(request: Request, who: Principal) -> Response:
    service: RecordingService = request.app.state.device.features[RECORDING_SERVICE]
    try:
        try:
            args = await form_args(request)
        except BadArguments as err:
            raise LiveRefused(400, LIVE_BAD_ARGUMENT, str(err)) from None
        unknown = sorted({k for k, _v in args} - {"camera"})
        if unknown:
            raise LiveRefused(400, LIVE_BAD_ARGUMENT, f"Argument {unknown[0][:32]!r} is not supported: give camera=N")
        cameras = [v for k, v in args if k == "camera"]
        if len(cameras) > 1:
            raise LiveRefused(400, LIVE_BAD_ARGUMENT, "Argument 'camera' is given twice")
        camera = cameras[0] if cameras else "1"
        source = service.sources.by_number(camera)
        if source is None:
            raise LiveRefused(404, LIVE_NO_CAMERA, f"Camera {camera[:16]!r} not available: the cameras are 1 to "
                                                   f"{len(service.sources.all)}")
        stream, viewer = service.relays.streams.watch(source.id, camera)
    except LiveRefused as err:
        log.info("live view refused to %s from %s: %s", who.name, client_address(request), err)
        return live_error(err)
    try:
        if not stream.init:
            try:
                await asyncio.wait_for(stream.has_init.wait(), FIRST_PICTURE_WAIT)
            except TimeoutError:
                raise LiveRefused(503, LIVE_NO_PICTURE, f"Camera {camera} has sent no key frame yet") from None
        if viewer.ended:
            raise LiveRefused(503, LIVE_NOT_CONNECTED, f"Camera {camera} ({source.id}) is not connected")
    except LiveRefused as err:
        stream.leave(viewer)
        log.info("live view refused to %s from %s: %s", who.name, client_address(request), err)
        return live_error(err)
    except BaseException:
        stream.leave(viewer)
        raise
    width, height = stream.size
    return LiveResponse(stream, viewer, {"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
                                         "X-Vigil-Video-Size": f"{width}x{height}"})


ROUTES = (
    # safe_get: it only reads, like play.cgi, whose video a page also shows.
    Endpoint(LIVE_PATH, live, Role.VIEWER, methods=("GET",), kind="json", safe_get=True),
)


def register(device: Device) -> None:
    device.router.include(ROUTES)
