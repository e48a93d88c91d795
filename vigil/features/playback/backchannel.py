"""The ONVIF audio backchannel on the RTSP server: a client that sends `Require:
www.onvif.org/ver20/backchannel` with its DESCRIBE of `/axis-media/media.amp` (the audio
query the ONVIF audio profile's stream URI gives) finds a `sendonly` G.711 track in the SDP
(PCMU, and PCMA), SETUPs it interleaved on the RTSP connection, PLAYs, and sends RTP: the speaker
plays it as it arrives, as a live stream of the player (player.py: it takes the speaker from a
clip; while another talks, the packets are dropped and the refusal is logged once)."""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass

from vigil.core.logs import Logs
from vigil.features.audio.live import AUDIO_KEYS
from vigil.features.playback.decode import StreamDecoder
from vigil.features.playback.player import Player, SpeakerBusy
from vigil.rtsp.mounts import BACKCHANNEL, Live, Outlet, Track

ENCODINGS = {0: "mulaw", 8: "alaw"}  # RTP payload types of G.711 at 8 kHz (RFC 3551)
QUEUE = 500  # packets held for the speaker (10 s of 20 ms packets): beyond, the client sends too fast


def rtp_payload(packet: bytes) -> tuple[int, bytes] | None:
    """(payload type, payload) of an RTP packet (RFC 3550 5.1), or None when it is none."""
    if len(packet) < 12 or packet[0] >> 6 != 2:
        return None
    count, extension, padding = packet[0] & 0x0F, packet[0] & 0x10, packet[0] & 0x20
    at = 12 + 4 * count
    if extension:
        if len(packet) < at + 4:
            return None
        at += 4 + 4 * struct.unpack("!H", packet[at + 2:at + 4])[0]
    end = len(packet) - (packet[-1] if padding and packet[-1] else 0)
    return (packet[1] & 0x7F, packet[at:end]) if at <= end else None


class BackchannelStream:
    """One client's backchannel: its packets into the speaker."""

    def __init__(self, player: Player, logs: Logs, name: str) -> None:
        self.player = player
        self.logs = logs
        self.name = name
        self.packets: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE)
        self.task = asyncio.get_running_loop().create_task(self._run())

    def receive(self, packet: bytes) -> None:
        with contextlib.suppress(asyncio.QueueFull):  # a client sending faster than real time loses the excess
            self.packets.put_nowait(packet)

    def stop(self) -> None:
        with contextlib.suppress(asyncio.QueueFull):
            self.packets.put_nowait(None)
        if self.packets.full():
            self.task.cancel()

    async def _run(self) -> None:
        decoders: dict[int, StreamDecoder] = {}
        try:
            async with self.player.live_stream() as play:
                self.logs.system(f"{self.name} talks through the speaker (ONVIF audio backchannel)")
                while (packet := await self.packets.get()) is not None:
                    found = rtp_payload(packet)
                    if found is None or found[0] not in ENCODINGS:
                        continue
                    kind, payload = found
                    decoder = decoders.setdefault(kind, StreamDecoder(ENCODINGS[kind], 8000))
                    samples = decoder.decode(payload)
                    if len(samples):
                        await play(samples)
                for decoder in decoders.values():
                    if len(tail := decoder.flush()):
                        await play(tail)
        except SpeakerBusy as err:
            self.logs.system(f"The audio backchannel of {self.name} is not played: {err}", "warning")


@dataclass(eq=False)
class BackchannelTrack(Live):
    player: Player
    logs: Logs
    media: str = "audio"
    payload_type: int = 0
    ssrc: int | None = None
    options: frozenset[str] = frozenset({BACKCHANNEL})

    def sdp(self) -> list[str]:
        return ["m=audio 0 RTP/AVP 0 8", "a=rtpmap:0 PCMU/8000", "a=rtpmap:8 PCMA/8000", "a=sendonly"]

    def rtp_info(self, outlet: Outlet) -> str:
        return ""

    def open(self, outlet: Outlet) -> BackchannelStream:
        return BackchannelStream(self.player, self.logs, outlet.name)


class BackchannelMount:
    """The provider of the backchannel track at `/axis-media/media.amp`, for the audio queries."""

    def __init__(self, player: Player, logs: Logs) -> None:
        self.player = player
        self.logs = logs

    def __call__(self, query: dict[str, str]) -> list[Track]:
        if set(query) - AUDIO_KEYS:
            return []
        return [BackchannelTrack(self.player, self.logs)]
