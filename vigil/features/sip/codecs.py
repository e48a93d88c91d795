"""The audio codecs of SIP calls: G.711 µ-law and A-law (RFC 3551), G.722 (RFC 3551: sampled at
16 kHz, its RTP clock and SDP rate 8000 for historical reasons) and Opus (RFC 7587: 48 kHz clock,
announced as two channels, sent mono). The settings' codec priority list names them; each has
its SDP rtpmap, the payload type the device offers, an encoder from the microphone's 48 kHz
blocks to RTP payloads with their clock ticks, and a decoder from payloads to the speaker's
samples. G.711 uses table look-ups (the common call, kept cheap); G.722 and Opus use PyAV
(FFmpeg's g722 and libopus)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from vigil.features.audio.live import Codec as LiveCodec
from vigil.features.audio.live import Encoder as AvEncoder
from vigil.features.playback.decode import ALAW, MULAW, PacketDecoder, StreamDecoder
from vigil.hal.audio import RATE


@dataclass(frozen=True)
class SipCodec:
    name: str  # as the codec priority list names it
    encoding: str  # the SDP encoding name, upper case (how sdp.parse gives it)
    rtpmap: str  # what follows the payload type in the device's a=rtpmap
    clock: int  # RTP clock rate
    rate: int  # the rate the codec samples at
    payload_type: int  # static, or the dynamic one the device offers
    fmtp: str = ""
    av_name: str = ""  # PyAV's codec; empty: G.711 by table

    @property
    def ticks_per_sample(self) -> float:
        return self.clock / self.rate


CODECS = {
    "pcmu": SipCodec("pcmu", "PCMU", "PCMU/8000", 8000, 8000, 0),
    "pcma": SipCodec("pcma", "PCMA", "PCMA/8000", 8000, 8000, 8),
    "g722": SipCodec("g722", "G722", "G722/8000", 8000, 16000, 9, av_name="g722"),
    "opus": SipCodec("opus", "OPUS", "opus/48000/2", 48000, 48000, 111, "useinbandfec=1;stereo=0;sprop-stereo=0",
                     "libopus"),
}
BY_ENCODING = {codec.encoding: codec for codec in CODECS.values()}
STATIC = {codec.payload_type: codec.encoding for codec in CODECS.values() if codec.payload_type < 96}
OPUS_BIT_RATE = 32000
PACKET_SECONDS = 0.02  # ptime 20 ms


def _g711_encoder(table: np.ndarray) -> np.ndarray:
    """int16 (as uint16 index) -> the G.711 code whose decoded value is nearest."""
    order = np.argsort(table)
    values = table[order].astype(np.int32)
    x = np.arange(-32768, 32768, dtype=np.int32)
    at = np.clip(np.searchsorted(values, x), 1, 255)
    nearer = np.where(np.abs(values[at - 1] - x) <= np.abs(values[at] - x), at - 1, at)
    codes = order[nearer].astype(np.uint8)
    return np.roll(codes, -32768)  # index by the uint16 view of the sample


G711_TABLES = {"pcmu": _g711_encoder(MULAW), "pcma": _g711_encoder(ALAW)}


def g711_encode(samples: np.ndarray, codec: str) -> bytes:
    return G711_TABLES[codec][samples.astype(np.int16).view(np.uint16)].tobytes()


class G711Encoder:
    """48 kHz periods -> 20 ms G.711 payloads: each 6 samples averaged (a crude low-pass before
    decimation), then one table look-up for the whole period, cut into packets (few numpy calls
    per period: after a wake-up, each costs far more than its arithmetic)."""

    def __init__(self, codec: SipCodec) -> None:
        self.codec = codec
        self.factor = RATE // codec.rate
        self.packet = int(codec.rate * PACKET_SECONDS)
        self.table = G711_TABLES[codec.name]
        self.pending = b""  # encoded, not yet a whole packet

    def encode(self, block: np.ndarray) -> list[tuple[bytes, int]]:
        usable = len(block) - len(block) % self.factor
        narrow = block[:usable].reshape(-1, self.factor).sum(axis=1, dtype=np.int32) // self.factor
        pending = self.pending + self.table[narrow.astype(np.int16).view(np.uint16)].tobytes()
        whole = len(pending) - len(pending) % self.packet
        self.pending = pending[whole:]
        return [(pending[at:at + self.packet], self.packet) for at in range(0, whole, self.packet)]


class FramedEncoder:
    """48 kHz blocks -> 20 ms G.722 or Opus payloads (PyAV), with their RTP clock ticks."""

    def __init__(self, codec: SipCodec) -> None:
        self.codec = codec
        self.encoder = AvEncoder(LiveCodec(codec.name, codec.encoding, codec.rate, codec.payload_type, codec.av_name,
                                           OPUS_BIT_RATE if codec.name == "opus" else 0))

    def encode(self, block: np.ndarray) -> list[tuple[bytes, int]]:
        return [(payload, int(samples * self.codec.ticks_per_sample)) for payload, samples in self.encoder.encode(block)]


def encoder_for(codec: SipCodec) -> G711Encoder | FramedEncoder:
    return FramedEncoder(codec) if codec.av_name else G711Encoder(codec)


def decoder_for(codec: SipCodec) -> StreamDecoder | PacketDecoder:
    if codec.av_name:
        return PacketDecoder(codec.av_name, codec.rate)
    return StreamDecoder("mulaw" if codec.name == "pcmu" else "alaw", codec.rate)
