"""Durable footage: one writer thread appends fragments to segment files and indexes them.

A fragment (about one GOP, ~1 s) is written to its segment file as soon as it is complete.
About once a second the writer fdatasyncs every file it touched and only then commits the
index rows of those fragments in one transaction: an index entry never points at footage
that is not on disk. A `kill -9` loses at most the fragments still in memory (~1 s per
stream); start-up recovery indexes complete fragments written after the last commit and
truncates a torn tail. A segment is sealed (fsynced, hash recorded) when it reaches its
length or its recording stops.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.store import Store
from vigil.footage import atrest, mp4

log = logging.getLogger("vigil.recording")
SYNC_INTERVAL = 1.0  # seconds between fdatasync + index commit


class Checksum:
    """CRC-32 of a segment file, kept while writing (cheap: footage is hashed once, in memory)."""

    def __init__(self, data: bytes = b"") -> None:
        self.value = zlib.crc32(data)

    def update(self, data: bytes) -> None:
        self.value = zlib.crc32(data, self.value)

    def hexdigest(self) -> str:
        return f"crc32:{self.value:08x}"

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
    size: int
    init_size: int
    hasher: Checksum  # of the bytes on disk (encrypted ones on an encrypted volume)
    cipher: atrest.FileCipher | None = None
    dirty: bool = False


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


class SegmentStore:
    """The writer thread and the footage index."""

    def __init__(self, store: Store, on_error: Callable[[str], None] | None = None) -> None:
        self.store = store
        self.on_error = on_error or (lambda message: None)
        self.jobs: queue.SimpleQueue = queue.SimpleQueue()
        self._open: dict[str, OpenSegment] = {}  # by recording
        self._keys: dict[str, tuple[str, int]] = {}
        self._pending: list[tuple] = []  # fragment rows waiting for their fsync
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self.written_bytes = 0
        self.failures = 0

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="vigil-writer", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.jobs.put(None)
        if self._thread is not None:
            self._thread.join(30)

    # -- called from other threads -----------------------------------------------------
    def write(self, job: FragmentJob) -> None:
        self.jobs.put(job)

    def seal(self, recording: str, stop: float | None) -> None:
        self.jobs.put(SealJob(recording, stop))

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
                self._sync()
                for recording in list(self._open):
                    self._seal(recording, None)
                return
            try:
                if isinstance(job, FragmentJob):
                    self._append(job)
                elif isinstance(job, SealJob):
                    self._sync()
                    self._seal(job.recording, job.stop)
            except OSError as err:
                self.failures += 1
                log.error("writing footage failed: %s", err)
                self.on_error(str(err))
            if time.monotonic() >= next_sync:
                self._sync()
                next_sync = time.monotonic() + SYNC_INTERVAL

    def _append(self, job: FragmentJob) -> None:
        segment = self._open.get(job.recording)
        if segment is not None and self._keys.get(job.recording) != job.segment_key:
            self._sync()
            self._seal(job.recording, None)
            segment = None
        if segment is None:
            segment = self._create(job)
        data = segment.cipher.apply(job.data, segment.size) if segment.cipher else job.data
        os.write(segment.fd, data)
        segment.hasher.update(data)
        self._pending.append((segment.id, segment.size, len(job.data), job.start, job.duration, job.frames,
                              int(job.key)))
        segment.size += len(job.data)
        segment.stop = job.start + job.duration
        segment.dirty = True
        self.written_bytes += len(job.data)

    def _create(self, job: FragmentJob) -> OpenSegment:
        job.directory.mkdir(parents=True, exist_ok=True)
        # The recording id keeps simultaneous recordings of one camera in files of their own.
        plain_name = f"{int(job.start * 1000)}-{job.recording}-{job.segment_key[1]:06d}.mp4"
        path = job.directory / atrest.keyring.file_name(job.directory, plain_name)
        cipher = atrest.keyring.cipher_for(path)
        init = cipher.apply(job.init, 0) if cipher else job.init
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        os.write(fd, init)
        os.fsync(fd)
        fd_dir = os.open(job.directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd_dir)
        finally:
            os.close(fd_dir)
        hasher = Checksum(init)
        with self.store.transaction() as db:
            cur = db.execute("INSERT INTO segments(recording, path, start, stop, bytes, init_size, sealed) "
                             "VALUES(?,?,?,?,?,?,0)",
                             (job.recording, str(path), job.start, job.start, len(job.init), len(job.init)))
        segment = OpenSegment(cur.lastrowid, job.recording, path, fd, job.start, job.start, len(job.init),
                              len(job.init), hasher, cipher)
        self._open[job.recording] = segment
        self._keys[job.recording] = job.segment_key
        return segment

    def _sync(self) -> None:
        """Make written fragments durable, then index them."""
        dirty = [s for s in self._open.values() if s.dirty]
        for segment in dirty:
            os.fdatasync(segment.fd)
            segment.dirty = False
        if not self._pending:
            return
        rows, self._pending = self._pending, []
        with self.store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO fragments(segment, offset, size, start, duration, frames, key) "
                           "VALUES(?,?,?,?,?,?,?)", rows)
            for segment in dirty:
                db.execute("UPDATE segments SET stop=?, bytes=? WHERE id=?", (segment.stop, segment.size, segment.id))

    def _seal(self, recording: str, stop: float | None) -> None:
        segment = self._open.pop(recording, None)
        self._keys.pop(recording, None)
        if segment is not None:
            os.fsync(segment.fd)
            os.close(segment.fd)
            with self.store.transaction() as db:
                db.execute("UPDATE segments SET stop=?, bytes=?, checksum=?, sealed=1 WHERE id=?",
                           (segment.stop, segment.size, segment.hasher.hexdigest(), segment.id))
        if stop is not None:
            with self.store.transaction() as db:
                db.execute("UPDATE recordings SET stop=? WHERE id=?", (stop, recording))


@dataclass
class RecoveryReport:
    indexed: int = 0  # fragments found on disk after the last commit and indexed
    truncated: int = 0  # bytes of torn tails cut off
    missing: int = 0  # index entries whose file is gone, removed
    sealed: int = 0
    closed: list[str] = field(default_factory=list)  # recordings that were open at the crash


def recover(store: Store, now: float, under: Path | None = None) -> RecoveryReport:
    """Reconcile the index with the files after an unclean stop (run before recording starts).

    The unsealed segments of a locked encrypted volume wait for its key: when it is unlocked
    they are recovered with `under` set to its folder, so that nothing else (a segment being
    written elsewhere meanwhile) is touched."""
    report = RecoveryReport()
    folder = os.path.abspath(under) if under is not None else None
    for seg_id, path, init_size in store.query("SELECT id, path, init_size FROM segments WHERE sealed=0"):
        file = Path(path)
        if atrest.keyring.locked(file) or (folder is not None and not Path(os.path.abspath(file)).is_relative_to(folder)):
            continue
        if not file.exists():
            with store.transaction() as db:
                db.execute("DELETE FROM fragments WHERE segment=?", (seg_id,))
                db.execute("DELETE FROM segments WHERE id=?", (seg_id,))
            report.missing += 1
            continue
        raw, data = atrest.read_footage(file)
        rows = store.query("SELECT offset, size, start, duration FROM fragments WHERE segment=? ORDER BY offset",
                           (seg_id,))
        end = rows[-1][0] + rows[-1][1] if rows else init_size
        last = (rows[-1][2] + rows[-1][3]) if rows else None
        new_rows = []
        pos = end
        boxes = list(mp4.iter_boxes(data, end))
        i = 0
        while i + 1 < len(boxes) and boxes[i][0] == b"moof" and boxes[i + 1][0] == b"mdat":
            start_off = boxes[i][1]
            stop_off = boxes[i + 1][1] + boxes[i + 1][2]
            samples = [s for s in mp4.parse_fragment(data[start_off:stop_off]) if s.track_id == 1]
            if samples and last is not None:
                frames_duration = sum(s.duration for s in samples) / 90000
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
        digest = Checksum(raw[:pos]).hexdigest()
        with store.transaction() as db:
            db.executemany("INSERT OR REPLACE INTO fragments(segment, offset, size, start, duration, frames, key) "
                           "VALUES(?,?,?,?,?,?,?)", new_rows)
            stop = last if last is not None else None
            db.execute("UPDATE segments SET bytes=?, checksum=?, sealed=1, stop=COALESCE(?, stop) WHERE id=?",
                       (pos, digest, stop, seg_id))
            # A recording closed before its last segment could be read (locked) ends where it does.
            db.execute("UPDATE recordings SET stop=MAX(stop, ?) WHERE stop IS NOT NULL AND "
                       "id=(SELECT recording FROM segments WHERE id=?)", (stop or 0, seg_id))
        report.indexed += len(new_rows)
        report.sealed += 1
    for (recording,) in store.query("SELECT id FROM recordings WHERE stop IS NULL") if under is None else ():
        last = store.query("SELECT MAX(stop) FROM segments WHERE recording=?", (recording,))[0][0]
        with store.transaction() as db:
            db.execute("UPDATE recordings SET stop=? WHERE id=?", (last if last is not None else now, recording))
        report.closed.append(recording)
    return report
