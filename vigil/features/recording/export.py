"""Exports: a time range of a recording as one playable file, built from the index and the
stored samples, cut to the requested frame without re-encoding, optionally encrypted.

The cut (`plan_export`) finds the frames; the muxer of the requested format lays out the file
(the muxer seam is muxer.py):

MP4 (`mp4`, here)
    A plain MP4, moov first. The video starts at the last key frame at or before the
    requested start (decoding needs it) and an edit list hides the frames before the
    requested one: players show exactly the frame that was on screen at `starttime` as
    the first frame (time 0) and the last frame that starts before `stoptime` as the last.
    The moov is computed from the fragment headers alone; the sample data is then streamed
    straight from the segment files, one span per fragment and track.

Matroska (`matroska`, mkv.py)
    From the same samples; the file starts at the key frame at or before the requested start,
    its lead-in frames flagged invisible. The end is cut at the frame as for MP4.

Encryption (`password` + `openssl-aes256` (CBC) or `openssl-aes256-ctr`, see crypto.py) wraps
either format; OpenSSL's `enc` command decrypts it. VAPIX's `zip-aes256` is not offered
(error 250).

The HTTP faces are http_export.py (exportrecording.cgi and the VAPIX export CGIs, jobs.cgi);
background exports are export_jobs.py; `export_to_file` writes an export to a path (benchmarks).
"""

from __future__ import annotations

import bisect
import math
import os
import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path

from vigil.core.store import Store
from vigil.features.recording import crypto, mkv
from vigil.features.recording.const import (
    BAD_ENCRYPTION,
    BAD_FORMAT,
    BAD_PASSWORD,
    NO_ENCRYPTION,
    NO_PASSWORD,
)
from vigil.features.recording.errors import ApiError
from vigil.features.recording.muxer import Cut, Muxer
from vigil.features.recording.responses import etag_for
from vigil.footage import atrest, mp4
from vigil.footage.reader import (
    FootageError,
    Layout,
    Reason,
    SampleRun,
    Selection,
    Transform,
    get_recording,
    read_samples,
    select,
)


# -- what to export ------------------------------------------------------------------------
@dataclass
class ExportPlan:
    layout: Layout
    fmt: str  # mp4 | matroska
    recording: str
    first_frame: float  # wall time of the first frame in the file (the key frame for Matroska)
    shown_start: float  # wall time of the first frame shown (the requested one)
    stop: float  # wall time at which the last frame ends
    frames: int  # video frames shown

    @property
    def identity(self) -> str:
        """Names these exact bytes: the same request on the same footage gives the same file."""
        return etag_for(self.layout, self.recording, self.fmt, self.first_frame, self.shown_start, self.stop)

    def encrypted(self, password: str | None, encryption: str | None) -> Transform | None:
        """The encryption asked for (validated with `encryption_check`), or None."""
        if not password or not encryption:
            return None
        return crypto.encryptor(encryption, password, self.identity.encode())

    @property
    def extension(self) -> str:
        return FORMATS[self.fmt].extension

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt].media_type

    def filename(self, requested: str | None = None) -> str:
        if requested:
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", requested).strip("._")[:100] or "export"
        else:
            start = self.first_frame if self.fmt == "matroska" else self.shown_start
            stem = time.strftime("%Y%m%d_%H%M%S", time.gmtime(start)) + "_" + \
                time.strftime("%Y%m%d_%H%M%S", time.gmtime(self.stop))
        return f"{stem}.{self.extension}"


def timeline(runs: list[SampleRun]) -> tuple[list[int], list[int], list[bool]]:
    """Per-sample durations, sizes and key flags of consecutive runs; the last sample of a run
    lasts until the next run begins, so a gap in the footage stays a gap in the file."""
    durations: list[int] = []
    sizes: list[int] = []
    keys: list[bool] = []
    for n, run in enumerate(runs):
        durations.extend(run.durations)
        sizes.extend(run.sizes)
        keys.extend(run.keys)
        if n + 1 < len(runs):
            last_start = run.end - run.durations[-1]
            gap = runs[n + 1].time - last_start
            if gap > 0:
                durations[-1] = gap
    return durations, sizes, keys


def plan_export(store: Store, recording_id: str | None, start: float | None, stop: float | None,
                fmt: str, disk: str | None = None) -> ExportPlan:
    if fmt not in FORMATS:
        raise ApiError(BAD_FORMAT, f"unknown export format {fmt!r}; use {' or '.join(FORMATS)}")
    recording = get_recording(store, recording_id, disk)
    selection = select(store, recording, start, stop)
    try:
        cut = _cut(selection, start, stop)
        scale = selection.video.timescale
        t0 = selection.start
        layout = FORMATS[fmt].muxer(selection, cut)
        return ExportPlan(layout, fmt, recording.id, t0 + cut.first_time / scale, t0 + cut.shown_time / scale,
                          t0 + cut.end_time / scale, cut.frames - cut.shown)
    except BaseException:
        selection.close()
        raise


def _cut(selection: Selection, start: float | None, stop: float | None) -> Cut:
    video_track = selection.video
    scale = video_track.timescale
    t0 = selection.start
    groups = read_samples(selection)
    vid = video_track.track_id
    runs = [(n, g.tracks[vid]) for n, g in enumerate(groups) if vid in g.tracks]
    if not runs:
        raise FootageError(Reason.NO_FOOTAGE, "no video frame in the requested range")
    start_at = 0 if start is None else max(round((start - t0) * scale), 0)
    stop_at = math.inf if stop is None else round((stop - t0) * scale)  # whole ticks: no float noise at the edge
    starts = [run.time for _n, run in runs]
    # k: the frame on screen at `start`; a: the key frame at or before it; j: the last frame before `stop`.
    r_k = max(bisect.bisect_right(starts, start_at) - 1, 0)
    i_k = max(bisect.bisect_right(runs[r_k][1].times(), start_at) - 1, 0)
    r_a = i_a = -1
    for r in range(r_k, -1, -1):
        keys = runs[r][1].keys[:i_k + 1] if r == r_k else runs[r][1].keys
        if True in keys:
            r_a, i_a = r, len(keys) - 1 - keys[::-1].index(True)
            break
    r_j = bisect.bisect_left(starts, stop_at) - 1
    i_j = bisect.bisect_left(runs[r_j][1].times(), stop_at) - 1 if r_j >= 0 else -1
    if r_a < 0 or r_j < 0 or (r_j, i_j) < (r_k, i_k):
        raise FootageError(Reason.NO_FOOTAGE, "no video frame in the requested range")
    video: dict[int, SampleRun] = {}
    shown = 0
    for r in range(r_a, r_j + 1):
        n, run = runs[r]
        lo = i_a if r == r_a else 0
        hi = i_j + 1 if r == r_j else len(run)
        if r < r_k:
            shown += hi - lo
        elif r == r_k:
            shown += i_k - lo
        video[n] = run.trim(lo, hi) if (lo, hi) != (0, len(run)) else run
    ordered = list(video.values())
    first_time, end_time = ordered[0].time, ordered[-1].end
    shown_time = runs[r_k][1].times()[i_k]
    audio_track = next((t for t in selection.tracks if t.kind == "audio"), None)
    audio: dict[int, SampleRun] = {}
    if audio_track is not None:
        rate = audio_track.timescale
        lo_time, hi_time = first_time * rate / scale, end_time * rate / scale
        for n in video:
            run = groups[n].tracks.get(audio_track.track_id)
            if run is None:
                continue
            times = run.times()
            lo = bisect.bisect_right([t + d for t, d in zip(times, run.durations, strict=True)], lo_time)
            hi = bisect.bisect_left(times, hi_time)
            if hi > lo:
                audio[n] = run.trim(lo, hi) if (lo, hi) != (0, len(run)) else run
    pairs = [(video.get(n), audio.get(n)) for n in sorted(set(video) | set(audio))]
    return Cut(pairs, ordered, shown, shown_time, first_time, end_time,
                audio_track.track_id if audio_track else None, list(audio.values()))


# -- MP4 ------------------------------------------------------------------------------------
def progressive_mp4(selection: Selection, cut: Cut) -> Layout:
    """The MP4 muxer (see the module docstring)."""
    video_info = selection.video
    scale = video_info.timescale
    layout = Layout(selection)
    spans: list[tuple[int, int, int]] = []  # (fd, offset, length) in mdat order
    video_chunks: list[tuple[int, int]] = []
    audio_chunks: list[tuple[int, int]] = []
    at = 0
    for video_run, audio_run in cut.groups:
        for run, chunks in ((video_run, video_chunks), (audio_run, audio_chunks)):
            if run is not None:
                length = sum(run.sizes)
                chunks.append((at, len(run)))
                spans.append((run.fd, run.offset, length))
                at += length
    shown_ms = -(-(cut.end_time - cut.shown_time) * 1000 // scale)
    durations, sizes, keys = timeline(cut.video)
    tables = [mp4.TrackTable(video_info, durations, sizes, keys, video_chunks,
                             [(shown_ms, cut.shown_time - cut.first_time)])]
    if cut.audio:
        audio_info = next(t for t in selection.tracks if t.track_id == cut.audio_id)
        rate = audio_info.timescale
        shown_audio = cut.shown_time * rate / scale
        first_audio = cut.audio[0].time
        if first_audio <= shown_audio:
            edits = [(shown_ms, round(shown_audio - first_audio))]
        else:
            delay = round((first_audio - shown_audio) * 1000 / rate)
            edits = [(delay, -1), (max(shown_ms - delay, 0), 0)]
        a_durations, a_sizes, _keys = timeline(cut.audio)
        tables.append(mp4.TrackTable(audio_info, a_durations, a_sizes, [True] * len(a_sizes), audio_chunks, edits))
    layout.add_bytes(mp4.progressive_header(tables))
    for fd, offset, length in spans:
        layout.add_span(fd, offset, length)
    return layout


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    media_type: str
    muxer: Muxer


FORMATS = {"mp4": ExportFormat("mp4", "video/mp4", progressive_mp4),
           "matroska": ExportFormat("mkv", "video/x-matroska", mkv.matroska)}


# -- writing to a file ---------------------------------------------------------------------------
class ExportCancelled(Exception):
    pass


COPY_DIRECT = 256 * 1024  # spans this long go file to file in the kernel (copy_file_range)


def write_layout(layout: Layout, out_fd: int, transform: Transform | None = None,
                 progress: Callable[[int], None] | None = None,
                 cancelled: Callable[[], bool] | None = None) -> int:
    """Write a layout (through `transform` if any) to an open file; returns bytes written."""
    written = 0

    def write(data: bytes) -> None:
        nonlocal written
        view = memoryview(data)
        while view:
            n = os.write(out_fd, view)
            view = view[n:]
            written += n

    def check() -> None:
        if cancelled is not None and cancelled():
            raise ExportCancelled()
        if progress is not None:
            progress(written)

    if transform is not None:
        for view in _one_ahead(transform.stream(layout.reader(), 0, transform.size(layout.size))):
            write(view)
            check()
        check()
        return written
    reader = layout.reader()
    buffer: list[bytes] = []
    buffered = 0
    pos = 0
    for length, piece in zip(layout.lengths, layout.pieces, strict=True):
        if piece[0] == "s" and length >= COPY_DIRECT and atrest.is_plain(piece[1]):
            if buffer:
                write(b"".join(buffer))
                buffer, buffered = [], 0
            _copy(piece[1], piece[2], length, out_fd)
            written += length
            check()
        else:
            buffer.append(reader.read(pos, length))
            buffered += length
            if buffered >= 1 << 20:
                write(b"".join(buffer))
                buffer, buffered = [], 0
                check()
        pos += length
    if buffer:
        write(b"".join(buffer))
    check()
    return written


def _one_ahead(parts: Iterator[memoryview]) -> Iterator[memoryview]:
    """`parts`, the next one produced in a thread while the caller writes this one (reading
    and encrypting overlap with writing: the cipher and the reads release the GIL)."""
    with ThreadPoolExecutor(1, thread_name_prefix="vigil-export") as pool:
        ahead: Future | None = pool.submit(next, parts, None)
        try:
            while ahead is not None:
                part = ahead.result()
                ahead = None
                if part is None:
                    return
                ahead = pool.submit(next, parts, None)
                yield part
        finally:
            if ahead is not None:  # (the layout's files close after this)
                wait([ahead])


def _copy(src: int, offset: int, length: int, dst: int) -> None:
    done = 0
    try:
        while done < length:
            n = os.copy_file_range(src, dst, length - done, offset + done)
            if n == 0:
                raise OSError(f"segment file ends early at {offset + done}")
            done += n
    except OSError as err:
        if err.errno not in (18, 22, 38, 95):  # EXDEV, EINVAL, ENOSYS, EOPNOTSUPP: copy by hand
            raise
        while done < length:
            data = atrest.pread(src, min(1 << 20, length - done), offset + done)
            if not data:
                raise OSError(f"segment file ends early at {offset + done}") from None
            os.write(dst, data)
            done += len(data)


@dataclass
class ExportResult:
    path: Path
    bytes: int
    seconds: float  # total, including planning
    plan_seconds: float  # reading the index and fragment headers, before the first byte
    first_frame: float
    shown_start: float
    stop: float
    frames: int

    @property
    def mb_per_s(self) -> float:
        return self.bytes / 1e6 / self.seconds if self.seconds else 0.0


def export_to_file(store: Store | Path, recording_id: str, path: Path, start: float | None = None,
                   stop: float | None = None, fmt: str = "mp4", password: str | None = None,
                   progress: Callable[[int], None] | None = None,
                   cancelled: Callable[[], bool] | None = None,
                   encryption: str = crypto.OPENSSL_AES256) -> ExportResult:
    """Export to `path` (synchronously; call it in a thread). `store` may be the path of a
    device database. With a password the file is encrypted (`encryption`: see crypto.py).
    Used by bench/export.py and bench/recording.py."""
    began = time.perf_counter()
    own = not isinstance(store, Store)
    db = Store(Path(store)) if own else store
    try:
        plan = plan_export(db, recording_id, start, stop, fmt)
    finally:
        if own:
            db.close()
    planned = time.perf_counter()
    transform = plan.encrypted(password, encryption) if password else None
    try:
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            size = write_layout(plan.layout, out, transform, progress, cancelled)
        finally:
            os.close(out)
    finally:
        plan.layout.close()
    return ExportResult(Path(path), size, time.perf_counter() - began, planned - began, plan.first_frame,
                        plan.shown_start, plan.stop, plan.frames)


def encryption_check(password: str | None, encryption: str | None) -> None:
    """Refuse a password/encryptionformat pair that cannot be used (VAPIX codes 240-270)."""
    if password in (None, "") and encryption in (None, ""):
        return
    if password in (None, ""):
        raise ApiError(NO_PASSWORD, "encryptionformat is set but no password")
    if encryption in (None, ""):
        raise ApiError(NO_ENCRYPTION, f"a password needs encryptionformat ({', '.join(crypto.FORMATS)})")
    if encryption not in crypto.FORMATS:
        raise ApiError(BAD_ENCRYPTION, f"unsupported encryption format {encryption!r}; "
                       f"supported: {', '.join(crypto.FORMATS)}")
    assert password is not None and encryption is not None
    problem = crypto.password_problem(password)
    if problem:
        raise ApiError(BAD_PASSWORD, problem)

