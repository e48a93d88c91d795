"""Audio files and streams into the speaker's samples (mono int16 at the hardware's RATE), with
PyAV: a clip is checked by decoding it whole before it is stored (`probe`), and decoded again
block by block while it plays (`blocks`), so that a long clip starts at once and never sits in
memory decoded. `Mulaw`/`Pcm` turn the raw bytes of a live stream (transmit.cgi, the RTSP
backchannel) into samples as they arrive."""

from __future__ import annotations

import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vigil.features.playback import const as c
from vigil.hal.audio import RATE

# What each clip format may hold (the manual's "Can't upload media clip" and the VAPIX page):
# the container PyAV finds -> the codecs it may carry.
CODECS = {
    "au": {"pcm_mulaw", "pcm_alaw", "pcm_s16be", "pcm_s8", "pcm_s24be", "pcm_s32be", "pcm_f32be"},
    "wav": {"pcm_s16le", "pcm_u8", "pcm_s24le", "pcm_s32le", "pcm_f32le", "pcm_mulaw", "pcm_alaw", "mp3",
            "mp3float"},
    "mp3": {"mp3", "mp3float"},
    "ogg": {"opus", "vorbis"},
}
EXTENSIONS = {"au": "au", "wav": "wav", "mp3": "mp3", "opus": "opus", "vorbis": "ogg"}
MIN_RATE, MAX_RATE = 8000, 48000
BLOCK_SAMPLES = RATE // 20  # 50 ms handed to the speaker at a time
TRUNCATED_SHARE = 0.9  # decoded less than this share of what the header announces: the file is cut short


class ClipError(ValueError):
    """The file is no clip this device plays; the text says why, for the user."""


@dataclass(frozen=True)
class ClipInfo:
    format: str  # au | wav | mp3 | opus | vorbis
    codec: str
    rate: int
    channels: int
    seconds: float

    @property
    def extension(self) -> str:
        return EXTENSIONS[self.format]


def _open(data: bytes | Path) -> av.container.InputContainer:
    source = io.BytesIO(data) if isinstance(data, bytes) else str(data)
    try:
        return av.open(source, "r")
    except (av.FFmpegError, UnicodeDecodeError, ValueError):
        raise ClipError("the file is not audio in a format this device plays (.au, .mp3, .opus, .vorbis, "
                        ".wav)") from None


def declared_bytes(data: bytes, kind: str) -> tuple[int, int] | None:
    """(audio bytes the header of a .wav or .au file announces, bytes it holds), when it says."""
    if kind == "au" and len(data) >= 12:
        offset, size = int.from_bytes(data[4:8], "big"), int.from_bytes(data[8:12], "big")
        return (size, len(data) - offset) if size != 0xFFFFFFFF else None
    if kind == "wav":
        at = 12
        while at + 8 <= len(data):
            chunk, size = data[at:at + 4], int.from_bytes(data[at + 4:at + 8], "little")
            if chunk == b"data":
                return (size, len(data) - at - 8) if size not in (0, 0xFFFFFFFF) else None
            at += 8 + size + (size & 1)
    return None


def probe(data: bytes) -> ClipInfo:
    """What `data` holds, after decoding all of it: ClipError when it is no playable clip (not
    audio, a format or codec the device does not play, a rate outside 8-48 kHz, cut short, silent
    of samples, or longer than MAX_SECONDS)."""
    with _open(data) as container:
        kind = container.format.name.split(",")[0]
        if kind not in CODECS or not container.streams.audio:
            raise ClipError(f"the format {kind!r} is not supported: use .au, .mp3, .opus, .vorbis or .wav")
        stream = container.streams.audio[0]
        announced_bytes = declared_bytes(data, kind)
        if announced_bytes is not None and announced_bytes[1] < announced_bytes[0]:
            raise ClipError(f"the file is cut short: its header announces {announced_bytes[0]} bytes of audio, "
                            f"it holds {announced_bytes[1]}")
        codec = stream.codec_context.codec.name
        if codec not in CODECS[kind]:
            raise ClipError(f"{kind} files with {codec} audio are not supported")
        rate = stream.codec_context.sample_rate
        if not MIN_RATE <= rate <= MAX_RATE:
            raise ClipError(f"the sample rate {rate} Hz is outside 8 to 48 kHz")
        channels = stream.codec_context.channels
        decoded = 0
        try:
            for frame in container.decode(stream):
                decoded += frame.samples
                if decoded > c.MAX_SECONDS * rate:
                    raise ClipError(f"the clip is longer than {c.MAX_SECONDS} seconds")
        except av.FFmpegError as err:
            raise ClipError(f"the audio cannot be decoded ({err.strerror or 'damaged data'}): the file is "
                            f"damaged or cut short") from None
        if decoded == 0:
            raise ClipError("the file holds no audio samples")
        announced = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        seconds = decoded / rate
        if announced and seconds < announced * TRUNCATED_SHARE - 0.05:
            raise ClipError(f"the file is cut short: its header announces {announced:.2f} s, it holds {seconds:.2f} s")
        fmt = codec if kind == "ogg" else kind
        return ClipInfo(fmt, codec, rate, channels, seconds)


def blocks(path: Path, least: int = BLOCK_SAMPLES) -> Iterator[np.ndarray]:
    """The clip at `path` as mono samples at RATE, in blocks of at least `least` samples (the last
    may be shorter, and the first is one frame, so that the clip starts at once): a few frames decoded at once cost a fraction of one frame decoded per
    wake-up, and the speaker's queue holds them all the same."""
    pending: list[np.ndarray] = []
    count, started = 0, False
    with _open(path) as container:
        stream = container.streams.audio[0]
        resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        for frame in itertools.chain(container.decode(stream), [None]):  # None: what the resampler holds back
            for out in resampler.resample(frame):
                pending.append(out.to_ndarray().reshape(-1))
                count += out.samples
                if count >= least or len(pending) == 1 and not started:  # the first frame sounds at once
                    yield np.concatenate(pending)
                    pending, count, started = [], 0, True
    if pending:
        yield np.concatenate(pending)


def _mulaw_table() -> np.ndarray:
    """G.711 µ-law byte -> linear sample."""
    u = ~np.arange(256, dtype=np.uint8)
    sign = u & 0x80
    exponent = (u >> 4) & 0x07
    mantissa = (u & 0x0F).astype(np.int32)
    magnitude = (((mantissa << 3) + 0x84) << exponent) - 0x84
    return np.where(sign != 0, -magnitude, magnitude).astype(np.int16)


def _alaw_table() -> np.ndarray:
    """G.711 A-law byte -> linear sample."""
    a = np.arange(256, dtype=np.uint8) ^ 0x55
    exponent = ((a >> 4) & 0x07).astype(np.int32)
    mantissa = (a & 0x0F).astype(np.int32)
    magnitude = np.where(exponent == 0, (mantissa << 4) + 8, ((mantissa << 4) + 0x108) << np.maximum(exponent - 1, 0))
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


MULAW = _mulaw_table()
ALAW = _alaw_table()


class StreamDecoder:
    """Raw bytes of a live stream (8-bit G.711 µ-law or A-law, or 16-bit little- or big-endian PCM, mono
    at `rate`) into samples at RATE, as they arrive in pieces of any size. Pieces are held until
    they make BLOCK_SAMPLES' worth (50 ms): a client that writes a few milliseconds at a time
    would otherwise cost a resampling and a hand-over each; `flush` gives what is left at the end."""

    def __init__(self, encoding: str, rate: int) -> None:
        if encoding not in ("mulaw", "alaw", "s16le", "s16be"):
            raise ValueError(f"unknown stream encoding {encoding}")
        self.encoding = encoding
        self.rate = rate
        self.width = 2 if encoding.startswith("s16") else 1
        self.least = rate * BLOCK_SAMPLES // RATE * self.width  # bytes held before decoding
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self._held = b""

    def decode(self, data: bytes) -> np.ndarray:
        self._held += data
        if len(self._held) < self.least:
            return np.zeros(0, np.int16)
        return self.flush()

    def flush(self) -> np.ndarray:
        usable = len(self._held) - len(self._held) % self.width
        data, self._held = self._held[:usable], self._held[usable:]
        if self.encoding.startswith("s16"):
            samples = np.frombuffer(data, "<i2" if self.encoding == "s16le" else ">i2").astype(np.int16)
        else:
            samples = (MULAW if self.encoding == "mulaw" else ALAW)[np.frombuffer(data, np.uint8)]
        if len(samples) == 0 or self.rate == RATE:
            return samples
        frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate = self.rate
        out = [piece.to_ndarray().reshape(-1) for piece in self.resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, np.int16)


class PacketDecoder:
    """Packets of a framed codec (G.722, Opus: one RTP payload each) into samples at RATE, with
    the same `decode`/`flush` as StreamDecoder. A packet the codec cannot decode is dropped (the
    far end's next one plays): one damaged datagram must not end a call."""

    def __init__(self, av_name: str, rate: int) -> None:
        self.context = av.CodecContext.create(av_name, "r")
        self.context.sample_rate = rate
        self.context.layout = "mono"
        self.resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
        self.dropped = 0

    def decode(self, data: bytes) -> np.ndarray:
        try:
            frames = self.context.decode(av.Packet(data))
        except av.FFmpegError:
            self.dropped += 1
            return np.zeros(0, np.int16)
        out = [piece.to_ndarray().reshape(-1) for frame in frames for piece in self.resampler.resample(frame)]
        return np.concatenate(out) if out else np.zeros(0, np.int16)

    def flush(self) -> np.ndarray:
        out = [piece.to_ndarray().reshape(-1) for piece in self.resampler.resample(None)]
        return np.concatenate(out) if out else np.zeros(0, np.int16)
