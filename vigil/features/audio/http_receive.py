"""VAPIX Audio API, `/axis-cgi/audio/receive.cgi` (viewers): the microphone over HTTP, live, as
G.711 µ-law at 8 kHz (`audio/basic`), singlepart (the samples back to back, for as long as the
client reads) or multipart (`multipart/x-mixed-replace`, 512-byte parts as the device sends them).

AAC and Opus are for RTSP (`/axis-media/media.amp?audio=1&audiocodec=...`): over HTTP the Audio
API has no framing for them, so `audiocodec=aac|opus` is refused and a device whose stream
encoding is AAC or Opus answers receive.cgi in G.711. At most `Audio.MaxListeners` clients listen
at once (503 beyond, as with the input off). A client that reads too slowly loses audio rather
than delaying the others: each has one second of buffer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import numpy as np
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from vigil.core.auth import Principal
from vigil.core.params import ParamDef, applied, printable
from vigil.core.roles import Role
from vigil.features.audio import const as c
from vigil.features.audio.live import CODECS, Encoder
from vigil.features.audio.service import AUDIO_SERVICE, AudioService
from vigil.hal.audio import AudioError
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device

BOUNDARY = "myboundary"
PART_BYTES = 512  # G.711's block in a multipart response
BUFFER_FRAMES = 50  # one second of 20 ms frames per client
STALL_SECONDS = 2.0  # no frame for this long: see whether the capture still runs
ARGS = {"audio", "audiocodec", "audiosamplerate", "audiobitrate", "audionbrofchannels", "camera", "httptype",
        "audiochannel", "audiodeviceid", "audioinputid"}
G711 = CODECS["g711"]


class BadRequest(ValueError):
    pass


def param_defs() -> list[ParamDef]:
    return [ParamDef(c.MAX_LISTENERS, "20", "int", minimum=0, maximum=20, read=Role.VIEWER, write=Role.OPERATOR,
                     owner=applied("audio", note="checked when a client asks receive.cgi for the input"))]


def check(query: dict[str, str]) -> str:
    """The arguments of a request (the device has one input, one configuration); its httptype."""
    unknown = sorted(set(query) - ARGS)
    if unknown:
        raise BadRequest(f"unknown argument {printable(unknown[0])[:32]!r}")
    expected = {"audio": "1", "camera": "1", "audiochannel": "1", "audiodeviceid": c.DEVICE_ID,
                "audioinputid": c.INPUT_ID, "audiosamplerate": str(G711.clock), "audiobitrate": "64000",
                "audionbrofchannels": "1"}
    for name, value in expected.items():
        if name in query and query[name] != value:
            raise BadRequest(f"{name} must be {value} on this device (one input, G.711 at 8 kHz over HTTP)")
    if "audiochannel" in query and ("audiodeviceid" in query or "audioinputid" in query):
        raise BadRequest("audiochannel and audiodeviceid/audioinputid exclude each other")
    codec = query.get("audiocodec", "g711")
    if codec != "g711":
        raise BadRequest(f"audiocodec {printable(codec)[:16]!r} does not stream over HTTP: use g711, or RTSP "
                         "(/axis-media/media.amp?audio=1&audiocodec=aac|opus)")
    httptype = query.get("httptype", "singlepart")
    if httptype not in ("singlepart", "multipart"):
        raise BadRequest("httptype is singlepart or multipart")
    return httptype


def multipart(data: bytes) -> bytes:
    return (f"--{BOUNDARY}\r\nContent-Type: audio/basic\r\nContent-Length: {len(data)}\r\n\r\n".encode()
            + data + b"\r\n")


class Receive:
    """The receive.cgi endpoint and the clients it serves (one per device)."""

    def __init__(self) -> None:
        self.clients = 0

    async def handle(self, request: Request, who: Principal) -> Response:
        device: Device = request.app.state.device
        service = device.features[AUDIO_SERVICE]
        try:
            httptype = check(dict(request.query_params))
        except BadRequest as err:
            device.logs.system(f"receive.cgi request of {who.name} refused: {err}", "warning")
            return PlainTextResponse(f"Bad request: {err}\n", status_code=400)
        if not service.input_enabled:
            return PlainTextResponse("Service unavailable: the audio input is turned off (Audio > Device "
                                     "settings)\n", status_code=503)
        if self.clients >= int(device.params.get(c.MAX_LISTENERS)):
            return PlainTextResponse(f"Service unavailable: {self.clients} clients listen already "
                                     f"({c.MAX_LISTENERS})\n", status_code=503)
        frames: asyncio.Queue[bytes] = asyncio.Queue(BUFFER_FRAMES)
        encoder = Encoder(G711)

        def on_block(block: np.ndarray) -> None:
            for frame, _ in encoder.encode(block):
                with contextlib.suppress(asyncio.QueueFull):  # a slow client loses this frame
                    frames.put_nowait(frame)

        try:
            service.listen(on_block)
        except AudioError as err:
            return PlainTextResponse(f"Service unavailable: {err}\n", status_code=503)
        self.clients += 1
        service.network_streams += 1
        stream = self.stream(service, on_block, frames, httptype == "multipart")
        if httptype == "multipart":
            return StreamingResponse(stream, media_type=f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        return StreamingResponse(stream, media_type="audio/basic")

    async def stream(self, service: AudioService, on_block, frames: asyncio.Queue[bytes],
                     parts: bool) -> AsyncIterator[bytes]:
        pending = b""
        try:
            while True:
                try:
                    data = await asyncio.wait_for(frames.get(), STALL_SECONDS)
                except TimeoutError:
                    if on_block in service.listeners:
                        continue
                    return  # the capture stopped (the input was turned off): the stream ends
                if not parts:
                    yield data
                    continue
                pending += data
                while len(pending) >= PART_BYTES:
                    yield multipart(pending[:PART_BYTES])
                    pending = pending[PART_BYTES:]
        finally:
            self.clients -= 1
            service.network_streams -= 1
            service.unlisten(on_block)

    def routes(self) -> tuple[Endpoint, ...]:
        return (Endpoint(c.RECEIVE_PATH, self.handle, Role.VIEWER, methods=("GET",), safe_get=True),)
