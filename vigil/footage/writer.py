"""Durable footage: one writer thread appends fragments to segment files and indexes them.

A fragment (about one GOP, ~1 s) is written to its segment file as soon as it is complete.
About once a second the writer fdatasyncs every file it touched and only then commits the
index rows of those fragments in one transaction: an index entry never points at footage
that is not on disk. A `kill -9` loses at most the fragments still in memory (~1 s per
stream); start-up recovery indexes complete fragments written after the last commit and
truncates a torn tail. A segment is sealed (fsynced, hash recorded) when it reaches its
length or its recording stops.

When writing fails (a full disk, an I/O error, an index that cannot commit) the writer goes
on, and the index stays true to the files:
- a fragment that cannot be written is dropped, and whatever part of it reached the file is
  cut off; a segment file that cannot be created is removed again;
- a file that cannot be made durable is cut back to its last durable fragment;
- index changes that cannot be committed (fragment rows, seals, recording stops) are kept and
  committed at a later sync, in order.
Before a fragment is given up for lack of space, `make_room` (the recorder's rotation) may
free some, and the write is tried once more. A recording whose footage cannot be written is
*failing*: `on_state(recording, error)` says so once, and `on_state(recording, None)` once its
footage is written and indexed again, which happens by itself when space returns.
"""

from __future__ import annotations

import errno
import logging
import os
import queue
import sqlite3
import threading
import time
import zlib
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from vigil.core.store import Store
from vigil.footage import atrest, index, mp4
from vigil.footage.index import FragmentRow

log = logging.getLogger("vigil.recording")
SYNC_INTERVAL = 1.0  # seconds between fdatasync + index commit
ROOM_INTERVAL = 1.0  # seconds between two calls of make_room: rotation that cannot free space is not hammered
MAX_OWED_ROWS = 100_000  # fragments waiting for an index that cannot commit (~1.7 h of 16 cameras)
WriteError = (OSError, sqlite3.Error)
T = TypeVar("T")


class Checksum:
    """CRC-32 of a segment file, kept while writing (cheap: footage is hashed once, in memory)."""

    def __init__(self, data: bytes = b"") -> None:
        self.value = zlib.crc32(data)

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def hexdigest(self) -> str:
        return self.format(self.value)

    @staticmethod
    def format(value: int) -> str:
        return f"crc32:{value:08x}"

    @classmethod
    def of_file(cls, path: Path) -> str:
        checksum = cls()
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                checksum.update(chunk)
        return checksum.hexdigest()


@dataclass
class OpenSegment:
    id: int
    recording: str
    path: Path
    fd: int
    start: float
    stop: float
    size: int  # bytes written
    init_size: int
    hasher: Checksum  # of the bytes written (encrypted ones on an encrypted volume)
    cipher: atrest.FileCipher | None = None
    unsynced: list[FragmentRow] = field(default_factory=list)  # written, not yet made durable
    synced: int = 0  # bytes known to be durable: what a failed sync cuts back to
    synced_crc: int = 0
    synced_stop: float = 0.0

    def __post_init__(self) -> None:
        self.synced, self.synced_crc, self.synced_stop = self.size, self.hasher.value, self.stop


@dataclass
class FragmentJob:
    recording: str
    segment_key: tuple[str, int]  # (recording, segment number): a new number starts a new file
    init: bytes  # the init segment, written when the file is new
    data: bytes  # moof + mdat
    start: float
    duration: float
    frames: int
    directory: Path
    key: bool = True  # the fragment starts with a key frame


@dataclass
class SealJob:
    recording: str
    stop: float | None  # set: the recording ends here


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        written = os.pwrite(fd, view, offset)
        if written <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        view, offset = view[written:], offset + written


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def describe(err: BaseException) -> str:
    """What a write failure means, for the logs and the status."""
    if isinstance(err, sqlite3.Error):
        return f"the recordings index cannot be written: {err}"
    if isinstance(err, OSError) and err.strerror:
        return err.strerror
    return str(err) or type(err).__name__


class SegmentStore:
    """The writer thread and the footage index.

    `on_state(recording, error)` and `make_room(recording)` are called in the writer thread:
    the first when a recording starts failing (error) or is written again (None); the second
    when the disk is full, to rotate old footage out of the recording's volume (None: the
    index's disk), returning whether it freed anything."""

    def __init__(self, store: Store, on_state: Callable[[str, str | None], None] | None = None,
                 make_room: Callable[[str | None], bool] | None = None) -> None:
        self.store = store
        self.on_state = on_state or (lambda recording, error: None)
        self.make_room = make_room or (lambda recording: False)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._open: dict[str, OpenSegment] = {}  # by recording
        self._keys: dict[str, tuple[str, int]] = {}
        # Index changes made durable on disk, waiting for their commit (kept when it fails).
        self._owed_rows: list[FragmentRow] = []
        self._owed_progress: dict[int, tuple[float, int, int]] = {}  # segment -> (stop, bytes, segment)
        self._owed_seals: list[tuple[float, int, str, int]] = []
        self._owed_stops: list[tuple[float, str]] = []
        self._owed_by: set[str] = set()  # recordings with fragments owed
        self._failing: dict[str, str] = {}  # recording -> why its footage is not written
        self._recovering: set[str] = set()  # failing recordings written since, waiting for their commit
        self._room_asked = 0.0
        self._thread: threading.Thread | None = None
        self.written_bytes = 0
        self.failures = 0  # fragments, syncs and commits that failed

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigil-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.jobs.put(None)
        if self._thread is not None:
            self._thread.join(30)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- called from other threads -----------------------------------------------------
    def write(self, job: FragmentJob) -> None:
        self.jobs.put(job)

    def seal(self, recording: str, stop: float | None) -> None:
        self.jobs.put(SealJob(recording, stop))

    def drain(self, timeout: float) -> bool:
        """Wait (blocking) until the writer has done every job queued before this call, and
        synced; False if that took longer than `timeout`."""
        if not self.running:
            return True
        done = threading.Event()
        self.jobs.put(done)
        return done.wait(timeout)

    # -- the writer thread -------------------------------------------------------------
    def _run(self) -> None:
        next_sync = time.monotonic() + SYNC_INTERVAL
        while True:
            timeout = max(0.0, next_sync - time.monotonic())
            try:
                job = self.jobs.get(timeout=timeout)
            except queue.Empty:
                job = ...
            if job is None:
                self._finish()
                return
            try:
                if isinstance(job, FragmentJob):
                    self._append(job)
                elif isinstance(job, SealJob):
                    self._sync()
                    self._seal(job.recording, job.stop)
                elif isinstance(job, threading.Event):
                    self._sync()
                if time.monotonic() >= next_sync:
                    self._sync()
                    next_sync = time.monotonic() + SYNC_INTERVAL
            except Exception:  # the writer must outlive whatever one job meets
                self.failures += 1
                log.exception("footage writer: unexpected failure")
            finally:
                if isinstance(job, threading.Event):
                    job.set()

    def _finish(self) -> None:
        try:
            self._sync()
            for recording in list(self._open):
                self._seal(recording, None)
        except Exception:  # what is not committed now is recovered at the next start
            log.exception("footage writer: stopping")

    def _append(self, job: FragmentJob) -> None:
        segment = self._open.get(job.recording)
        if segment is not None and self._keys.get(job.recording) != job.segment_key:
            self._sync()
            self._seal(job.recording, None)
            segment = None
        if len(self._owed_rows) >= MAX_OWED_ROWS:
            self._fail(job.recording, f"the recordings index is {len(self._owed_rows)} fragments behind")
            return
        try:
            if segment is None:
                segment = self._with_room(job.recording, lambda: self._create(job))
            open_segment = segment
            self._with_room(job.recording, lambda: self._write(open_segment, job))
        except WriteError as err:
            self.failures += 1
            self._fail(job.recording, describe(err))
            return
        if job.recording in self._failing:
            self._recovering.add(job.recording)

    def _with_room(self, recording: str | None, action: Callable[[], T]) -> T:
        """`action`; if it finds the disk full, once more after rotation freed some space."""
        try:
            return action()
        except WriteError as err:
            if not index.disk_full(err) or not self._room_for(recording):
                raise
        return action()

    def _room_for(self, recording: str | None) -> bool:
        now = time.monotonic()
        if now - self._room_asked < ROOM_INTERVAL:
            return False
        self._room_asked = now
        try:
            return bool(self.make_room(recording))
        except Exception:  # rotation failing must not stop the writer
            log.exception("footage writer: rotation to make room failed")
            return False

    def _create(self, job: FragmentJob) -> OpenSegment:
        job.directory.mkdir(parents=True, exist_ok=True)
        # The recording id keeps simultaneous recordings of one camera in files of their own.
        plain_name = f"{int(job.start * 1000)}-{job.recording}-{job.segment_key[1]:06d}.mp4"
        path = job.directory / atrest.keyring.file_name(job.directory, plain_name)
        cipher = atrest.keyring.cipher_for(path)
        init = cipher.apply(job.init, 0) if cipher else job.init
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        try:
            _write_all(fd, init, 0)
            os.fsync(fd)
            _fsync_dir(job.directory)
            seg_id = index.add_segment(self.store, job.recording, path, job.start, len(job.init))
        except BaseException:  # no half-made segment stays behind: not on disk, not in the index
            os.close(fd)
            with suppress(OSError):
                path.unlink()
            raise
        segment = OpenSegment(seg_id, job.recording, path, fd, job.start, job.start, len(job.init),
                              len(job.init), Checksum(init), cipher)
        self._open[job.recording] = segment
        self._keys[job.recording] = job.segment_key
        return segment

    def _write(self, segment: OpenSegment, job: FragmentJob) -> None:
        data = segment.cipher.apply(job.data, segment.size) if segment.cipher else job.data
        try:
            _write_all(segment.fd, data, segment.size)
        except OSError:
            with suppress(OSError):
                os.ftruncate(segment.fd, segment.size)  # no part of the fragment stays behind
            raise
        segment.hasher.update(data)
        segment.unsynced.append((segment.id, segment.size, len(job.data), job.start, job.duration, job.frames,
                                 int(job.key)))
        segment.size += len(job.data)
        segment.stop = job.start + job.duration
        self.written_bytes += len(job.data)

    def _sync(self) -> None:
        """Make written fragments durable, then index them."""
        for segment in list(self._open.values()):
            if segment.unsynced:
                self._make_durable(segment, os.fdatasync)
        self._commit()

    def _make_durable(self, segment: OpenSegment, sync: Callable[[int], None]) -> None:
        try:
            sync(segment.fd)
        except OSError as err:  # what was written since the last sync may be lost: cut it off
            self.failures += 1
            segment.unsynced = []
            with suppress(OSError):
                os.ftruncate(segment.fd, segment.synced)
            segment.size, segment.hasher.value, segment.stop = segment.synced, segment.synced_crc, segment.synced_stop
            self._fail(segment.recording, describe(err))
            return
        if segment.unsynced:
            self._owed_rows += segment.unsynced
            self._owed_by.add(segment.recording)
            segment.unsynced = []
            self._owed_progress[segment.id] = (segment.stop, segment.size, segment.id)
        segment.synced, segment.synced_crc, segment.synced_stop = segment.size, segment.hasher.value, segment.stop

    def _commit(self) -> None:
        if not (self._owed_rows or self._owed_progress or self._owed_seals or self._owed_stops):
            return
        try:
            self._with_room(None, lambda: index.commit_written(
                self.store, self._owed_rows, self._owed_progress.values(), self._owed_seals, self._owed_stops))
        except WriteError as err:  # all of it waits for the next sync
            self.failures += 1
            for recording in self._owed_by:
                self._fail(recording, describe(err))
            return
        committed = self._owed_by
        self._owed_rows, self._owed_progress, self._owed_seals, self._owed_stops = [], {}, [], []
        self._owed_by = set()
        for recording in committed & self._recovering:
            self._recovered(recording)

    def _seal(self, recording: str, stop: float | None) -> None:
        segment = self._open.pop(recording, None)
        self._keys.pop(recording, None)
        if segment is not None:
            self._make_durable(segment, os.fsync)
            with suppress(OSError):
                os.close(segment.fd)
            self._owed_progress.pop(segment.id, None)
            self._owed_seals.append((segment.synced_stop, segment.synced, Checksum.format(segment.synced_crc),
                                     segment.id))
        if stop is not None:
            self._owed_stops.append((stop, recording))
            if recording in self._failing:  # it has ended: nothing more to write
                self._recovered(recording)
        self._commit()

    def _fail(self, recording: str, message: str) -> None:
        self._recovering.discard(recording)
        if recording not in self._failing:
            self._failing[recording] = message
            self.on_state(recording, message)

    def _recovered(self, recording: str) -> None:
        self._recovering.discard(recording)
        if self._failing.pop(recording, None) is not None:
            self.on_state(recording, None)


@dataclass
class RecoveryReport:
    indexed: int = 0  # fragments found on disk after the last commit and indexed
    truncated: int = 0  # bytes of torn tails cut off
    missing: int = 0  # index entries whose file is gone, removed
    sealed: int = 0
    closed: list[str] = field(default_factory=list)  # recordings that were open at the crash


def timeline_track(init: bytes) -> tuple[int, int]:
    """(track id, timescale) of the track a segment's fragments are timed by: its video, or
    its only audio track in an audio-only recording (the microphone's); 1 at 90 kHz when the
    init segment cannot be read."""
    try:
        tracks = mp4.parse_init(init)
    except (ValueError, IndexError):
        return 1, 90000
    main = next((t for t in tracks if t.kind == "video"), tracks[0] if tracks else None)
    return (main.track_id, main.timescale) if main is not None else (1, 90000)


def recover(store: Store, now: float, under: Path | None = None) -> RecoveryReport:
    """Reconcile the index with the files after an unclean stop (run before recording starts).

    The unsealed segments of a locked encrypted volume wait for its key: when it is unlocked
    they are recovered with `under` set to its folder, so that nothing else (a segment being
    written elsewhere meanwhile) is touched."""
    report = RecoveryReport()
    folder = os.path.abspath(under) if under is not None else None
    for seg_id, path, init_size in index.unsealed_segments(store):
        file = Path(path)
        if atrest.keyring.locked(file) or (folder is not None and not Path(os.path.abspath(file)).is_relative_to(folder)):
            continue
        if not file.exists():
            index.delete_segment(store, seg_id)
            report.missing += 1
            continue
        raw, data = atrest.read_footage(file)
        track_id, timescale = timeline_track(data[:init_size])
        rows = index.fragment_times(store, seg_id)
        end = rows[-1][0] + rows[-1][1] if rows else init_size
        last = (rows[-1][2] + rows[-1][3]) if rows else None
        new_rows: list[FragmentRow] = []
        pos = end
        boxes = list(mp4.iter_boxes(data, end))
        i = 0
        while i + 1 < len(boxes) and boxes[i][0] == b"moof" and boxes[i + 1][0] == b"mdat":
            start_off = boxes[i][1]
            stop_off = boxes[i + 1][1] + boxes[i + 1][2]
            samples = [s for s in mp4.parse_fragment(data[start_off:stop_off]) if s.track_id == track_id]
            if samples and last is not None:
                frames_duration = sum(s.duration for s in samples) / timescale
                new_rows.append((seg_id, start_off, stop_off - start_off, last, frames_duration, len(samples),
                                 int(samples[0].key)))
                last += frames_duration
            pos = stop_off
            i += 2
        if len(data) > pos:
            with open(file, "r+b") as f:
                f.truncate(pos)
                f.flush()
                os.fsync(f.fileno())
            report.truncated += len(data) - pos
        index.seal_recovered(store, seg_id, new_rows, pos, Checksum(raw[:pos]).hexdigest(), last)
        report.indexed += len(new_rows)
        report.sealed += 1
    if under is None:
        report.closed = index.close_open_recordings(store, now)
    return report
