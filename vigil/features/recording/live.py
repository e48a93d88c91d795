"""Live view in the browser: each connected camera's video as fragmented MP4 for Media Source
Extensions, without transcoding (served by http_live.py).

The ingest's reader thread hands over every video access unit (`LiveStream.unit`). While no one
watches, a stream only keeps the access units since the latest key frame (references, no copy,
no muxing). When the first viewer comes they become fragments, and from then on each pass of
the reader hands its new frames to the event loop, where each frame is muxed once into its own
moof + mdat (vigil.footage.mp4.fragment: a frame leaves as soon as it is complete) and the same
bytes are queued for every viewer of that camera. A viewer starts with the init segment and the
fragments since the latest key frame, so the picture appears at once.

Decode times are the camera's RTP clock (90 kHz, unwrapped to 64 bits): the bytes are the same
for every viewer, whenever it came, and each sample tells which camera frame it is. A frame's
duration is known only when the next one arrives; until then the one before's is used (sending
the frame at once matters more than its exact length).

A viewer that cannot keep up (more than MAX_BACKLOG bytes queued) loses what is queued and goes
on at the next key frame, without slowing the others. When the camera's connection ends, every
viewer's stream ends (the page reconnects). At most MAX_VIEWERS watch the device at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator

from vigil.features.recording.const import LIVE_NOT_CONNECTED, LIVE_TOO_MANY_VIEWERS
from vigil.features.recording.rtp import AccessUnit, ParameterSets
from vigil.footage import mp4
from vigil.footage.h26x import avcc, h264_size, h265_size, hvcc, mime_codec

MAX_VIEWERS = 32  # live viewers on the whole device: each costs the camera's bit rate upstream
MAX_BACKLOG = 8 << 20  # bytes queued for one viewer before it skips to the next key frame
MAX_GOP_FRAMES = 600  # frames kept since the latest key frame (a camera with rare key frames)
DEFAULT_DURATION = 3000  # 90 kHz: a frame's length before any second frame tells (30 fps)
MAX_DURATION = 180000  # a longer step between frames is a pause, not a frame's length

Params = tuple[bytes, bytes, bytes]  # vps, sps, pps


class LiveRefused(Exception):
    """Why a camera cannot be watched now: an HTTP status and a message."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class Viewer:
    """One browser watching: the bytes queued for it, taken by `chunks()`."""

    def __init__(self) -> None:
        self._queued: list[bytes] = []
        self._size = 0
        self._ready = asyncio.Event()
        self._init: bytes | None = None  # the init segment this viewer has, None: it needs one
        self.ended = False
        self.skips = 0  # times it fell behind and went on at a key frame

    def send(self, init: bytes, data: bytes, key: bool) -> None:
        if self._init is not init:
            if not key:
                return  # a new init segment (or a new start after a skip) begins at a key frame
            data = init + data
            self._init = init
        if self._size + len(data) > MAX_BACKLOG:
            self._queued.clear()
            self._size = 0
            self._init = None
            self.skips += 1
            return
        self._queued.append(data)
        self._size += len(data)
        self._ready.set()

    def end(self) -> None:
        self.ended = True
        self._ready.set()

    async def chunks(self) -> AsyncIterator[bytes]:
        """What to send, as it comes, until the stream or the viewer ends."""
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self._queued:
                data = b"".join(self._queued)
                self._queued.clear()
                self._size = 0
                yield data
            if self.ended:
                return


class LiveStream:
    """One camera connection's video for live viewers. `unit` and `passed` are called by the
    ingest's reader thread; everything else runs on the event loop."""

    def __init__(self, source_id: str, codec: str, loop: asyncio.AbstractEventLoop) -> None:
        self.source_id = source_id
        self.codec = codec  # H264 | H265
        self.loop = loop
        self._lock = threading.Lock()
        self._gop: list[tuple[AccessUnit, Params]] = []  # reader side: since the latest key frame
        self._pending: list[tuple[AccessUnit, Params]] = []  # reader side: for the loop, while watched
        self._watched = False
        self._generation = 0  # a batch handed over before the viewers last changed from none is stale
        self.viewers: set[Viewer] = set()
        self.ended = False
        self.has_init = asyncio.Event()
        # Event loop side: what the viewers were sent.
        self.init = b""
        self.mime = ""
        self.size = (0, 0)
        self._params: Params | None = None
        self._fragments: list[bytes] = []  # since the latest key frame
        self._sequence = 0
        self._last: AccessUnit | None = None
        self._last_duration = DEFAULT_DURATION

    @property
    def watched(self) -> bool:
        return self._watched

    # -- reader thread ------------------------------------------------------------------
    def unit(self, unit: AccessUnit, params: ParameterSets) -> None:
        current = (params.vps, params.sps, params.pps)
        with self._lock:
            if unit.key:
                self._gop = [(unit, current)]
            elif self._gop and len(self._gop) < MAX_GOP_FRAMES:
                self._gop.append((unit, current))
            else:
                self._gop = []  # no key frame yet, or none for too long: a viewer waits for the next
                return
            if self._watched:
                self._pending.append((unit, current))

    def passed(self) -> None:
        """The reader's pass over this camera is done: hand its frames to the event loop."""
        if not self._pending:
            return
        with self._lock:
            units, self._pending = self._pending, []
            generation = self._generation
        with contextlib.suppress(RuntimeError):  # the loop closed while the device stops
            self.loop.call_soon_threadsafe(self._publish, units, generation)

    # -- event loop -----------------------------------------------------------------------
    def join(self) -> Viewer:
        if self.ended:
            raise LiveRefused(503, LIVE_NOT_CONNECTED, f"camera {self.source_id} is not connected")
        with self._lock:
            first = not self._watched
            if first:
                self._watched = True
                units = list(self._gop)
                self._pending = []
                generation = self._generation
        if first:
            self._reset()
            self._publish(units, generation)
        viewer = Viewer()
        if self._fragments:
            viewer.send(self.init, b"".join(self._fragments), True)
        self.viewers.add(viewer)
        return viewer

    def leave(self, viewer: Viewer) -> None:
        viewer.end()
        self.viewers.discard(viewer)
        if not self.viewers:
            self._unwatch()

    def end(self) -> None:
        """The camera's connection ended: so do the viewers' streams."""
        self.ended = True
        for viewer in self.viewers:
            viewer.end()
        self.viewers.clear()
        self._unwatch()

    def _unwatch(self) -> None:
        with self._lock:
            self._watched = False
            self._pending = []
            self._generation += 1
        self._reset()

    def _reset(self) -> None:
        self._fragments = []
        self._last = None
        self._last_duration = DEFAULT_DURATION

    def _publish(self, units: list[tuple[AccessUnit, Params]], generation: int) -> None:
        if generation != self._generation:
            return
        for n, (unit, params) in enumerate(units):
            if not all(params[1:]):
                continue  # no SPS/PPS yet: nothing a browser could decode
            if params != self._params:
                if not unit.key:
                    continue  # new parameter sets take effect at a key frame
                self._new_init(params)
            if self._last is not None and 0 < unit.timestamp - self._last.timestamp <= MAX_DURATION:
                self._last_duration = unit.timestamp - self._last.timestamp
            after = units[n + 1][0].timestamp - unit.timestamp if n + 1 < len(units) else 0
            duration = after if 0 < after <= MAX_DURATION else self._last_duration
            self._last = unit
            self._sequence += 1
            data = mp4.fragment(self._sequence, [mp4.TrackRun(1, unit.timestamp, [duration], [len(unit.data)],
                                                              [unit.key], [unit.data])])
            if unit.key:
                self._fragments = [data]
            else:
                self._fragments.append(data)
            for viewer in self.viewers:
                viewer.send(self.init, data, unit.key)

    def _new_init(self, params: Params) -> None:
        vps, sps, pps = params
        if self.codec == "H264":
            self.size = h264_size(sps)
            config = avcc(sps, pps)
        else:
            self.size = h265_size(sps)
            config = hvcc(vps, sps, pps)
        self._params = params
        self.init = mp4.init_segment([mp4.TrackInfo(1, "video", self.codec, 90000, config, *self.size)])
        self.mime = f'video/mp4; codecs="{mime_codec(self.codec, sps)}"'
        self.has_init.set()


class LiveStreams:
    """The live stream of every connected camera, and the device-wide viewer limit."""

    def __init__(self) -> None:
        self.streams: dict[str, LiveStream] = {}

    def connected(self, source_id: str, codec: str, loop: asyncio.AbstractEventLoop) -> LiveStream:
        self.disconnected(source_id)
        stream = self.streams[source_id] = LiveStream(source_id, codec, loop)
        return stream

    def disconnected(self, source_id: str) -> None:
        stream = self.streams.pop(source_id, None)
        if stream is not None:
            stream.end()

    @property
    def viewers(self) -> int:
        return sum(len(s.viewers) for s in self.streams.values())

    def watch(self, source_id: str, camera: str) -> tuple[LiveStream, Viewer]:
        stream = self.streams.get(source_id)
        if stream is None:
            raise LiveRefused(503, LIVE_NOT_CONNECTED, f"camera {camera} ({source_id}) is not connected")
        if self.viewers >= MAX_VIEWERS:
            raise LiveRefused(503, LIVE_TOO_MANY_VIEWERS, f"{MAX_VIEWERS} live viewers already watch this device: the limit")
        return stream, stream.join()
