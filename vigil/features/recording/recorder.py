"""The recording service: sources, their connections, the recordings made from them, and the
retention policy that rotates old footage out.

Recording kinds, as in the manuals: continuous (per source), triggered by a rule ("Record
video while the rule is active", with pre- and post-event buffers) and manual (started and
stopped through the API). A lost camera ends its continuous recording and emits an event;
when the camera returns a new recording starts, so the gap is visible.

Footage goes to the volumes (vigil.footage.volumes.Volumes, given by the storage feature where
the profile has one), written by vigil.footage.writer and indexed by vigil.footage.index. When
writing fails (a full disk) the recordings go on and the writer keeps trying: the affected
cameras show "failing" in the status and IsRecording=0 in their recording event, the volume is
told (the storage disruption event), one system-log line says so, and another when footage is
written again, which happens by itself when space returns.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import secrets
import shutil
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

from vigil.core.events import Event, EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.features.recording.ingest import Connection, Gop, Reader
from vigil.features.recording.relay import LiveRelays
from vigil.features.recording.rtsp_client import RtspError, connect
from vigil.features.recording.snapshot import Snapshots
from vigil.features.recording.sources import Source, Sources
from vigil.features.recording.write_failures import WriteFailures
from vigil.footage import index, mp4
from vigil.footage.h26x import avcc, h264_size, h265_size, hvcc
from vigil.footage.volumes import Volumes
from vigil.footage.writer import FragmentJob, SegmentStore, recover

log = logging.getLogger("vigil.recording")
CONNECTION = "tns1:Device/tnsaxis:Recorder/SourceConnection"
RECORDING = "tns1:RecordingHistory/Recording/State"
MAX_BACKOFF = 30.0
TICK_SECONDS = 1.0  # the run loop: recordings that could not start are tried again
RETENTION_SECONDS = 10.0
RELEASE_TIMEOUT = 10.0  # seconds a released volume's files may take to be sealed
ROOM_BYTES = 64_000_000  # what rotation frees at least when a write finds the disk full


class VolumeUnavailable(RuntimeError):
    """A recording cannot start on (or footage cannot be deleted from) a volume that is failed,
    unmounted or write-protected; `str()` says which and why."""


def no_prebuffer(source_id: str) -> float:
    return 0.0


def _filesystem(folder: Path) -> int | None:
    try:
        return os.stat(folder).st_dev
    except OSError:
        return None


@dataclass
class Fragment:
    init: bytes
    init_key: int
    data: bytes
    start: float
    duration: float
    frames: int
    key: bool


@dataclass
class Session:
    id: str
    kind: str  # continuous | triggered | manual
    segment_no: int = 0
    segment_started: float | None = None
    init_key: int | None = None
    stop_after: float | None = None  # post-event buffer deadline (device clock)
    users: int = 1  # triggered sessions shared by several active rules


@dataclass
class SourceRecorder:
    """Per source, in the reader thread: GOP -> fragment -> each active session's segment."""

    source: Source
    service: RecordingService
    sessions: dict[str, Session] = field(default_factory=dict)
    prebuffer: collections.deque = field(default_factory=collections.deque)
    prebuffer_seconds: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)
    sequence: int = 0
    anchor: tuple[int, float] | None = None  # (video timestamp, device time) of the stream start
    audio_base: int | None = None
    _init: tuple[tuple, bytes, int] | None = None
    connected: bool = False
    width: int = 0
    height: int = 0
    has_audio: bool = False
    video_codec: str = ""

    def reset_stream(self) -> None:
        self.anchor = None
        self.audio_base = None

    def init_for(self, connection: Connection, params: tuple[bytes, bytes, bytes]) -> tuple[bytes, int]:
        key = (params, connection.audio.codec if connection.audio else None)
        if self._init is not None and self._init[0] == key:
            return self._init[1], self._init[2]
        vps, sps, pps = params
        video = connection.video
        assert video is not None
        self.video_codec = video.codec.lower()
        if video.codec == "H264":
            self.width, self.height = h264_size(sps)
            tracks = [mp4.TrackInfo(1, "video", "H264", 90000, avcc(sps, pps), self.width, self.height)]
        else:
            self.width, self.height = h265_size(sps)
            tracks = [mp4.TrackInfo(1, "video", "H265", 90000, hvcc(vps, sps, pps), self.width, self.height)]
        audio = connection.audio
        if audio is not None:
            codec = "AAC" if audio.codec == "MPEG4-GENERIC" else audio.codec
            config = bytes.fromhex(audio.fmtp.get("config", "")) if codec == "AAC" else b""
            if codec != "AAC" or config:
                tracks.append(mp4.TrackInfo(2, "audio", codec, audio.clock_rate, config,
                                            channels=audio.channels, sample_rate=audio.clock_rate))
        init = mp4.init_segment(tracks)
        init_key = hash(init)
        self.has_audio = len(tracks) > 1
        self.service.describe(self.source.id, video.codec, self.width, self.height,
                              tracks[1].codec if self.has_audio else "")
        self._init = (key, init, init_key)
        return init, init_key

    def on_gop(self, connection: Connection, gop: Gop) -> None:
        """Reader thread: build the fragment once, hand it to every session."""
        if not all(gop.params[1:]):
            return  # no SPS/PPS yet: nothing decodable to store
        first = gop.video[0].timestamp
        if self.anchor is None:
            self.anchor = (first, gop.arrived)
        start = self.anchor[1] + (first - self.anchor[0]) / 90000
        if abs(start - gop.arrived) > 2.0:  # the camera's clock jumped: follow the device clock
            self.anchor = (first, gop.arrived)
            start = gop.arrived
        init, init_key = self.init_for(connection, gop.params)
        runs = [mp4.TrackRun(1, first - self.anchor[0], gop.durations, [len(u.data) for u in gop.video],
                             [u.key for u in gop.video], [u.data for u in gop.video])]
        if gop.audio and self.has_audio:
            if self.audio_base is None:
                self.audio_base = gop.audio[0].timestamp
            runs.append(mp4.TrackRun(2, max(gop.audio[0].timestamp - self.audio_base, 0), gop.audio_durations,
                                     [len(u.data) for u in gop.audio], [True] * len(gop.audio),
                                     [u.data for u in gop.audio]))
        self.sequence += 1
        duration = sum(gop.durations) / 90000
        fragment = Fragment(init, init_key, mp4.fragment(self.sequence, runs), start, duration, len(gop.video),
                            gop.video[0].key)
        with self.lock:
            if self.prebuffer_seconds:
                self.prebuffer.append(fragment)
                while self.prebuffer and start - self.prebuffer[0].start > self.prebuffer_seconds:
                    self.prebuffer.popleft()
            now = self.service.clock()
            for session in list(self.sessions.values()):
                if session.stop_after is not None and now > session.stop_after:
                    self.service._end_session_later(self.source.id, session.id)
                    continue
                self.write(session, fragment)

    def write(self, session: Session, fragment: Fragment) -> None:
        if (session.segment_started is None or session.init_key != fragment.init_key
                or fragment.start - session.segment_started >= self.service.segment_seconds()):
            session.segment_no += 1
            session.segment_started = fragment.start
            session.init_key = fragment.init_key
        self.service.segments.write(FragmentJob(
            session.id, (session.id, session.segment_no), fragment.init, fragment.data, fragment.start,
            fragment.duration, fragment.frames, self.service.volume_dir(self.source) / self.source.id, fragment.key))


class RecordingService:
    """The recorder. It is the `VolumeWriter` of `volumes` (vigil.footage.volumes): it attaches
    itself to them, is told when a volume changes and releases one on request.

    `volumes`: where each volume's footage goes and whether it may be written (the storage
    service, where the profile has one); without them everything goes to data/recordings.
    `prebuffer_for(source_id)`: seconds of footage to keep in memory for pre-event buffers.
    `vault`: seals the sources' camera passwords."""

    def __init__(self, store: Store, bus: EventBus, logs: Logs, params: ParamTree, clock, data: Path,
                 vault: Vault, volumes: Volumes | None = None,
                 prebuffer_for: Callable[[str], float] = no_prebuffer) -> None:
        self.store = store
        self.bus = bus
        self.logs = logs
        self.params = params
        self.clock = clock.time
        self.data = data
        self.volumes = volumes
        self.prebuffer_for = prebuffer_for
        self.sources = Sources(store, logs, vault)
        self.relays = LiveRelays(self.sources)  # live video over RTSP, from the same connections
        self.snapshots = Snapshots()  # JPEGs of each camera's latest key frame
        self.segments = SegmentStore(store, self._writer_state, self._make_room)
        self.reader = Reader()
        self.recorders: dict[str, SourceRecorder] = {}
        self._tasks: dict[str, asyncio.Task] = {}
        self._connections: dict[str, Connection] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running = False  # set once recovery is done and sources may connect
        self._released: collections.Counter[str] = collections.Counter()  # volumes a tool holds
        self.write_failures = WriteFailures(logs, self.clock, volumes)
        self._start_again: set[str] = set()  # sources whose continuous recording could not start
        self.declare()
        if volumes is not None:
            volumes.attach(self)

    # -- configuration -----------------------------------------------------------------
    def segment_seconds(self) -> float:
        return float(self.params.get_int("Recording.SegmentSeconds"))

    def volume_dir(self, source: Source) -> Path:
        """The folder of the source's volume (called for every fragment: a dictionary lookup)."""
        if self.volumes is None:
            return self.data / "recordings"
        return self.volumes.directory(source.volume)

    def _directory(self, volume: str) -> Path:
        return self.volumes.directory(volume) if self.volumes is not None else self.data / "recordings"

    def volume_of(self, source: Source) -> str:
        return self.volumes.resolve(source.volume) if self.volumes is not None else source.volume

    def volume_ready(self, source: Source) -> bool:
        if self._released[self.volume_of(source)]:
            return False
        return self.volumes is None or self.volumes.writable(source.volume)

    def volume_changed(self, volume: str) -> None:
        """The volumes tell (VolumeWriter, event loop): the volume became unusable (failed,
        unmounted, write-protected, under repair) or usable again. Recordings on it stop, so
        that their footage ends cleanly; when it is back, continuous recording starts again on
        the sources whose camera is connected (a new recording: the gap is visible)."""
        for source_id, recorder in list(self.recorders.items()):
            source = recorder.source
            if self.volume_of(source) != volume:
                continue
            if not self.volume_ready(source):
                for session in list(recorder.sessions.values()):
                    self.end_recording(source_id, session.id)
            else:
                self._resume_continuous(source_id)

    def _resume_continuous(self, source_id: str) -> None:
        """Start the source's continuous recording if it should run and does not."""
        recorder = self.recorders.get(source_id)
        if (recorder is None or not recorder.connected or not recorder.source.continuous
                or not self.volume_ready(recorder.source)
                or any(s.kind == "continuous" for s in recorder.sessions.values())):
            return
        try:
            self.start_recording(source_id, "continuous")
        except (sqlite3.Error, OSError) as err:  # a full disk: tried again every second
            if source_id not in self._start_again:
                log.warning("continuous recording of %s cannot start: %s", source_id, err)
            self._start_again.add(source_id)

    @asynccontextmanager
    async def release(self, volume: str) -> AsyncIterator[None]:
        """Stop writing to `volume` (a disk id) and wait until its files are sealed; recording
        there resumes when the block ends and the volume is writable (a tool held it)."""
        self._released[volume] += 1
        try:
            for source_id, recorder in list(self.recorders.items()):
                if self.volume_of(recorder.source) == volume:
                    for session in list(recorder.sessions.values()):
                        self.end_recording(source_id, session.id)
            if not await asyncio.to_thread(self.segments.drain, RELEASE_TIMEOUT):
                self.logs.system(f"{volume}: the footage writer did not seal its files within "
                                 f"{RELEASE_TIMEOUT:g} s", "warning")
            yield
        finally:
            self._released[volume] -= 1
            self.volume_changed(volume)

    def declare(self) -> None:
        ids = tuple(sorted(self.sources.all))
        self.bus.declare(Topic(CONNECTION, "Camera connection", True, (Item("source", "xsd:string", "Camera", ids),),
                               (Item("connected", "xsd:boolean", "Connected", state=True),)))
        self.bus.declare(Topic(RECORDING, "Recording", True,
                               (Item("RecordingToken", "tt:RecordingReference", "Camera", ids),),
                               (Item("IsRecording", "xsd:boolean", "Recording", state=True),)))

    # -- running -----------------------------------------------------------------------
    async def run(self) -> None:
        """Started with the device: recover, then record until cancelled."""
        self._loop = asyncio.get_running_loop()
        report = await asyncio.to_thread(recover, self.store, self.clock())
        if report.indexed or report.truncated or report.missing or report.closed:
            self.logs.system(f"recording recovery: {report.indexed} fragments indexed, {report.truncated} bytes "
                             f"truncated, {report.missing} missing segments dropped, "
                             f"{len(report.closed)} recordings closed", "warning")
        self.segments.start()
        self.reader.start()
        self._running = True
        for source in self.sources.all.values():
            if source.id not in self.recorders:
                self._start_source(source)
        next_retention = time.monotonic() + RETENTION_SECONDS
        try:
            while True:
                await asyncio.sleep(TICK_SECONDS)
                for source_id in list(self._start_again):
                    self._start_again.discard(source_id)
                    self._resume_continuous(source_id)
                if time.monotonic() >= next_retention:
                    await asyncio.to_thread(self.enforce_retention)
                    next_retention = time.monotonic() + RETENTION_SECONDS
        finally:
            self._running = False
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
            self.reader.stop()
            for sid in list(self.recorders):
                self._end_all(sid)
            self.segments.stop()

    def _start_source(self, source: Source) -> None:
        self.recorders[source.id] = SourceRecorder(source, self, prebuffer_seconds=self.prebuffer_for(source.id))
        self.bus.publish(CONNECTION, {"source": source.id}, {"connected": "0"})
        self.bus.publish(RECORDING, {"RecordingToken": source.id}, {"IsRecording": "0"})
        if source.enabled:
            self._tasks[source.id] = asyncio.ensure_future(self._supervise(source))

    async def reconfigure(self, source_id: str) -> None:
        """Apply a changed or removed source: drop its connection and start again."""
        task = self._tasks.pop(source_id, None)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        self._drop_connection(source_id)
        self.relays.removed(source_id)
        self.snapshots.forget(source_id)
        if source_id in self.recorders:
            self._end_all(source_id)
            del self.recorders[source_id]
        self.declare()
        source = self.sources.all.get(source_id)
        if source is None:
            self.bus.delete(CONNECTION, {"source": source_id})
            self.bus.delete(RECORDING, {"RecordingToken": source_id})
        elif self._running:
            self._start_source(source)

    async def _supervise(self, source: Source) -> None:
        backoff = 1.0
        while True:
            lost: asyncio.Future = asyncio.get_running_loop().create_future()
            try:
                session, leftover = await asyncio.to_thread(connect, source.url, source.username, source.password,
                                                             transport=source.transport)
            except RtspError as err:
                self.logs.system(f"camera {source.id}: {err}; retrying in {backoff:g} s", "warning")
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF)
                continue
            backoff = 1.0
            recorder = self.recorders[source.id]
            recorder.reset_stream()

            def on_lost(conn: Connection, reason: str, fut: asyncio.Future = lost) -> None:
                assert self._loop is not None
                self._loop.call_soon_threadsafe(lambda: fut.done() or fut.set_result(reason))

            connection = Connection(source.id, session, recorder.on_gop, on_lost, self.clock)
            connection.setup(leftover)
            connection.live = feed = self.relays.connected(source.id, connection)
            connection.units = feed.stream
            connection.on_key = self.snapshots.seen
            self._connections[source.id] = connection
            self._connected(source, True)
            self.reader.add(connection)
            try:
                reason = await lost
            finally:
                self.reader.remove(connection)
                connection.close(teardown=True)
                self._connections.pop(source.id, None)
                self.relays.disconnected(source.id)
                self._connected(source, False)
            self.logs.system(f"camera {source.id} lost: {reason}", "warning")
            await asyncio.sleep(backoff)

    def set_continuous(self, source_id: str, on: bool, actor: str) -> Source:
        """Turn a source's continuous recording on or off at once (stored), keeping its camera
        connection and its other recordings; KeyError for an unknown source."""
        source = self.sources.put(replace(self.sources.all[source_id], continuous=on), actor)
        recorder = self.recorders.get(source_id)
        if recorder is not None:
            recorder.source = source
            for session in [] if on else [s for s in recorder.sessions.values() if s.kind == "continuous"]:
                self.end_recording(source_id, session.id)
            self._resume_continuous(source_id)
        return source

    def _connected(self, source: Source, up: bool) -> None:
        recorder = self.recorders.get(source.id)
        if recorder is None:
            return
        recorder.connected = up
        self.bus.publish(CONNECTION, {"source": source.id}, {"connected": "1" if up else "0"})
        if up:
            self.logs.system(f"camera {source.id} connected")
            self._resume_continuous(source.id)
        else:
            # Continuous recordings end with the connection (a new one starts when it returns);
            # a triggered recording already in its post-event buffer has nothing more to wait for.
            for session in [s for s in recorder.sessions.values()
                            if s.kind == "continuous" or s.stop_after is not None]:
                self.end_recording(source.id, session.id)

    def _drop_connection(self, source_id: str) -> None:
        connection = self._connections.pop(source_id, None)
        if connection is not None:
            self.reader.remove(connection)
            connection.close(teardown=True)

    # -- recordings ----------------------------------------------------------------------
    def start_recording(self, source_id: str, kind: str, event: str = "", pre: float = 0.0,
                        trigger: Event | None = None) -> str:
        """A new recording; `trigger`: the event that started it, kept with it (ONVIF FindEvents)."""
        recorder = self.recorders.get(source_id)
        if recorder is None:
            raise KeyError(source_id)
        if not self.volume_ready(recorder.source):
            assert self.volumes is not None
            raise VolumeUnavailable(self.volumes.why_not_writable(recorder.source.volume))
        now = self.clock()
        stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime(now))
        recording_id = f"{stamp}_{source_id}_{secrets.token_hex(3).upper()}"
        start = now - pre if pre else now
        kept = None if trigger is None else (trigger.time, trigger.topic, json.dumps(dict(trigger.source)),
                                             json.dumps(dict(trigger.data)), trigger.operation or "")
        index.start_recording(self.store, recording_id, source_id, recorder.source.volume, kind, start, event,
                              recorder.width, recorder.height, recorder.video_codec, kept)
        session = Session(recording_id, kind)
        with recorder.lock:
            if pre:
                for fragment in list(recorder.prebuffer):
                    if fragment.start >= now - pre:
                        recorder.write(session, fragment)
            recorder.sessions[recording_id] = session
        self.logs.system(f"{kind} recording {recording_id} started on {source_id}")
        self._publish_state(source_id)
        return recording_id

    def end_recording(self, source_id: str, recording_id: str, post: float = 0.0) -> None:
        recorder = self.recorders.get(source_id)
        if recorder is None:
            return
        with recorder.lock:
            session = recorder.sessions.get(recording_id)
            if session is None:
                return
            if post > 0:
                session.stop_after = self.clock() + post
                return
            del recorder.sessions[recording_id]
        self.segments.seal(recording_id, self.clock())
        self.logs.system(f"{session.kind} recording {recording_id} on {source_id} stopped")
        self._publish_state(source_id)

    def _end_session_later(self, source_id: str, recording_id: str) -> None:
        """Reader thread: a post-event buffer ran out."""
        recorder = self.recorders[source_id]
        session = recorder.sessions.pop(recording_id, None)
        if session is None:
            return
        self.segments.seal(recording_id, self.clock())
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._publish_state, source_id)

    def _end_all(self, source_id: str) -> None:
        recorder = self.recorders.get(source_id)
        if recorder is None:
            return
        for recording_id in list(recorder.sessions):
            with recorder.lock:
                recorder.sessions.pop(recording_id, None)
            self.segments.seal(recording_id, self.clock())

    def _publish_state(self, source_id: str) -> None:
        """IsRecording: the source has recordings and their footage is being written."""
        recorder = self.recorders.get(source_id)
        if recorder is not None:
            writing = bool(recorder.sessions) and not self.write_failures.error_of(source_id)
            self.bus.publish(RECORDING, {"RecordingToken": source_id}, {"IsRecording": "1" if writing else "0"})

    def describe(self, source_id: str, video: str, width: int, height: int, audio: str) -> None:
        """Record what the camera sends on its open recordings (known after the first key frame)."""
        try:
            index.describe_open_recordings(self.store, source_id, video, width, height, audio)
        except sqlite3.Error as err:  # a full disk: the footage matters more than its description
            log.warning("the recordings of %s cannot be described: %s", source_id, err)

    def stats(self) -> dict[str, dict[str, int | bool | str]]:
        """Per source: connected, frames and bytes received, RTP packets lost, and the state of
        its recording: idle, recording or failing (with the error: its footage is not written)."""
        out: dict[str, dict[str, int | bool | str]] = {}
        for sid, recorder in self.recorders.items():
            connection = self._connections.get(sid)
            lost = sum(d.lost for d in connection.parser.channels.values()) if connection and connection.parser else 0
            error = self.write_failures.error_of(sid)
            state = "failing" if error else "recording" if recorder.sessions else "idle"
            out[sid] = {"connected": recorder.connected, "frames": connection.frames if connection else 0,
                        "bytesIn": connection.bytes_in if connection else 0, "packetsLost": lost,
                        "state": state, "error": error}
        return out

    def ongoing(self) -> list[tuple[str, str, str]]:
        """(source, recording id, kind) of every recording being written."""
        return [(sid, s.id, s.kind) for sid, r in self.recorders.items() for s in r.sessions.values()]

    # -- retention -------------------------------------------------------------------------
    def _volume_ids(self) -> list[str]:
        return self.volumes.ids() if self.volumes is not None else ["default"]

    def _aliases(self, volume: str | None) -> tuple[str, ...] | None:
        """The `recordings.volume` values of footage on `volume` (None: on all)."""
        if volume is None or self.volumes is None:
            return None
        return self.volumes.aliases(volume)

    def enforce_retention(self) -> int:
        """Delete footage past each source's and each volume's retention and, on each volume
        that runs short of space, the oldest. Only sealed segments go (the one being written is
        never touched), so rotation never stops recording; a write-protected or unmounted volume
        is left alone."""
        removed = 0
        now = self.clock()
        volumes = [v for v in self._volume_ids() if self.volumes is None or self.volumes.deletable(v)]
        for volume in volumes:
            try:
                removed += self._retain(volume, now)
            except VolumeUnavailable:
                continue  # write-protected or unmounted meanwhile: left alone
            except (sqlite3.Error, OSError) as err:  # a full disk: the writer reports it; tried again
                log.warning("retention on %s: %s", volume, err)
        if removed:
            self.logs.system(f"retention removed {removed} segments")
        return removed

    def _retain(self, volume: str, now: float, at_least: int = 0) -> int:
        removed = 0
        aliases = self._aliases(volume)
        for source in self.sources.all.values():
            if source.retention_days:
                for seg_id in index.expired_segments(self.store, aliases, now - source.retention_days * 86400,
                                                     source.id):
                    removed += self.delete_segment(seg_id)
        days = self.volumes.max_age_days(volume) if self.volumes is not None else 0
        if days:
            for seg_id in index.expired_segments(self.store, aliases, now - days * 86400):
                removed += self.delete_segment(seg_id)
        while (needed := max(self._space_needed(volume), at_least)) > 0:
            # The oldest segments that free `needed` bytes, in one go.
            doomed, freed = [], 0
            for seg_id, size in index.oldest_segments(self.store, aliases):
                doomed.append(seg_id)
                freed += size
                if freed >= needed:
                    break
            if not doomed:
                break
            for seg_id in doomed:
                removed += self.delete_segment(seg_id)
            at_least = max(0, at_least - freed)
        return removed

    def _make_room(self, recording: str | None) -> bool:
        """Writer thread: a write found the disk full. Rotate the oldest footage out of the
        recording's volume now; when the index itself cannot grow (None), out of the volumes on
        the database's filesystem (footage elsewhere frees nothing for it)."""
        volume = None
        if recording is not None:
            volume = self.write_failures.volume_of(recording) or self._volume_of_recording(recording)
        if volume is not None:
            volumes = [volume]
        else:
            database = os.stat(self.store.path.parent).st_dev
            volumes = [v for v in self._volume_ids() if _filesystem(self._directory(v)) == database]
        removed = 0
        for each in volumes:
            if self.volumes is not None and not self.volumes.deletable(each):
                continue
            try:
                removed += self._retain(each, self.clock(), ROOM_BYTES)
            except (VolumeUnavailable, sqlite3.Error, OSError) as err:
                log.debug("no room made on %s: %s", each, err)
        if removed:
            self.logs.system(f"the disk was full: rotation removed the {removed} oldest segments", "warning")
        return removed > 0

    def used_bytes(self, volume: str | None = None) -> int:
        """Bytes of indexed footage, on one volume or (None) on all."""
        return index.used_bytes(self.store, self._aliases(volume))

    def _space_needed(self, volume: str | None = None) -> int:
        """Bytes to delete so that the volume keeps its free-space floor, the quota and its cleanup level."""
        floor = self.params.get_int("Recording.FreeSpaceFloorMB") * 1_000_000
        quota = self.params.get_int("Recording.QuotaMB") * 1_000_000
        needed = 0
        if quota:
            needed = self.used_bytes(volume) - (quota - floor)
        if self.volumes is not None and volume is not None:
            free = self.volumes.free_bytes(volume)
        else:
            root = self.data / "recordings"
            root.mkdir(parents=True, exist_ok=True)
            free = shutil.disk_usage(root).free
        if free is not None and free < floor:
            needed = max(needed, floor - free)
        if self.volumes is not None and volume is not None:
            needed = max(needed, self.volumes.over_cleanup_level(volume))
        return max(needed, 0)

    # -- deleting --------------------------------------------------------------------------
    def _refuse_unless_deletable(self, recording: str) -> None:
        """VolumeUnavailable if the recording's volume is write-protected (or not mounted)."""
        volume = index.recording_volume(self.store, recording) if self.volumes is not None else None
        if self.volumes is not None and volume is not None and not self.volumes.deletable(volume):
            raise VolumeUnavailable(f"Volume {self.volumes.resolve(volume)} is write-protected or not "
                                    "mounted: its recordings cannot be deleted")

    def delete_segment(self, seg_id: int) -> int:
        """Delete one segment (index rows, then file); 1 if it was there."""
        found = index.segment_file(self.store, seg_id)
        if found is None:
            return 0
        self._refuse_unless_deletable(found[1])
        return int(index.delete_segment(self.store, seg_id))

    def delete_recording(self, recording: str) -> None:
        """Delete a recording and all its footage."""
        self._refuse_unless_deletable(recording)
        index.delete_recording(self.store, recording)

    # -- write failures ----------------------------------------------------------------------
    def _volume_of_recording(self, recording: str | None) -> str | None:
        for recorder in list(self.recorders.values()):
            if recording in recorder.sessions:
                return self.volume_of(recorder.source)
        return None

    def _writer_state(self, recording: str, error: str | None) -> None:
        """Writer thread: a recording's footage stopped being written (error) or is written again."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._write_state_changed, recording, error)
        else:
            self._write_state_changed(recording, error)

    def _write_state_changed(self, recording: str, error: str | None) -> None:
        if error is None:
            source_id = self.write_failures.recovered(recording)
        else:
            owner = next((r for r in self.recorders.values() if recording in r.sessions), None)
            if owner is None:
                return  # ended meanwhile
            source_id = owner.source.id
            self.write_failures.failed(recording, source_id, self.volume_of(owner.source), error)
        if source_id is not None:
            self._publish_state(source_id)


RECORDING_SERVICE: Key[RecordingService] = Key("recording")
