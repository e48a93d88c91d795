"""Snapshots of the recorded cameras: a JPEG of a camera's latest key frame.

The ingest's reader thread hands over each key frame as it arrives (`Snapshots.seen`: a
reference to the access unit, no copy, no decoding). A JPEG is made only when asked for: the
key frame is decoded with PyAV and encoded as JPEG in a worker thread. The result is kept for
that key frame and those options, and requests that come while it is being made wait for the
same work, so any number of viewers of one key frame cost one decode. A newer key frame
replaces the cache of its camera.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from fractions import Fraction

from vigil.features.recording.rtp import AccessUnit
from vigil.footage.h26x import h264_size, h265_size

log = logging.getLogger("vigil.recording")

DECODERS = {"H264": "h264", "H265": "hevc"}
START_CODE = b"\x00\x00\x00\x01"
MAX_OPTIONS = 8  # JPEGs of different sizes or qualities kept per key frame
DEFAULT_COMPRESSION = 30  # as Image.I0.Appearance.Compression on Axis devices


class NoKeyFrame(LookupError):
    """The camera has sent no key frame since the device started (or it was removed)."""


class SnapshotFailed(RuntimeError):
    """The key frame could not be decoded or encoded."""


@dataclass(frozen=True, slots=True)
class KeyFrame:
    serial: int  # one per key frame seen, across cameras
    codec: str  # H264 | H265
    params: tuple[bytes, bytes, bytes]  # vps, sps, pps in force
    unit: AccessUnit  # 4-byte length-prefixed NAL units
    arrived: float  # device clock


@dataclass(frozen=True, slots=True)
class JpegOptions:
    width: int | None = None  # None: the key frame's own size
    height: int | None = None
    compression: int = DEFAULT_COMPRESSION  # VAPIX 0 (best quality) .. 100 (smallest)


@dataclass
class _Cached:
    serial: int
    jpegs: dict[JpegOptions, asyncio.Task[bytes]] = field(default_factory=dict)


def annex_b(frame: KeyFrame) -> bytes:
    """The key frame with its parameter sets as one Annex B byte stream, as a decoder takes it."""
    parts = [START_CODE + nal for nal in frame.params if nal]
    data, offset = frame.unit.data, 0
    while offset + 4 <= len(data):
        size = int.from_bytes(data[offset:offset + 4], "big")
        parts.append(START_CODE + data[offset + 4:offset + 4 + size])
        offset += 4 + size
    return b"".join(parts)


def qscale(compression: int) -> int:
    """VAPIX compression 0..100 as the JPEG encoder's quantiser scale 2 (finest) .. 31."""
    return 2 + round(29 * compression / 100)


def encode_jpeg(frame: KeyFrame, options: JpegOptions) -> tuple[bytes, int, int]:
    """Worker thread: decode the key frame and encode it as JPEG; (jpeg, width, height)."""
    import av  # deferred: PyAV is loaded when the first snapshot is made

    try:
        decoder = av.CodecContext.create(DECODERS[frame.codec], "r")
        pictures = decoder.decode(av.Packet(annex_b(frame))) + decoder.decode(None)
        if not pictures:
            raise SnapshotFailed("the key frame does not decode to a picture")
        picture = pictures[0]
        width, height = options.width or picture.width, options.height or picture.height
        encoder = av.CodecContext.create("mjpeg", "w")
        encoder.width, encoder.height = width, height
        encoder.pix_fmt = "yuvj420p"
        encoder.time_base = Fraction(1, 25)
        scale = str(qscale(options.compression))
        encoder.options = {"qmin": scale, "qmax": scale}
        scaled = picture.reformat(width=width, height=height, format="yuvj420p")
        jpeg = b"".join(bytes(p) for p in [*encoder.encode(scaled), *encoder.encode(None)])
    except (av.FFmpegError, ValueError) as err:
        raise SnapshotFailed(f"the key frame does not decode or encode: {err}") from None
    return jpeg, width, height


class Snapshots:
    """The latest key frame of every camera, and the JPEGs made of them."""

    def __init__(self) -> None:
        self.latest: dict[str, KeyFrame] = {}
        self.encodes = 0  # JPEGs made since start (a cache hit makes none)
        self._serials = itertools.count(1)
        self._cache: dict[str, _Cached] = {}

    def seen(self, source_id: str, codec: str, params: tuple[bytes, bytes, bytes], unit: AccessUnit,
             arrived: float) -> None:
        """Reader thread: the camera's newest key frame (one dictionary store: no lock needed)."""
        if codec in DECODERS and params[1] and params[2]:
            self.latest[source_id] = KeyFrame(next(self._serials), codec, params, unit, arrived)

    def forget(self, source_id: str) -> None:
        self.latest.pop(source_id, None)
        self._cache.pop(source_id, None)

    def size(self, source_id: str) -> tuple[int, int] | None:
        """The picture size of the camera's latest key frame, or None before the first."""
        frame = self.latest.get(source_id)
        if frame is None:
            return None
        return (h264_size if frame.codec == "H264" else h265_size)(frame.params[1])

    async def jpeg(self, source_id: str, options: JpegOptions = JpegOptions()) -> tuple[bytes, KeyFrame]:
        """A JPEG of the camera's latest key frame; NoKeyFrame or SnapshotFailed."""
        frame = self.latest.get(source_id)
        if frame is None:
            raise NoKeyFrame(source_id)
        cached = self._cache.get(source_id)
        if cached is None or cached.serial != frame.serial:
            cached = self._cache[source_id] = _Cached(frame.serial)
        task = cached.jpegs.get(options)
        if task is None:
            while len(cached.jpegs) >= MAX_OPTIONS:
                del cached.jpegs[next(iter(cached.jpegs))]
            # A task of its own: a requester that goes away does not cancel the others' JPEG.
            task = cached.jpegs[options] = asyncio.create_task(self._encode(frame, options))
            task.add_done_callback(lambda done: self._failed(source_id, options, done))
        return await asyncio.shield(task), frame

    async def _encode(self, frame: KeyFrame, options: JpegOptions) -> bytes:
        jpeg, _width, _height = await asyncio.to_thread(encode_jpeg, frame, options)
        self.encodes += 1
        return jpeg

    def _failed(self, source_id: str, options: JpegOptions, task: asyncio.Task[bytes]) -> None:
        """A JPEG that could not be made is not kept: the next request tries again."""
        if task.cancelled() or task.exception() is not None:
            cached = self._cache.get(source_id)
            if cached is not None and cached.jpegs.get(options) is task:
                del cached.jpegs[options]
