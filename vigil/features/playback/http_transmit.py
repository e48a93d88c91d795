"""VAPIX Audio API, /axis-cgi/audio/transmit.cgi: a client POSTs an audio stream that the
speaker plays as it arrives; the reply (204) comes once the last sample has been heard, as on the
device (clients that send a long clip wait that long).

Content types: `audio/basic` (G.711 µ-law, 8 kHz) and `audio/axis-mulaw-128` (µ-law, 16 kHz,
128 kbit/s), raw. A body that starts as a WAV file (what ffmpeg's `-f wav` sends, as Home
Assistant users do) is read by its header instead: µ-law, A-law or 16-bit PCM, mono, 8-48 kHz.
The stream takes the speaker from a clip; while another stream plays, 503 (player.py)."""

from __future__ import annotations

import asyncio
import struct
from typing import TYPE_CHECKING

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.playback import const as c
from vigil.features.playback.decode import MAX_RATE, MIN_RATE, StreamDecoder
from vigil.features.playback.player import SpeakerBusy
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.http.routing import Endpoint, client_address
from vigil.http.vapix import text

if TYPE_CHECKING:
    from vigil.device import Device

CONTENT_TYPES = {"audio/basic": ("mulaw", 8000), "audio/axis-mulaw-128": ("mulaw", 16000)}
WAV_ENCODINGS = {1: "s16le", 6: "alaw", 7: "mulaw"}  # WAVE format tags
MAX_WAV_HEADER = 4096
READ_AHEAD = 256  # body pieces taken off the connection before the speaker has played them


class StreamError(ValueError):
    pass


def wav_header(head: bytes) -> tuple[StreamDecoder, int] | None:
    """The decoder a WAV stream's header asks for and where its samples begin, or None while
    the header is incomplete. StreamError for a header this speaker cannot play."""
    if len(head) < 12:
        return None
    if head[8:12] != b"WAVE":
        raise StreamError("the body starts as RIFF but is no WAVE stream")
    at, fmt = 12, None
    while at + 8 <= len(head):
        chunk, size = head[at:at + 4], struct.unpack("<I", head[at + 4:at + 8])[0]
        if chunk == b"fmt ":
            if at + 8 + 16 > len(head):
                return None
            tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", head[at + 8:at + 24])
            fmt = (tag, channels, rate, bits)
        elif chunk == b"data":
            if fmt is None:
                raise StreamError("the WAV stream has no fmt chunk before its data")
            tag, channels, rate, bits = fmt
            if tag not in WAV_ENCODINGS or (tag == 1 and bits != 16):
                raise StreamError("WAV streams must be G.711 µ-law, A-law or 16-bit PCM")
            if channels != 1:
                raise StreamError(f"the stream has {channels} channels: send mono")
            if not MIN_RATE <= rate <= MAX_RATE:
                raise StreamError(f"the sample rate {rate} Hz is outside 8 to 48 kHz")
            return StreamDecoder(WAV_ENCODINGS[tag], rate), at + 8
        at += 8 + size + (size & 1)
    if len(head) > MAX_WAV_HEADER:
        raise StreamError("the WAV header is too long")
    return None


async def transmit(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type not in CONTENT_TYPES:
        why = f"the content type must be {' or '.join(CONTENT_TYPES)}"
        device.logs.system(f"transmit.cgi of {who.name} refused: {printable(why)}", "warning")
        return text(f"Error: {why}\n", status=415)
    player = device.features[PLAYBACK_SERVICE].player
    try:
        async with player.live_stream() as play:
            device.logs.system(f"{who.name} from {client_address(request)} talks through the speaker")
            pieces: asyncio.Queue[bytes | None] = asyncio.Queue(READ_AHEAD)
            reader = asyncio.get_running_loop().create_task(read_ahead(request, pieces))
            try:
                decoder: StreamDecoder | None = None
                head = b""
                while (piece := await pieces.get()) is not None:
                    if decoder is None:
                        head += piece
                        if len(head) < 4:
                            continue
                        if head[:4] != b"RIFF":
                            decoder, piece = StreamDecoder(*CONTENT_TYPES[media_type]), head
                        else:
                            found = wav_header(head)
                            if found is None:
                                continue
                            decoder, start = found
                            piece = head[start:]
                    samples = decoder.decode(piece)
                    if len(samples):
                        await play(samples)
                if decoder is not None and len(tail := decoder.flush()):
                    await play(tail)
            finally:
                reader.cancel()
    except SpeakerBusy as err:
        return text(f"Error: {err}\n", status=503)
    except StreamError as err:
        device.logs.system(f"transmit.cgi of {who.name} refused: {printable(str(err))}", "warning")
        return text(f"Error: {err}\n", status=400)
    return Response(status_code=204)


async def read_ahead(request: Request, pieces: asyncio.Queue[bytes | None]) -> None:
    """Take the body off the connection ahead of the speaker: a client that sends faster than
    real time and closes at once (ffmpeg does) has still sent all it wanted played. The queue's
    bound keeps TCP's back pressure for a long stream."""
    try:
        async for piece in request.stream():
            await pieces.put(piece)
    except ClientDisconnect:
        pass
    finally:
        await pieces.put(None)


ROUTES = (
    Endpoint(c.TRANSMIT, transmit, Role.OPERATOR, methods=("POST",), body_until_close=True),
)
