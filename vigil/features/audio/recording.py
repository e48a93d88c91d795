"""Listen and record: continuous recording of the microphone to the configured storage (the
volume of the network share), kept like the recorders' footage: AAC at 16 kHz in fragmented MP4
segment files written by `vigil.footage.writer` (fsynced before they are indexed, so a `kill -9`
loses at most the last second) and indexed by `vigil.footage.index` as recordings of the source
"microphone". Started and stopped on the Listen and record page; once started it resumes after
a restart (the manual: "If a recording is ongoing, it will resume automatically after a
reboot"): at start the index is recovered (an unsealed segment's fragments indexed by their own
audio track, its torn tail cut) and a new recording begins. Recording needs the input on and a
writable volume; while either is missing it waits and starts as soon as both are there.

Reading back (`read`): a range of a recording as one fragmented MP4 (its init segment and the
stored fragments that start in the range), which browsers play and any player exports."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import numpy as np

from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.features.audio.live import CODECS, Encoder
from vigil.features.audio.service import AudioService
from vigil.footage import atrest, index, mp4
from vigil.footage.volumes import Volumes
from vigil.footage.writer import FragmentJob, SegmentStore, recover

log = logging.getLogger("vigil.audio")

SOURCE = "microphone"
STATE_KEY = "audio.recording"  # "1" while continuous recording is on
CODEC = CODECS["aac"]
FRAGMENT_SECONDS = 1.0
SEGMENT_SECONDS = 60.0
TICK_SECONDS = 1.0  # the run loop: start when possible, end when the capture stopped
RELEASE_TIMEOUT = 10.0


class RecordError(Exception):
    """Recording cannot do what was asked; the text says why."""


@dataclass
class Ongoing:
    id: str
    volume: str
    started: float  # device clock
    encoder: Encoder
    init: bytes
    ticks: int = 0  # samples (16 kHz) written
    sequence: int = 0
    segment: int = 0
    segment_started: float = 0.0
    frames: list[bytes] | None = None
    durations: list[int] | None = None


class AudioRecorder:
    def __init__(self, service: AudioService, store: Store, volumes: Volumes | None, logs: Logs,
                 wall_clock: Callable[[], float]) -> None:
        self.service = service
        self.store = store
        self.volumes = volumes
        self.logs = logs
        self.wall_clock = wall_clock
        self.writer = SegmentStore(store, on_state=self._on_write_state)
        self.ongoing: Ongoing | None = None
        self.problem = ""  # why a wanted recording does not run
        self.paused = False  # the volume is held (format, unmount)
        self.running = False
        if volumes is not None:
            volumes.attach(self)

    # -- the setting -------------------------------------------------------------------------
    @property
    def wanted(self) -> bool:
        return self.store.get_kv(STATE_KEY, "0") == "1"

    def set_recording(self, on: bool, actor: str) -> None:
        """Start (RecordError when it cannot start now; nothing is stored then) or stop."""
        if on == self.wanted:
            return
        if on:
            self._start()
            self.store.set_kv(STATE_KEY, "1")
            self.logs.audit(actor, "continuous audio recording started", "audio")
        else:
            self.store.set_kv(STATE_KEY, "0")
            self._stop()
            self.logs.audit(actor, "continuous audio recording stopped", "audio")

    def volume(self) -> str:
        if self.volumes is None:
            raise RecordError("This device has no storage to record to")
        return self.volumes.resolve("default")

    def obstacle(self) -> str:
        if not self.service.input_enabled:
            return "The audio input is turned off (Audio > Device settings)"
        if self.paused:
            return "The storage is busy; recording resumes when it is done"
        try:
            volume = self.volume()
        except RecordError as err:
            return str(err)
        return "" if self.volumes is not None and self.volumes.writable(volume) else \
            self.volumes.why_not_writable(volume) if self.volumes is not None else ""

    def status(self) -> dict[str, object]:
        volume = ""
        with contextlib.suppress(RecordError):
            volume = self.volume()
        return {"recording": self.ongoing is not None, "wanted": self.wanted, "volume": volume,
                "problem": "" if self.ongoing is not None else (self.problem or self.obstacle()),
                "recordingId": self.ongoing.id if self.ongoing else None}

    # -- writing -------------------------------------------------------------------------------
    def _start(self) -> None:
        if not self.running:
            raise RecordError("The device is starting; try again in a moment")
        why = self.obstacle()
        if why:
            raise RecordError(why)
        volume = self.volume()
        now = self.wall_clock()
        rid = f"{time.strftime('%Y%m%d_%H%M%S', time.gmtime(now))}_{SOURCE}_{secrets.token_hex(3).upper()}"
        encoder = Encoder(CODEC)
        init = mp4.init_segment([mp4.TrackInfo(1, "audio", "AAC", CODEC.clock, encoder.config, channels=1,
                                               sample_rate=CODEC.clock)])
        index.start_recording(self.store, rid, SOURCE, volume, "continuous", now, "", 0, 0, "")
        index.describe_open_recordings(self.store, SOURCE, "", 0, 0, "aac")
        self.ongoing = Ongoing(rid, volume, now, encoder, init, segment_started=now, frames=[], durations=[])
        self.service.listen(self.on_block)
        self.problem = ""
        self.logs.system(f"Audio recording {rid} started on {volume}", "notice")

    def on_block(self, block: np.ndarray) -> None:
        ongoing = self.ongoing
        if ongoing is None:
            return
        assert ongoing.frames is not None and ongoing.durations is not None
        for frame, duration in ongoing.encoder.encode(block):
            ongoing.frames.append(frame)
            ongoing.durations.append(duration)
        if sum(ongoing.durations) >= FRAGMENT_SECONDS * CODEC.clock:
            self._flush(ongoing)

    def _flush(self, ongoing: Ongoing) -> None:
        frames, durations = ongoing.frames or [], ongoing.durations or []
        if not frames:
            return
        ongoing.frames, ongoing.durations = [], []
        ongoing.sequence += 1
        data = mp4.fragment(ongoing.sequence, [mp4.TrackRun(1, ongoing.ticks, durations, [len(f) for f in frames],
                                                            [True] * len(frames), frames)])
        start = ongoing.started + ongoing.ticks / CODEC.clock
        if start - ongoing.segment_started >= SEGMENT_SECONDS:
            ongoing.segment += 1
            ongoing.segment_started = start
        assert self.volumes is not None
        folder = self.volumes.directory(ongoing.volume) / SOURCE
        self.writer.write(FragmentJob(ongoing.id, (ongoing.id, ongoing.segment), ongoing.init, data, start,
                                      sum(durations) / CODEC.clock, len(frames), folder))
        ongoing.ticks += sum(durations)

    def _stop(self) -> None:
        ongoing, self.ongoing = self.ongoing, None
        if ongoing is None:
            return
        self.service.unlisten(self.on_block)
        self._flush(ongoing)
        self.writer.seal(ongoing.id, ongoing.started + ongoing.ticks / CODEC.clock)
        self.logs.system(f"Audio recording {ongoing.id} stopped", "notice")

    def _on_write_state(self, recording: str, error: str | None) -> None:  # the writer thread
        if error:
            log.warning("audio recording %s: %s", recording, error)

    # -- the Volumes port's writer ---------------------------------------------------------------
    def volume_changed(self, volume: str) -> None:
        """The run loop starts or ends the recording within a tick."""

    @contextlib.asynccontextmanager
    async def release(self, volume: str) -> AsyncIterator[None]:
        self.paused = True
        try:
            if self.ongoing is not None and self.ongoing.volume == volume:
                self._stop()
            await asyncio.to_thread(self.writer.drain, RELEASE_TIMEOUT)
            yield
        finally:
            self.paused = False

    # -- the device service ------------------------------------------------------------------------
    def tick(self) -> None:
        if self.ongoing is not None:
            if self.on_block not in self.service.listeners or self.obstacle():
                self.problem = self.obstacle() or "The audio capture stopped"
                self._stop()
                self.logs.system(f"Audio recording interrupted: {self.problem}", "warning")
            return
        if self.wanted:
            try:
                self._start()
            except RecordError as err:
                self.problem = str(err)

    async def run(self) -> None:
        report = await asyncio.to_thread(recover, self.store, self.wall_clock())
        if report.indexed or report.truncated or report.closed:
            self.logs.system(f"Recordings recovered after an unclean stop: {report.indexed} fragments indexed, "
                             f"{report.truncated} bytes of torn tails cut, {len(report.closed)} recordings closed",
                             "notice")
        self.writer.start()
        self.running = True
        try:
            while True:
                self.tick()
                await asyncio.sleep(TICK_SECONDS)
        finally:
            self.running = False
            self._stop()
            await asyncio.to_thread(self.writer.stop)


# -- reading back ------------------------------------------------------------------------------------
def recordings(store: Store) -> list[dict[str, object]]:
    rows = index.recording_rows(store, source=SOURCE)
    return [{"id": r[0], "volume": r[2], "start": r[4], "stop": r[5], "bytes": r[10]} for r in rows]


@dataclass
class Piece:
    fd: int
    offset: int
    size: int


def read(store: Store, recording_id: str, start: float | None, stop: float | None) -> tuple[int, Iterator[bytes]]:
    """(size, chunks) of [start, stop) of a microphone recording as fragmented MP4; RecordError
    for an unknown recording or a range without footage."""
    row = index.get_recording(store, recording_id)
    if row is None or row[1] != SOURCE:
        raise RecordError(f"There is no audio recording {recording_id[:64]!r}")
    extent = index.recording_extent(store, recording_id)
    if extent is None:
        raise RecordError("The recording has no audio yet")
    if start is not None and stop is not None and stop <= start:
        raise RecordError("The start time must be before the stop time")
    first, last = extent
    lo = first if start is None else max(first, start - FRAGMENT_SECONDS)
    hi = last if stop is None else min(last, stop)
    rows = index.fragments_between(store, recording_id, lo, hi if hi > lo else lo + 1e-6)
    if not rows:
        raise RecordError("No audio in the requested range")
    files: dict[str, int] = {}
    try:
        for row in rows:
            if row[1] not in files:
                files[row[1]] = atrest.open_footage(row[1])
        init = atrest.pread(files[rows[0][1]], rows[0][2], 0)
    except FileNotFoundError:
        for fd in files.values():
            atrest.close_footage(fd)
        raise RecordError("The recording's files are gone (removed by retention)") from None
    pieces = [Piece(files[row[1]], row[3], row[4]) for row in rows]

    def chunks() -> Iterator[bytes]:
        try:
            yield init
            for piece in pieces:
                yield atrest.pread(piece.fd, piece.size, piece.offset)
        finally:
            for fd in files.values():
                atrest.close_footage(fd)

    return len(init) + sum(p.size for p in pieces), chunks()


def delete(store: Store, volumes: Volumes | None, recording_id: str) -> None:
    row = index.get_recording(store, recording_id)
    if row is None or row[1] != SOURCE:
        raise RecordError(f"There is no audio recording {recording_id[:64]!r}")
    if row[5] is None:
        raise RecordError("The recording is ongoing: stop recording first")
    if volumes is not None and not volumes.deletable(row[2]):
        raise RecordError(f"{row[2]} is write-protected or not mounted: its recordings stay")
    index.delete_recording(store, recording_id)


AUDIO_RECORDER: Key[AudioRecorder] = Key("audio-recorder")
