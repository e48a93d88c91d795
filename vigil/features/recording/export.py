"""Exports: a time range of a recording as one playable file, built from the index and the
stored samples, cut to the requested frame without re-encoding, optionally encrypted.

MP4 (`exportformat=mp4`)
    A plain MP4, moov first. The video starts at the last key frame at or before the
    requested start (decoding needs it) and an edit list hides the frames before the
    requested one: players show exactly the frame that was on screen at `starttime` as
    the first frame (time 0) and the last frame that starts before `stoptime` as the last.
    The moov is computed from the fragment headers alone; the sample data is then streamed
    straight from the segment files, one span per fragment and track.

Matroska (`exportformat=matroska`)
    Written by Vigil too (EBML, no muxer library), from the same samples: one cluster per
    GOP, cues for every cluster, known sizes everywhere, so it streams with a
    Content-Length. Matroska has no edit list, so the file starts at the key frame at or
    before the requested start (at most one GOP, about a second, early); those lead-in
    frames are flagged invisible (the SimpleBlock "decode, do not show" flag of RFC 9559),
    and a `VIGIL_REQUESTED_START` tag plus `DateUTC` (the wall time of the first frame) say
    where the requested moment is. Players that ignore the flag (FFmpeg-based ones) show the
    lead-in. The end is cut at the frame as for MP4.

Encryption (`password` + `encryptionformat=openssl-aes256` (CBC) or `openssl-aes256-ctr`, see
crypto.py) wraps either format; OpenSSL's `enc` command decrypts it. VAPIX's `zip-aes256` is
not offered (error 250).

Entry points:
    GET /axis-cgi/record/export/exportrecording.cgi   the VAPIX call; streams the file
        (operator). It answers Range requests (unless CBC-encrypted), so downloads resume.
    GET /axis-cgi/record/export/properties.cgi         proper start, stop, exact size
    GET /axis-cgi/record/export/capabilities.cgi, schemaversions.cgi
    POST /axis-cgi/record/export/jobs.cgi              JSON: startExport, getExport,
        listExports, removeExport: an export written to the data folder in the
        background, with progress, for long ranges and the web page
    GET /axis-cgi/record/export/download.cgi?jobid=N   a finished job's file (Range too)
    GET /axis-cgi/record/export/getjobstatus.cgi       the VAPIX job status, for those jobs
    export_to_file(...)                                the same, to a path (benchmarks)

Errors use the VAPIX export API's XML (`GeneralError`, codes 10-280, HTTP 200) on the CGIs
and the same codes on the JSON API.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import os
import re
import shutil
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.core.store import Store
from vigil.features.recording import crypto
from vigil.features.recording.api import iso
from vigil.features.recording.playback import parse_times
from vigil.features.recording.responses import LayoutResponse, etag_for
from vigil.footage import atrest, mp4
from vigil.footage.reader import (
    BAD_ENCRYPTION,
    BAD_FORMAT,
    BAD_PASSWORD,
    INVALID_REQUEST,
    JOB_NOT_FOUND,
    NO_ENCRYPTION,
    NO_PASSWORD,
    PROCESSING,
    START_AFTER_END,
    TOO_MANY_JOBS,
    FootageError,
    Layout,
    SampleRun,
    Transform,
    get_recording,
    read_samples,
    select,
)
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, form_args

if TYPE_CHECKING:
    from vigil.device import Device

FORMATS = {"mp4": ("mp4", "video/mp4"), "matroska": ("mkv", "video/x-matroska")}
SCHEMA = "1.2"
MATROSKA_EPOCH = 978307200  # 2001-01-01T00:00:00Z, the origin of Matroska's DateUTC


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
        return FORMATS[self.fmt][0]

    @property
    def media_type(self) -> str:
        return FORMATS[self.fmt][1]

    def filename(self, requested: str | None = None) -> str:
        if requested:
            stem = re.sub(r"[^A-Za-z0-9._-]+", "_", requested).strip("._")[:100] or "export"
        else:
            start = self.first_frame if self.fmt == "matroska" else self.shown_start
            stem = time.strftime("%Y%m%d_%H%M%S", time.gmtime(start)) + "_" + \
                time.strftime("%Y%m%d_%H%M%S", time.gmtime(self.stop))
        return f"{stem}.{self.extension}"


@dataclass
class _Cut:
    """What to write: the video runs from key frame a to frame j, the first shown frame k,
    the audio runs alongside, and both paired per fragment (the order they are laid out in)."""

    groups: list[tuple[SampleRun | None, SampleRun | None]]
    video: list[SampleRun]
    shown: int  # index of frame k among the video samples
    shown_time: int  # output times, video timescale
    first_time: int
    end_time: int  # where the last frame ends
    audio_id: int | None
    audio: list[SampleRun]

    @property
    def frames(self) -> int:
        return sum(len(r) for r in self.video)


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
        raise FootageError(BAD_FORMAT, f"unknown export format {fmt!r}; use mp4 or matroska")
    recording = get_recording(store, recording_id, disk)
    selection = select(store, recording, start, stop)
    try:
        cut = _cut(selection, start, stop)
        scale = selection.video.timescale
        t0 = selection.start
        layout = _mp4(selection, cut) if fmt == "mp4" else _matroska(selection, cut)
        return ExportPlan(layout, fmt, recording.id, t0 + cut.first_time / scale, t0 + cut.shown_time / scale,
                          t0 + cut.end_time / scale, cut.frames - cut.shown)
    except BaseException:
        selection.close()
        raise


def _cut(selection, start: float | None, stop: float | None) -> _Cut:
    video_track = selection.video
    scale = video_track.timescale
    t0 = selection.start
    groups = read_samples(selection)
    vid = video_track.track_id
    runs = [(n, g.tracks[vid]) for n, g in enumerate(groups) if vid in g.tracks]
    if not runs:
        raise FootageError(START_AFTER_END, "no video frame in the requested range", 404)
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
        raise FootageError(START_AFTER_END, "no video frame in the requested range", 404)
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
    return _Cut(pairs, ordered, shown, shown_time, first_time, end_time,
                audio_track.track_id if audio_track else None, list(audio.values()))


# -- MP4 ------------------------------------------------------------------------------------
def _mp4(selection, cut: _Cut) -> Layout:
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


# -- Matroska ---------------------------------------------------------------------------------
def _vint(value: int, width: int | None = None) -> bytes:
    """An EBML variable-size integer (element data sizes)."""
    if width is None:
        width = 1
        while value >= (1 << (7 * width)) - 1:
            width += 1
    return (value | (1 << (7 * width))).to_bytes(width, "big")


def _el(element_id: int, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return element_id.to_bytes((element_id.bit_length() + 7) // 8, "big") + _vint(len(body)) + body


def _uint(element_id: int, value: int, width: int | None = None) -> bytes:
    width = width or max(1, (value.bit_length() + 7) // 8)
    return _el(element_id, value.to_bytes(width, "big"))


def _sint(element_id: int, value: int) -> bytes:
    return _el(element_id, value.to_bytes(8, "big", signed=True))


def _float(element_id: int, value: float) -> bytes:
    return _el(element_id, struct.pack(">d", value))


def _text(element_id: int, value: str) -> bytes:
    return _el(element_id, value.encode("utf-8"))


SEGMENT, SEEKHEAD, INFO, TRACKS, TAGS, CUES, CLUSTER = (0x18538067, 0x114D9B74, 0x1549A966, 0x1654AE6B,
                                                        0x1254C367, 0x1C53BB6B, 0x1F43B675)
INVISIBLE, KEYFRAME = 0x08, 0x80
CLUSTER_SPAN_MS = 30_000  # block times are int16 milliseconds from their cluster's


def _track_entry(number: int, info: mp4.TrackInfo) -> bytes:
    common = [_uint(0xD7, number), _uint(0x73C5, number), _uint(0x9C, 0), _text(0x22B59C, "und")]
    if info.kind == "video":
        codec = "V_MPEG4/ISO/AVC" if info.codec == "H264" else "V_MPEGH/ISO/HEVC"
        return _el(0xAE, *common, _uint(0x83, 1), _text(0x86, codec), _el(0x63A2, info.config),
                   _el(0xE0, _uint(0xB0, info.width), _uint(0xBA, info.height)))
    rate = info.sample_rate or info.timescale
    audio = _el(0xE1, _float(0xB5, float(rate)), _uint(0x9F, info.channels))
    if info.codec == "AAC":
        return _el(0xAE, *common, _uint(0x83, 2), _text(0x86, "A_AAC"), _el(0x63A2, info.config), audio)
    tag = 7 if info.codec == "PCMU" else 6  # WAVE_FORMAT_MULAW / ALAW
    waveformat = struct.pack("<HHIIHHH", tag, info.channels, rate, rate * info.channels, info.channels, 8, 0)
    return _el(0xAE, *common, _uint(0x83, 2), _text(0x86, "A_MS/ACM"), _el(0x63A2, waveformat),
               _el(0xE1, _float(0xB5, float(rate)), _uint(0x9F, info.channels), _uint(0x6264, 8)))


def _matroska(selection, cut: _Cut) -> Layout:
    video_info = selection.video
    scale = video_info.timescale
    origin = cut.first_time  # the file's time 0, in the video timescale
    t0 = selection.start
    numbers = {video_info.track_id: 1}
    infos = [video_info]
    audio_info = None
    if cut.audio:
        audio_info = next(t for t in selection.tracks if t.track_id == cut.audio_id)
        numbers[audio_info.track_id] = 2
        infos.append(audio_info)
    # Blocks in time order: (ms, track number, flags, fd, offset, size)
    blocks: list[tuple[int, int, int, int, int, int]] = []
    n = 0
    for run in cut.video:
        offset, time_ = run.offset, run.time
        for duration, size, key in zip(run.durations, run.sizes, run.keys, strict=True):
            flags = (KEYFRAME if key else 0) | (INVISIBLE if n < cut.shown else 0)
            blocks.append((round((time_ - origin) * 1000 / scale), 1, flags, run.fd, offset, size))
            offset += size
            time_ += duration
            n += 1
    if audio_info is not None:
        rate = audio_info.timescale
        for run in cut.audio:
            offset, time_ = run.offset, run.time
            for duration, size in zip(run.durations, run.sizes, strict=True):
                ms = round(time_ * 1000 / rate - origin * 1000 / scale)
                blocks.append((max(ms, 0), 2, KEYFRAME, run.fd, offset, size))
                offset += size
                time_ += duration
        blocks.sort(key=lambda b: (b[0], b[1]))
    # Clusters: a new one at each video key frame (or every 30 s at the latest); a cluster
    # holding a video key frame is a place to start playing, so it gets a cue.
    clusters: list[list] = []  # [ms, blocks, has video, has a video key frame]
    for block in blocks:
        ms, number, flags = block[0], block[1], block[2]
        video_key = number == 1 and bool(flags & KEYFRAME)
        current = clusters[-1] if clusters else None
        if current is None or (video_key and current[2]) or ms - current[0] > CLUSTER_SPAN_MS:
            current = [ms, [], False, False]
            clusters.append(current)
        current[1].append(block)
        current[2] = current[2] or number == 1
        current[3] = current[3] or video_key
    # The clusters as layout pieces: a header, then per block its header and its sample data.
    lengths: list[int] = []
    pieces: list[tuple] = []
    cluster_sizes = []
    pack = struct.Struct(">BhB").pack
    for cluster_ms, members, _video, _key in clusters:
        stamp = _uint(0xE7, cluster_ms)
        first = len(lengths)
        lengths.append(0)
        pieces.append(("b", b""))
        size = len(stamp)
        for ms, number, flags, fd, offset, length in members:
            n = length + 4
            head = b"\xa3" + (bytes((0x80 | n,)) if n < 0x7F else (0x4000 | n).to_bytes(2, "big") if n < 0x3FFF
                               else (0x200000 | n).to_bytes(3, "big") if n < 0x1FFFFF
                               else (0x10000000 | n).to_bytes(4, "big")) + pack(0x80 | number, ms - cluster_ms, flags)
            lengths += (len(head), length)
            pieces += (("b", head), ("s", fd, offset))
            size += len(head) + length
        header = CLUSTER.to_bytes(4, "big") + _vint(size, 8) + stamp
        lengths[first] = len(header)
        pieces[first] = ("b", header)
        cluster_sizes.append(len(header) + size - len(stamp))
    end_ms = (cut.end_time - origin) * 1000 / scale
    first_wall = t0 + origin / scale
    info = _el(INFO, _uint(0x2AD7B1, 1_000_000), _float(0x4489, float(end_ms)), _text(0x4D80, "Vigil"),
               _text(0x5741, "Vigil"), _sint(0x4461, round((first_wall - MATROSKA_EPOCH) * 1e9)),
               _text(0x7BA9, f"{selection.recording.id} from {iso(first_wall)}"))
    tracks = _el(TRACKS, *[_track_entry(numbers[i.track_id], i) for i in infos])
    shown_wall = t0 + cut.shown_time / scale
    simple = [("VIGIL_RECORDING", selection.recording.id), ("VIGIL_SOURCE", selection.recording.source),
              ("VIGIL_FIRST_FRAME", iso(first_wall)), ("VIGIL_REQUESTED_START", iso(shown_wall)),
              ("VIGIL_REQUESTED_START_OFFSET_MS", str(round((shown_wall - first_wall) * 1000)))]
    tags = _el(TAGS, _el(0x7373, _el(0x63C0, _uint(0x68CA, 50)),
                         *[_el(0x67C8, _text(0x45A3, k), _text(0x4487, v)) for k, v in simple]))

    def cues_for(positions: list[int]) -> bytes:
        points = [_el(0xBB, _uint(0xB3, clusters[n][0], 8),
                      _el(0xB7, _uint(0xF7, 1), _uint(0xF1, positions[n], 8)))
                  for n in range(len(clusters)) if clusters[n][3]]
        return _el(CUES, *points)

    def seekhead(positions: dict[int, int]) -> bytes:
        return _el(SEEKHEAD, *[_el(0x4DBB, _el(0x53AB, element.to_bytes(4, "big")), _uint(0x53AC, at, 8))
                               for element, at in positions.items()])

    head_size = len(seekhead({INFO: 0, TRACKS: 0, TAGS: 0, CUES: 0}))
    cues_size = len(cues_for([0] * len(clusters)))
    at = head_size
    places = {}
    for element, size in ((INFO, len(info)), (TRACKS, len(tracks)), (TAGS, len(tags)), (CUES, cues_size)):
        places[element] = at
        at += size
    positions = []
    for size in cluster_sizes:
        positions.append(at)
        at += size
    segment_size = at
    ebml = _el(0x1A45DFA3, _uint(0x4286, 1), _uint(0x42F7, 1), _uint(0x42F2, 4), _uint(0x42F3, 8),
               _text(0x4282, "matroska"), _uint(0x4287, 4), _uint(0x4285, 2))
    layout = Layout(selection)
    layout.add_bytes(ebml + SEGMENT.to_bytes(4, "big") + _vint(segment_size, 8) + seekhead(places) + info + tracks
                     + tags + cues_for(positions))
    layout.extend(lengths, pieces)
    return layout


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
        write(transform.header())
        for chunk in layout.reader().chunks(0, layout.size):
            write(transform.update(chunk))
            check()
        write(transform.finalize())
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


# -- background jobs ------------------------------------------------------------------------------
@dataclass
class ExportJob:
    id: int
    owner: str
    recording: str
    fmt: str
    encrypted: bool
    filename: str
    size: int
    first_frame: float
    shown_start: float
    stop: float
    path: Path
    status: str = "running"  # running | done | failed | cancelled
    written: int = 0
    error: FootageError | None = None
    created: float = field(default_factory=time.time)
    finished: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    task: asyncio.Task | None = None

    @property
    def progress(self) -> int:
        if self.status == "done":
            return 100
        return min(99, self.written * 100 // self.size) if self.size else 0

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "jobId": self.id, "recordingId": self.recording, "format": self.fmt, "encrypted": self.encrypted,
            "status": self.status, "progress": self.progress, "bytes": self.written, "size": self.size,
            "startTime": iso(self.first_frame if self.fmt == "matroska" else self.shown_start),
            "requestedStartTime": iso(self.shown_start), "stopTime": iso(self.stop), "fileName": self.filename,
            "owner": self.owner, "created": iso(self.created)}
        if self.error is not None:
            out["error"] = {"code": self.error.code, "message": self.error.message}
        return out


class ExportJobs:
    """Exports written in the background to the data folder's `exports/`, with progress."""

    MAX_RUNNING = 2
    KEEP_SECONDS = 3600  # a finished job's file is kept this long (or until removed)
    KEEP_FINISHED = 10

    def __init__(self, device: Device) -> None:
        self.device = device
        self.dir = device.data / "exports"
        shutil.rmtree(self.dir, ignore_errors=True)  # jobs do not outlive the process
        self.jobs: dict[int, ExportJob] = {}
        self._next = 1

    def _expire(self) -> None:
        now = time.time()
        finished = sorted((j for j in self.jobs.values() if j.finished is not None), key=lambda j: j.finished or 0)
        for n, job in enumerate(finished):
            if now - (job.finished or now) > self.KEEP_SECONDS or n < len(finished) - self.KEEP_FINISHED:
                self._drop(job)

    def _drop(self, job: ExportJob) -> None:
        self.jobs.pop(job.id, None)
        job.path.unlink(missing_ok=True)

    def visible(self, who: Principal) -> list[ExportJob]:
        self._expire()
        return [j for j in self.jobs.values() if who.role >= Role.ADMIN or j.owner == who.name]

    def get(self, job_id: Any, who: Principal) -> ExportJob:
        try:
            number = int(job_id)
        except (TypeError, ValueError):
            raise FootageError(INVALID_REQUEST, f"jobid must be a number, not {job_id!r}") from None
        job = next((j for j in self.visible(who) if j.id == number), None)
        if job is None:
            raise FootageError(JOB_NOT_FOUND, f"no export job {number}", 404)
        return job

    async def start(self, who: Principal, recording: str | None, start: float | None, stop: float | None,
                    fmt: str, password: str | None, encryption: str | None, filename: str | None) -> ExportJob:
        self._expire()
        if sum(1 for j in self.jobs.values() if j.status == "running") >= self.MAX_RUNNING:
            raise FootageError(TOO_MANY_JOBS, f"at most {self.MAX_RUNNING} exports can run at a time")
        encryption_check(password, encryption)
        plan = await asyncio.to_thread(plan_export, self.device.store, recording, start, stop, fmt)
        transform = plan.encrypted(password, encryption)
        size = transform.size(plan.layout.size) if transform else plan.layout.size
        try:
            self.dir.mkdir(parents=True, exist_ok=True)
            floor = self.device.params.get_int("Recording.FreeSpaceFloorMB") * 1_000_000
            if shutil.disk_usage(self.dir).free - size < floor:
                raise FootageError(PROCESSING, "not enough free space for this export; download it directly instead")
        except BaseException:
            plan.layout.close()
            raise
        job_id = self._next
        self._next += 1
        name = plan.filename(filename) + (".enc" if transform else "")
        job = ExportJob(job_id, who.name, plan.recording, fmt, transform is not None, name, size, plan.first_frame,
                        plan.shown_start, plan.stop, self.dir / f"job-{job_id}.part")
        self.jobs[job_id] = job
        job.task = asyncio.ensure_future(self._run(job, plan, transform))
        self.device.logs.audit(who.name, f"started export job {job_id} of recording {plan.recording} "
                               f"{iso(job.shown_start)} to {iso(job.stop)} as {fmt}"
                               + (" (encrypted)" if transform else ""), "recording")
        return job

    async def _run(self, job: ExportJob, plan: ExportPlan, transform: Transform | None) -> None:
        def progress(done: int) -> None:
            job.written = done

        def work() -> None:
            out = os.open(job.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                write_layout(plan.layout, out, transform, progress, job.cancel.is_set)
            finally:
                os.close(out)

        try:
            await asyncio.to_thread(work)
            job.status = "done"
            job.written = job.size
        except ExportCancelled:
            job.status = "cancelled"
            job.path.unlink(missing_ok=True)
        except asyncio.CancelledError:
            job.cancel.set()
            job.status = "cancelled"
            job.path.unlink(missing_ok=True)
            raise
        except OSError as err:
            job.status = "failed"
            job.error = FootageError(PROCESSING, f"writing the export failed: {err}")
            job.path.unlink(missing_ok=True)
            self.device.logs.system(f"export job {job.id} failed: {err}", "error")
        finally:
            plan.layout.close()
            job.finished = time.time()

    def remove(self, job: ExportJob) -> None:
        job.cancel.set()
        self._drop(job)


def encryption_check(password: str | None, encryption: str | None) -> None:
    """Refuse a password/encryptionformat pair that cannot be used (VAPIX codes 240-270)."""
    if password in (None, "") and encryption in (None, ""):
        return
    if password in (None, ""):
        raise FootageError(NO_PASSWORD, "encryptionformat is set but no password")
    if encryption in (None, ""):
        raise FootageError(NO_ENCRYPTION, f"a password needs encryptionformat ({', '.join(crypto.FORMATS)})")
    if encryption not in crypto.FORMATS:
        raise FootageError(BAD_ENCRYPTION, f"unsupported encryption format {encryption!r}; "
                           f"supported: {', '.join(crypto.FORMATS)}")
    assert password is not None and encryption is not None
    problem = crypto.password_problem(password)
    if problem:
        raise FootageError(BAD_PASSWORD, problem)


# -- HTTP ---------------------------------------------------------------------------------------
def xml_reply(body: str) -> Response:
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<ExportRecordingResponse SchemaVersion="{SCHEMA}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="http://www.axis.com/vapix/http_cgi/exportrecording1.xsd">'
        f"{body}</ExportRecordingResponse>\n", media_type="text/xml; charset=utf-8")


def general_error(code: int, description: str) -> str:
    return f"<GeneralError><ErrorCode>{code}</ErrorCode><ErrorDescription>{escape(description)}</ErrorDescription>" \
           "</GeneralError>"


def xml_error(err: FootageError) -> Response:
    return xml_reply(general_error(err.code, err.message))


def _arg(args: list[tuple[str, str]], key: str) -> str | None:
    return next((v for k, v in args if k == key), None)


def _schema(args: list[tuple[str, str]]) -> None:
    version = _arg(args, "schemaversion")
    if version is None or version == "":
        raise FootageError(INVALID_REQUEST, "schemaversion is required")
    if version.split(".")[0].strip() != "1":
        raise FootageError(40, f"schema version {version!r} is not supported; use 1")


def _content_disposition(name: str) -> str:
    return f'attachment; filename="{name}"'


def register(device: Device) -> ExportJobs:
    store = device.store
    jobs = ExportJobs(device)
    device.features[EXPORT_JOBS] = jobs

    async def exportrecording(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            _schema(args)
            start, stop = parse_times(args)
            fmt = _arg(args, "exportformat")
            if not fmt:
                raise FootageError(BAD_FORMAT, "exportformat is required (mp4 or matroska)")
            encryption_check(_arg(args, "password"), _arg(args, "encryptionformat"))
            plan = await asyncio.to_thread(plan_export, store, _arg(args, "recordingid"), start, stop, fmt,
                                           _arg(args, "diskid"))
        except FootageError as err:
            return xml_error(err)
        transform = plan.encrypted(_arg(args, "password"), _arg(args, "encryptionformat"))
        name = plan.filename(_arg(args, "filename"))
        headers = {"Cache-Control": "no-store", "X-Vigil-Start-Time": iso(plan.shown_start),
                   "X-Vigil-First-Frame-Time": iso(plan.first_frame), "X-Vigil-Stop-Time": iso(plan.stop)}
        media_type = plan.media_type
        if transform is not None:
            name += ".enc"
            media_type = "application/octet-stream"
        headers["Content-Disposition"] = _content_disposition(name)
        what = (f"recording {plan.recording} {iso(plan.shown_start)} to {iso(plan.stop)} as {fmt}"
                + (" (encrypted)" if transform else ""))

        def done(sent: int, complete: bool) -> None:
            if request.method != "HEAD":
                device.logs.audit(who.name, f"exported {what}" + ("" if complete else f", stopped after {sent} bytes"),
                                  "recording")

        tag = None if transform else plan.identity
        return LayoutResponse(plan.layout, request, media_type, headers, transform, tag, done)

    async def properties(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            _schema(args)
            start, stop = parse_times(args)
            fmt = _arg(args, "exportformat") or "matroska"
            encryption = _arg(args, "encryptionformat")
            if encryption and encryption not in crypto.FORMATS:
                raise FootageError(BAD_ENCRYPTION, f"unsupported encryption format {encryption!r}")
            plan = await asyncio.to_thread(plan_export, store, _arg(args, "recordingid"), start, stop, fmt,
                                           _arg(args, "diskid"))
        except FootageError as err:
            return xml_error(err)
        plan.layout.close()
        size = plan.layout.size
        if encryption == crypto.OPENSSL_AES256_CTR:
            size += 16
        elif encryption:
            size = 16 + (size // 16 + 1) * 16
        begin = plan.first_frame if fmt == "matroska" else plan.shown_start
        extra = f" EncryptionFormat={quoteattr(encryption)}" if encryption else ""
        return xml_reply(
            f"<PropertiesSuccess><ExportProperties RecordingId={quoteattr(plan.recording)} "
            f'ExportFormat="{fmt}"{extra} EstimatedFileSize="{-(-size // 1024)}" Starttime="{iso(begin)}" '
            f'Stoptime="{iso(plan.stop)}" FileSize="{size}" Frames="{plan.frames}"/></PropertiesSuccess>')

    async def capabilities(request: Request, who: Principal) -> Response:
        return xml_reply("<CapabilitiesSuccess>" + "".join(f'<ExportCapabilities ExportFormat="{f}"/>'
                                                          for f in FORMATS) + "</CapabilitiesSuccess>")

    async def schemaversions(request: Request, who: Principal) -> Response:
        return xml_reply(f"<SchemaVersionsSuccess><SchemaVersion><VersionNumber>{SCHEMA}</VersionNumber>"
                         "<Deprecated>false</Deprecated></SchemaVersion></SchemaVersionsSuccess>")

    async def jobstatus(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            _schema(args)
            job = jobs.get(_arg(args, "jobid"), who)
        except FootageError as err:
            return xml_error(err)
        if job.status in ("failed", "cancelled"):
            err = job.error or FootageError(PROCESSING, "the export was cancelled")
            return xml_reply(f"<GetJobStatusSuccess>{general_error(err.code, err.message)}</GetJobStatusSuccess>")
        status = "Done" if job.status == "done" else "In Progress"
        return xml_reply(f'<GetJobStatusSuccess><JobStatus Status="{status}" Progress="{job.progress}"/>'
                         "</GetJobStatusSuccess>")

    async def download(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            job = jobs.get(_arg(args, "jobid"), who)
            if job.status != "done":
                raise FootageError(PROCESSING, f"export job {job.id} is {job.status}, not done")
            fd = os.open(job.path, os.O_RDONLY)
        except FootageError as err:
            return xml_error(err)
        except FileNotFoundError:
            return xml_error(FootageError(JOB_NOT_FOUND, "the export file is gone"))
        layout = Layout()
        layout.add_span(fd, 0, os.fstat(fd).st_size)
        layout.close = lambda: os.close(fd)  # type: ignore[method-assign]
        media_type = "application/octet-stream" if job.encrypted else FORMATS[job.fmt][1]
        return LayoutResponse(layout, request, media_type,
                              {"Content-Disposition": _content_disposition(job.filename), "Cache-Control": "no-store"},
                              etag=f'"job-{job.id}-{job.size}"')

    router = device.router
    router.add("/axis-cgi/record/export/exportrecording.cgi", exportrecording, Role.OPERATOR, kind="xml")
    router.add("/axis-cgi/record/export/properties.cgi", properties, Role.VIEWER, kind="xml")
    router.add("/axis-cgi/record/export/capabilities.cgi", capabilities, Role.VIEWER, kind="xml")
    router.add("/axis-cgi/record/export/schemaversions.cgi", schemaversions, Role.VIEWER, kind="xml")
    router.add("/axis-cgi/record/export/getjobstatus.cgi", jobstatus, Role.OPERATOR, kind="xml")
    # safe_get: the Recordings page offers it as a download link, which sends no same-origin proof.
    router.add("/axis-cgi/record/export/download.cgi", download, Role.OPERATOR, methods=("GET",), kind="xml",
               safe_get=True)
    _register_json(device, jobs)
    return jobs


JOB_ERRORS = JsonErrors()


def _json_error(err: FootageError) -> JsonApiError:
    return JsonApiError(err.code, err.message)


def _register_json(device: Device, jobs: ExportJobs) -> None:
    def text_param(call: JsonCall, key: str, required: bool = False) -> str | None:
        value = call.params.get(key)
        if value is None:
            if required:
                raise JsonApiError(JOB_ERRORS.bad_params, f"Required parameter '{key}' missing")
            return None
        if not isinstance(value, str):
            raise JsonApiError(JOB_ERRORS.bad_params, f"Parameter '{key}' must be a string")
        return value

    async def start(call: JsonCall, who: Principal) -> dict[str, Any]:
        args = []
        for key, name in (("startTime", "starttime"), ("stopTime", "stoptime")):
            value = text_param(call, key)
            if value is not None:
                args.append((name, value))
        try:
            begin, end = parse_times(args)
            job = await jobs.start(who, text_param(call, "recordingId", True), begin, end,
                                   text_param(call, "format") or "mp4", text_param(call, "password"),
                                   text_param(call, "encryptionFormat"), text_param(call, "fileName"))
        except FootageError as err:
            raise _json_error(err) from None
        return {"job": job.public()}

    async def get(call: JsonCall, who: Principal) -> dict[str, Any]:
        try:
            return {"job": jobs.get(call.params.get("jobId"), who).public()}
        except FootageError as err:
            raise _json_error(err) from None

    async def listing(call: JsonCall, who: Principal) -> dict[str, Any]:
        return {"jobs": [j.public() for j in jobs.visible(who)]}

    async def remove(call: JsonCall, who: Principal) -> dict[str, Any]:
        try:
            job = jobs.get(call.params.get("jobId"), who)
        except FootageError as err:
            raise _json_error(err) from None
        jobs.remove(job)
        if job.task is not None and not job.task.done():
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(job.task), 5)
            job.path.unlink(missing_ok=True)
        return {}

    device.router.json_api("/axis-cgi/record/export/jobs.cgi", ["1.0"], {
        "startExport": JsonMethod(Role.OPERATOR, start),
        "getExport": JsonMethod(Role.OPERATOR, get),
        "listExports": JsonMethod(Role.OPERATOR, listing),
        "removeExport": JsonMethod(Role.OPERATOR, remove),
    }, JOB_ERRORS)


EXPORT_JOBS: Key[ExportJobs] = Key("recording-export")
