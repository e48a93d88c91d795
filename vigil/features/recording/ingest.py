"""Camera ingest: one reader thread for every connected camera.

The reader wakes every few tens of milliseconds and drains each camera socket with large
non-blocking reads, so a 4 Mbit/s stream costs a handful of system calls per pass instead of
one per RTP packet; reassembly into access units happens right there, and complete GOPs go
to the recorder. Connecting, reconnecting with back-off and the connection events run on
the event loop; the handshake itself runs in a worker thread.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vigil.features.recording.rtp import (
    AacDepacketizer,
    AccessUnit,
    Depacketizer,
    H264Depacketizer,
    H265Depacketizer,
    InterleavedParser,
    ParameterSets,
    RawAudioDepacketizer,
)
from vigil.features.recording.rtsp_client import Session, Track
from vigil.footage import h26x

log = logging.getLogger("vigil.recording")
# Seconds between reader passes: longer passes mean fewer, larger reads (measured: 0.2 s costs
# about a quarter less CPU than 0.04 s); the kernel socket buffer holds the difference.
PASS_INTERVAL = 0.2
# While someone watches a camera live, passes come this often: a trade of latency for CPU, since
# each pass hands its frames to the event loop and on to the viewers (the first viewer's cost is
# almost all in these passes: at 0.2 s it costs 0.17 % of a core). Measured (bench/live.py,
# 1080p30, a shared 2-core machine): 0.02 s adds 13 ms median / 35-84 ms p99 of latency for
# 1.7-1.9 % of a core for the first viewer; 0.066 s adds 43 / 75 ms for 0.6 %; 0.1 s adds
# 65 / 130 ms for 0.5 %. Each further viewer of a camera costs about 0.1-0.2 %. 0.1 s keeps both
# goals (p99 <= 150 ms added, <= 0.5 % per viewer); on a recorder whose cameras are all watched
# the CPU adds up per camera, the latency does not.
LIVE_PASS_INTERVAL = 0.1
SILENCE_LIMIT = 5.0  # a camera that sends nothing for this long is lost
READ_CHUNK = 1 << 20
FRAGMENT_MIN = 81000  # 0.9 s in the 90 kHz video clock
FRAGMENT_MAX = 90000


@dataclass
class Gop:
    """About one second of a camera: a key frame, the frames up to the next, and the audio between."""

    video: list[AccessUnit]
    durations: list[int]  # per video frame, in the 90 kHz clock
    audio: list[AccessUnit]
    audio_durations: list[int]
    arrived: float  # device clock when the GOP's key frame arrived
    params: tuple[bytes, bytes, bytes]  # vps, sps, pps in force


class UnitTap(Protocol):
    """Where a camera's video access units go as they are completed, for live view in the browser."""

    def unit(self, unit: AccessUnit, params: ParameterSets) -> None:
        """Called by the reader thread with each video access unit and the parameter sets in force."""
        ...

    def passed(self) -> None:
        """Called by the reader thread at the end of each pass over the camera."""
        ...


class LiveTap(Protocol):
    """Where a camera's video RTP packets go as they came, for the live relay."""

    @property
    def watched(self) -> bool:
        """Read by the reader thread each pass: someone watches live (RTSP or a browser), so
        the passes come more often."""
        ...

    @property
    def relayed(self) -> bool:
        """Read by the reader thread for each packet: packets are collected only while true
        (RTSP relay clients; browsers get frames through the UnitTap instead)."""
        ...

    def deliver_threadsafe(self, packets: list[bytes]) -> None:
        """Called by the reader thread with one pass's packets, in order."""
        ...


@dataclass
class Connection:
    """A playing camera session as the reader thread sees it."""

    source_id: str
    session: Session
    on_gop: Callable[[Connection, Gop], None]
    on_lost: Callable[[Connection, str], None]
    clock: Callable[[], float]
    params: ParameterSets = field(default_factory=ParameterSets)
    video: Track | None = None
    audio: Track | None = None
    parser: InterleavedParser | None = None
    last_data: float = 0.0
    next_keepalive: float = 0.0
    bytes_in: int = 0
    frames: int = 0
    _gop_video: list[AccessUnit] = field(default_factory=list)
    _gop_audio: list[AccessUnit] = field(default_factory=list)
    _gop_arrived: float = 0.0
    _audio_last: int | None = None
    _audio_pending_duration: int = 0
    closed: bool = False
    _started: bool = False
    live: LiveTap | None = None
    units: UnitTap | None = None
    # Each key frame as it arrives, with the parameter sets in force (the snapshots' latest).
    on_key: Callable[[str, str, tuple[bytes, bytes, bytes], AccessUnit, float], None] | None = None
    _live_packets: list[bytes] = field(default_factory=list)

    def setup(self, leftover: bytes) -> None:
        channels: dict[int, Depacketizer] = {}
        for track in self.session.tracks:
            if track.media == "video" and self.video is None:
                self.video = track
                for nal in h26x.sdp_parameter_sets(track.fmtp):
                    self._sdp_param(track.codec, nal)
                self.params.changed = False
                depacketizer = (H264Depacketizer if track.codec == "H264" else H265Depacketizer)(
                    self._on_video, self.params)
                depacketizer.on_packet = self._on_video_packet
                channels[track.interleaved] = depacketizer
            elif track.media == "audio" and self.audio is None:
                self.audio = track
                channels[track.interleaved] = (AacDepacketizer(self._on_audio) if track.codec == "MPEG4-GENERIC"
                                               else RawAudioDepacketizer(self._on_audio))
        self.parser = InterleavedParser(channels)
        now = time.monotonic()
        self.last_data = now
        self.next_keepalive = now + max(self.session.timeout / 2, 5)
        if leftover:
            self.parser.feed(leftover)

    def _sdp_param(self, codec: str, nal: bytes) -> None:
        if not nal:
            return
        if codec == "H264":
            kind = {7: "sps", 8: "pps"}.get(nal[0] & 0x1F)
        else:
            kind = {32: "vps", 33: "sps", 34: "pps"}.get((nal[0] >> 1) & 0x3F)
        if kind:
            self.params.update(kind, nal)

    @property
    def watched(self) -> bool:
        return self.live is not None and self.live.watched

    def _on_video_packet(self, data: memoryview) -> None:
        if self.live is not None and self.live.relayed:
            self._live_packets.append(bytes(data))

    # -- access units ------------------------------------------------------------------
    def _on_video(self, unit: AccessUnit) -> None:
        self.frames += 1
        if self.units is not None:
            self.units.unit(unit, self.params)
        if unit.key and self.on_key is not None and self.video is not None:
            params = self.params
            self.on_key(self.source_id, self.video.codec, (params.vps, params.sps, params.pps), unit, self.clock())
        if self._gop_video:
            # A fragment ends at a key frame once it holds most of a second, or after a second
            # whatever comes: long GOPs still reach the disk about every second.
            held = unit.timestamp - self._gop_video[0].timestamp
            if (unit.key and held >= FRAGMENT_MIN) or held >= FRAGMENT_MAX:
                self._close_gop(unit)
        if not self._gop_video:
            if not unit.key and not self._started:
                return  # wait for the first key frame
            self._started = True
            self._gop_arrived = self.clock()
        self._gop_video.append(unit)

    def _on_audio(self, unit: AccessUnit) -> None:
        if self._gop_video:
            self._gop_audio.append(unit)

    def _close_gop(self, next_key: AccessUnit) -> None:
        video = self._gop_video
        stamps = [u.timestamp for u in video] + [next_key.timestamp]
        durations = [max(b - a, 1) for a, b in zip(stamps, stamps[1:], strict=False)]
        audio = self._gop_audio
        audio_durations = self._audio_durations(audio)
        gop = Gop(video, durations, audio, audio_durations, self._gop_arrived,
                  (self.params.vps, self.params.sps, self.params.pps))
        self._gop_video = []
        self._gop_audio = []
        self.on_gop(self, gop)

    def _audio_durations(self, audio: list[AccessUnit]) -> list[int]:
        out = []
        for unit in audio:
            if self.audio is not None and self.audio.codec in ("PCMU", "PCMA"):
                out.append(len(unit.data))
            else:
                out.append(1024)
        return out

    # -- reader side -------------------------------------------------------------------
    def pump(self, buffer: bytearray, now: float) -> None:
        sock = self.session.sock
        view = memoryview(buffer)
        try:
            while True:
                try:
                    got = sock.recv_into(buffer)
                except (BlockingIOError, InterruptedError):
                    break
                if got == 0:
                    self.lose("the camera closed the connection")
                    return
                self.bytes_in += got
                self.last_data = now
                assert self.parser is not None
                self.parser.feed(view[:got])
                if got < len(buffer):
                    break
            for channel, (rtp, rtcp) in self.session.udp.items():
                track = self.parser.channels.get(channel) if self.parser else None
                while True:  # RTP over UDP: one datagram per packet
                    try:
                        got = rtp.recv_into(buffer)
                    except (BlockingIOError, InterruptedError):
                        break
                    self.bytes_in += got
                    self.last_data = now
                    if track is not None:
                        track.packet(view[:got])
                while True:  # sender reports are not needed: keep the buffer empty
                    try:
                        rtcp.recv(2048)
                    except (BlockingIOError, InterruptedError):
                        break
        except OSError as err:
            self.lose(f"connection error: {err.strerror or err}")
            return
        finally:
            view.release()
            if self._live_packets:
                packets, self._live_packets = self._live_packets, []
                if self.live is not None:
                    self.live.deliver_threadsafe(packets)
            if self.units is not None:
                self.units.passed()
        if now - self.last_data > SILENCE_LIMIT:
            self.lose(f"no data for {SILENCE_LIMIT:g} s")
        elif now >= self.next_keepalive:
            self.next_keepalive = now + max(self.session.timeout / 2, 5)
            try:
                sock.send(self.session.keepalive_request())
            except OSError as err:
                self.lose(f"keep-alive failed: {err.strerror or err}")

    def lose(self, reason: str) -> None:
        if not self.closed:
            self.close()
            self.on_lost(self, reason)

    def close(self, teardown: bool = False) -> None:
        if self.closed:
            return
        self.closed = True
        if teardown:
            with contextlib.suppress(OSError):
                self.session.sock.send(self.session.teardown_request())
        with contextlib.suppress(OSError):
            self.session.sock.close()
        self.session.close_udp()


class Reader:
    """The one thread that reads every camera."""

    def __init__(self) -> None:
        self._connections: list[Connection] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.passes = 0

    def add(self, connection: Connection) -> None:
        connection.session.sock.setblocking(False)
        for pair in connection.session.udp.values():
            for sock in pair:
                sock.setblocking(False)
        with self._lock:
            self._connections.append(connection)

    def remove(self, connection: Connection) -> None:
        with self._lock:
            if connection in self._connections:
                self._connections.remove(connection)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigil-ingest", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        with self._lock:
            for c in self._connections:
                c.close(teardown=True)
            self._connections.clear()

    def _run(self) -> None:
        buffer = bytearray(READ_CHUNK)
        while not self._stop.is_set():
            started = time.monotonic()
            with self._lock:
                connections = list(self._connections)
            for connection in connections:
                if connection.closed:
                    self.remove(connection)
                    continue
                try:
                    connection.pump(buffer, started)
                except Exception as err:  # noqa: BLE001 - one broken camera must not stop the others
                    log.exception("ingest of %s failed", connection.source_id)
                    connection.lose(f"internal error: {err}")
            self.passes += 1
            spent = time.monotonic() - started
            interval = LIVE_PASS_INTERVAL if any(c.watched for c in connections) else PASS_INTERVAL
            self._stop.wait(max(interval - spent, 0.001))

