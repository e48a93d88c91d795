"""The microphone's live stream on the device's RTSP server: `/axis-media/media.amp?audio=1`
(also what the bare path gives, and `?event=on&audio=1` with the metadata), in the encoding of
`AudioSource.A0.AudioEncoding` or the request's `audiocodec=g711|aac|opus`.

One encoder per encoding runs while anyone plays it, fed by the shared microphone capture
(service.py); every client gets the same encoded frames with its own SSRC, sequence and
timestamp base (RTP per RFC 3550: PCMU per RFC 3551, AAC as mpeg4-generic AAC-hbr per RFC 3640,
Opus per RFC 7587), and an RTCP sender report with its first packet and every few seconds after,
which maps its RTP time onto wall-clock (NTP) time for players that synchronise."""

from __future__ import annotations

import logging
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

import av
import numpy as np

from vigil.features.audio.const import ENCODINGS
from vigil.features.audio.service import AudioService
from vigil.hal.audio import RATE, AudioError
from vigil.rtsp.mounts import Live, Outlet, Track
from vigil.rtsp.protocol import RtspError, rtcp_sender_report

log = logging.getLogger("vigil.audio")

AUDIO_KEYS = {"audio", "audiocodec"}  # a query of only these (or none) is for the microphone
REPORT_INTERVAL = 5.0  # seconds between RTCP sender reports
_HEADER = struct.Struct("!BBHII")


@dataclass(frozen=True)
class Codec:
    name: str  # as the parameter says it
    rtp_name: str
    clock: int  # RTP clock rate = the rate encoded
    payload_type: int
    av_name: str
    bit_rate: int = 0

    def rtpmap(self) -> str:
        channels = "/2" if self.rtp_name == "opus" else ""  # RFC 7587: opus is always announced as 2 channels
        return f"a=rtpmap:{self.payload_type} {self.rtp_name}/{self.clock}{channels}"


CODECS = {
    "g711": Codec("g711", "PCMU", 8000, 0, "pcm_mulaw"),
    "aac": Codec("aac", "MPEG4-GENERIC", 16000, 97, "aac", 32000),
    "opus": Codec("opus", "opus", 48000, 98, "libopus", 32000),
}
assert tuple(CODECS) == ENCODINGS


class Encoder:
    """Mono 48 kHz blocks in, the codec's frames out with their duration in RTP clock ticks."""

    def __init__(self, codec: Codec) -> None:
        ctx = av.CodecContext.create(codec.av_name, "w")
        ctx.sample_rate = codec.clock
        ctx.layout = "mono"
        ctx.format = ctx.codec.audio_formats[0].name
        if codec.bit_rate:
            ctx.bit_rate = codec.bit_rate
        ctx.open()
        self.context = ctx
        self.resampler = av.AudioResampler(format=ctx.format.name, layout="mono", rate=codec.clock,
                                           frame_size=ctx.frame_size or codec.clock // 50)  # PCM: 20 ms a packet
        self._pts = 0

    @property
    def config(self) -> bytes:
        """The AAC AudioSpecificConfig (for the SDP's config=)."""
        return bytes(self.context.extradata or b"")

    def encode(self, block: np.ndarray) -> list[tuple[bytes, int]]:
        frame = av.AudioFrame.from_ndarray(block.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = RATE
        out: list[tuple[bytes, int]] = []
        for piece in self.resampler.resample(frame):
            piece.pts = self._pts
            self._pts += piece.samples
            for packet in self.context.encode(piece):
                out.append((bytes(packet), piece.samples))
        return out


def sdp_of(codec: Codec) -> list[str]:
    lines = [f"m=audio 0 RTP/AVP {codec.payload_type}", codec.rtpmap()]
    if codec.name == "aac":
        config = Encoder(codec).config.hex().upper()
        lines.append(f"a=fmtp:{codec.payload_type} streamtype=5;profile-level-id=15;mode=AAC-hbr;config={config};"
                     f"sizelength=13;indexlength=3;indexdeltalength=3")
    elif codec.name == "opus":
        lines.append(f"a=fmtp:{codec.payload_type} sprop-stereo=0")
    lines.append("a=recvonly")
    return lines


def payload_of(codec: Codec, frame: bytes) -> bytes:
    if codec.name == "aac":  # one AU: the AU-headers-length (16 bits) and a header of size (13) and index (3)
        return struct.pack("!HH", 16, len(frame) << 3) + frame
    return frame


@dataclass(eq=False)
class AudioClient:
    live: LiveAudio
    outlet: Outlet
    start: int  # the stream's RTP time (ticks) when this client joined
    packets: int = 0
    octets: int = 0
    next_report: float = 0.0

    def stop(self) -> None:
        self.live.remove(self)


@dataclass(eq=False)
class LiveAudio:
    """One encoding of the microphone for every client that plays it."""

    service: AudioService
    codec: Codec
    wall_clock: Callable[[], float]  # seconds since 1970, for the sender reports
    monotonic: Callable[[], float]
    clients: list[AudioClient] = field(default_factory=list)
    ticks: int = 0  # RTP clock ticks encoded since the encoder started
    encoder: Encoder | None = None

    def add(self, outlet: Outlet) -> AudioClient:
        if self.encoder is None or self.on_block not in self.service.listeners:
            self.encoder = Encoder(self.codec)
            try:
                self.service.listen(self.on_block)
            except AudioError as err:  # turned off between DESCRIBE and PLAY: the client hears nothing
                log.warning("live audio for %s: %s", outlet.name, err)
        client = AudioClient(self, outlet, self.ticks)
        self.clients.append(client)
        self.service.network_streams += 1
        return client

    def remove(self, client: AudioClient) -> None:
        if client in self.clients:
            self.clients.remove(client)
            self.service.network_streams -= 1
        if not self.clients:
            self.service.unlisten(self.on_block)
            self.encoder = None

    def on_block(self, block: np.ndarray) -> None:
        if self.encoder is None:
            return
        for frame, duration in self.encoder.encode(block):
            payload = payload_of(self.codec, frame)
            for client in list(self.clients):
                self._send(client, payload)
            self.ticks += duration

    def _send(self, client: AudioClient, payload: bytes) -> None:
        outlet = client.outlet
        if outlet.closed:
            self.remove(client)
            return
        timestamp = (outlet.ts_base + self.ticks - client.start) & 0xFFFFFFFF
        marker = 0x80 if client.packets == 0 else 0
        packet = _HEADER.pack(0x80, marker | self.codec.payload_type, outlet.seq, timestamp, outlet.ssrc) + payload
        if not outlet.send([packet]):
            return  # a congested client loses this frame; audio goes on with the next
        outlet.seq = (outlet.seq + 1) & 0xFFFF
        client.packets += 1
        client.octets += len(payload)
        now = self.monotonic()
        if now >= client.next_report:
            client.next_report = now + REPORT_INTERVAL
            outlet.send_control([self.sender_report(outlet.ssrc, timestamp, client.packets, client.octets)])

    def sender_report(self, ssrc: int, timestamp: int, packets: int, octets: int) -> bytes:
        """An RTCP SR (RFC 3550 6.4.1) without report blocks: this wall-clock moment is `timestamp`."""
        return rtcp_sender_report(ssrc, self.wall_clock(), timestamp, packets, octets)


@dataclass(eq=False)
class AudioTrack(Live):
    """The microphone's track of a presentation, for the RTSP server."""

    live: LiveAudio
    media: str = "audio"
    ssrc: int | None = None  # one per session

    @property
    def payload_type(self) -> int:
        return self.live.codec.payload_type

    def sdp(self) -> list[str]:
        return sdp_of(self.live.codec)

    def rtp_info(self, outlet: Outlet) -> str:
        return f"seq={outlet.seq};rtptime={outlet.ts_base}"

    def open(self, outlet: Outlet) -> AudioClient:
        return self.live.add(outlet)


class LiveAudioMount:
    """The provider of the `/axis-media/media.amp` mount for audio (see the module docstring)."""

    def __init__(self, service: AudioService, wall_clock: Callable[[], float], monotonic: Callable[[], float]) -> None:
        self.service = service
        self.lives = {name: LiveAudio(service, codec, wall_clock, monotonic) for name, codec in CODECS.items()}

    def __call__(self, query: dict[str, str]) -> list[Track]:
        audio = query.get("audio")
        if audio not in (None, "0", "1"):
            raise RtspError(400, "audio is 0 or 1")
        if audio == "0" or "camera" in query or (audio is None and set(query) - AUDIO_KEYS):
            return []  # a query for another stream only (event=on) asks for audio with audio=1
        name = query.get("audiocodec", self.service.encoding)
        if name not in CODECS:
            raise RtspError(400, f"audiocodec is one of {', '.join(CODECS)}")
        if not self.service.input_enabled:
            raise RtspError(503, "the audio input is turned off (Audio > Device settings)")
        return [AudioTrack(self.lives[name])]
