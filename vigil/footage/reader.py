"""Reading footage back from the index, for playback and export.

A request names a recording and a time range. `select` finds the indexed fragments that
cover it, starting with the last fragment that begins with a key frame at or before the
requested start, so that whatever is built from them decodes from its first byte. The
segment files are opened right away: a file that retention unlinks while a response is
being streamed stays readable until the response is done.

What is sent is described as a `Layout`: literal bytes (headers Vigil builds) and spans of
segment files (the stored sample data, never copied into memory as a whole). A layout has a
known size before its first byte is sent, so responses carry Content-Length and answer
Range requests; `vigil.features.recording.responses.LayoutResponse` streams any byte range of it.

Times in the index are device-clock epoch seconds. Output media times are rebased: the
first selected fragment is time 0, and each fragment's place on the timeline comes from its
indexed start, so a gap in the footage stays a gap rather than shifting what follows.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from enum import Enum

from vigil.core.store import Store
from vigil.footage import atrest, index, mp4
from vigil.footage.index import recording_extent

CHUNK = 1 << 20  # bytes per read of a streamed response
WINDOW = 1 << 20  # read-ahead for the small spans of a Matroska layout
SMALL_SPAN = 64 << 10  # spans shorter than this come from the read-ahead window; longer ones are read
# straight where they go (a window read would copy them twice)
MOOF_READ = 4096  # a stored moof is ~12 bytes per sample: one read covers most


class Reason(Enum):
    """Why footage cannot answer a request (an API maps each to its own error code)."""

    NO_ID = "no recording named"
    NO_RECORDING = "no such recording"
    LOCKED = "the volume is encrypted and locked"
    NO_FOOTAGE = "no footage in the range"
    START_AFTER_STOP = "the start is not before the stop"
    START_AFTER_END = "the range starts after the recording"
    STOP_BEFORE_BEGIN = "the range ends before the recording"
    NO_VIDEO = "the recording has no video"


class FootageError(Exception):
    """A request the footage cannot answer: `reason` says why, `message` in words."""

    def __init__(self, reason: Reason, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Recording:
    id: str
    source: str
    volume: str
    kind: str
    start: float
    stop: float | None  # None: still being recorded

    @property
    def ongoing(self) -> bool:
        return self.stop is None


def get_recording(store: Store, recording_id: str | None, disk: str | None = None) -> Recording:
    if not recording_id:
        raise FootageError(Reason.NO_ID, "a recording id is required")
    row = index.get_recording(store, recording_id)
    if row is None or (disk not in (None, "", "all") and row[2] != disk):
        raise FootageError(Reason.NO_RECORDING, f"no recording {recording_id!r}" + (f" on disk {disk!r}" if disk else ""))
    return Recording(*row)


@dataclass(frozen=True)
class Fragment:
    segment: int
    path: str
    init_size: int
    offset: int
    size: int
    start: float
    duration: float  # seconds of video
    frames: int
    key: bool

    @property
    def stop(self) -> float:
        return self.start + self.duration


@dataclass
class Selection:
    """Fragments of one recording, their files (open) and their tracks."""

    recording: Recording
    fragments: list[Fragment]
    tracks: list[mp4.TrackInfo]
    init: bytes
    files: dict[str, int]
    cut_at_format_change: bool = False

    @property
    def start(self) -> float:
        return self.fragments[0].start

    @property
    def stop(self) -> float:
        return self.fragments[-1].stop

    @property
    def video(self) -> mp4.TrackInfo:
        return next(t for t in self.tracks if t.kind == "video")

    def fd(self, fragment: Fragment) -> int:
        return self.files[fragment.path]

    def close(self) -> None:
        files, self.files = self.files, {}
        for fd in files.values():
            if fd >= 0:
                with contextlib.suppress(OSError):
                    atrest.close_footage(fd)

    def video_bases(self) -> list[int]:
        """Each fragment's video start on the output timeline, in the video timescale.

        From the indexed start (so gaps stay gaps), never before the previous fragment's end
        (a camera clock that stepped back must not make time run backwards)."""
        scale = self.video.timescale
        t0 = self.fragments[0].start
        bases: list[int] = []
        end = 0
        for f in self.fragments:
            base = max(round((f.start - t0) * scale), end)
            bases.append(base)
            end = base + round(f.duration * scale)
        return bases


def select(store: Store, recording: Recording, start: float | None, stop: float | None) -> Selection:
    """The fragments to build [start, stop) from; a range partly outside the recording is cut
    to it (best effort, as VAPIX export does), one wholly outside it is an error."""
    extent = recording_extent(store, recording.id)
    if extent is None:
        raise FootageError(Reason.NO_FOOTAGE, "the recording has no footage yet")
    first, last = extent
    if start is not None and stop is not None and stop <= start:
        raise FootageError(Reason.START_AFTER_STOP, "the start time must be before the stop time")
    if start is not None and start >= last:
        raise FootageError(Reason.START_AFTER_END, "the start time is after the end of the recording"
                           + (" (so far)" if recording.ongoing else ""))
    if stop is not None and stop <= first:
        raise FootageError(Reason.STOP_BEFORE_BEGIN, "the stop time is before the start of the recording")
    start = first if start is None else max(start, first)
    stop = last if stop is None else min(stop, last)
    key_start = index.key_fragment_start(store, recording.id, start + 1e-6)
    rows = index.fragments_between(store, recording.id, key_start if key_start is not None else first, stop)
    fragments = [Fragment(*row[:8], bool(row[8])) for row in rows]
    files: dict[str, int] = {}
    try:
        kept = []
        for fragment in fragments:
            if fragment.path not in files:
                try:
                    files[fragment.path] = atrest.open_footage(fragment.path)
                except FileNotFoundError:  # removed by retention since the query
                    files[fragment.path] = -1
                except atrest.VolumeLocked:
                    raise FootageError(Reason.LOCKED, "the recording is on an encrypted volume that is locked: "
                                       "mount the volume with its password") from None
            if files[fragment.path] >= 0:
                kept.append(fragment)
        while kept and not kept[0].key:  # what comes first must start with a key frame
            kept.pop(0)
        if not kept:
            raise FootageError(Reason.NO_FOOTAGE, "no decodable footage in the requested range")
        # One file holds one stream format; a change (new resolution, codec) ends the selection.
        init = atrest.pread(files[kept[0].path], kept[0].init_size, 0)
        inits = {kept[0].segment: init}
        cut = False
        for n, fragment in enumerate(kept):
            if fragment.segment not in inits:
                inits[fragment.segment] = atrest.pread(files[fragment.path], fragment.init_size, 0)
            if inits[fragment.segment] != init:
                kept = kept[:n]
                cut = True
                break
        tracks = mp4.parse_init(init)
        if not any(t.kind == "video" for t in tracks):
            raise FootageError(Reason.NO_VIDEO, "the recording has no video track")
        used = {f.path for f in kept}
        for path, fd in list(files.items()):
            if path not in used:
                if fd >= 0:
                    atrest.close_footage(fd)
                del files[path]
        return Selection(recording, kept, tracks, init, files, cut)
    except BaseException:
        for fd in files.values():
            if fd >= 0:
                atrest.close_footage(fd)
        raise


# -- samples ------------------------------------------------------------------------------
@dataclass(frozen=True)
class SampleRun:
    """Consecutive samples of one track, stored back to back in one segment file: the unit
    exports copy (one span each) and describe (per-sample tables built from whole runs)."""

    fd: int
    offset: int  # of the first sample, in its segment file
    time: int  # of the first sample on the output timeline, in the track's timescale
    durations: tuple[int, ...]
    sizes: tuple[int, ...]
    keys: tuple[bool, ...]

    def __len__(self) -> int:
        return len(self.sizes)

    @property
    def end(self) -> int:
        return self.time + sum(self.durations)

    def times(self) -> list[int]:
        out, t = [], self.time
        for d in self.durations:
            out.append(t)
            t += d
        return out

    def trim(self, lo: int, hi: int) -> SampleRun:
        """Samples lo..hi-1 of this run."""
        return SampleRun(self.fd, self.offset + sum(self.sizes[:lo]), self.time + sum(self.durations[:lo]),
                         self.durations[lo:hi], self.sizes[lo:hi], self.keys[lo:hi])


@dataclass
class FragmentSamples:
    fragment: Fragment
    tracks: dict[int, SampleRun] = field(default_factory=dict)


def read_moof(fd: int, offset: int, size: int) -> mp4.MoofInfo:
    head = atrest.pread(fd, min(size, MOOF_READ), offset)
    moof_size = int.from_bytes(head[0:4], "big")
    if moof_size > len(head):
        head = atrest.pread(fd, moof_size, offset)
    return mp4.parse_moof(head)


def read_samples(selection: Selection) -> list[FragmentSamples]:
    """The sample runs of the selected fragments (from their moofs only), on the output timeline."""
    video = selection.video
    rates = {t.track_id: t.timescale for t in selection.tracks}
    out = []
    for fragment, base in zip(selection.fragments, selection.video_bases(), strict=True):
        fd = selection.fd(fragment)
        moof = read_moof(fd, fragment.offset, fragment.size)
        video_in = next((r.base_time for r in moof.runs if r.track_id == video.track_id), 0)
        shift = (video_in - base) / video.timescale  # stored time - output time, seconds
        entry = FragmentSamples(fragment)
        for run in moof.runs:
            if run.track_id not in rates or run.track_id in entry.tracks or not run.sizes:
                continue  # (a second trun of a track in one fragment is not something Vigil writes)
            time = base if run.track_id == video.track_id else run.base_time - round(shift * rates[run.track_id])
            entry.tracks[run.track_id] = SampleRun(fd, fragment.offset + run.data_offset, time,
                                                   tuple(run.durations), tuple(run.sizes), tuple(run.keys))
        out.append(entry)
    return out


@dataclass(frozen=True)
class VideoFrame:
    """One stored video sample with its recorded time (device-clock epoch seconds: the
    fragment's indexed start plus the durations of the samples before it), for replay."""

    time: float
    duration: float
    key: bool
    fd: int
    offset: int
    size: int


def video_frames(selection: Selection, fragment: Fragment) -> list[VideoFrame]:
    """The video samples of one selected fragment, in decoding order (from its moof only)."""
    video = selection.video
    fd = selection.fd(fragment)
    moof = read_moof(fd, fragment.offset, fragment.size)
    run = next((r for r in moof.runs if r.track_id == video.track_id), None)
    if run is None:
        return []
    frames, ticks, offset = [], 0, fragment.offset + run.data_offset
    for duration, size, key in zip(run.durations, run.sizes, run.keys, strict=True):
        frames.append(VideoFrame(fragment.start + ticks / video.timescale, duration / video.timescale, key, fd,
                                 offset, size))
        ticks += duration
        offset += size
    return frames


def read_frames(frames: list[VideoFrame]) -> list[bytes]:
    """The stored bytes of `frames`, each run of adjacent ones read at once."""
    out: list[bytes] = []
    at = 0
    while at < len(frames):
        end = at + 1
        while (end < len(frames) and frames[end].fd == frames[at].fd
               and frames[end].offset == frames[end - 1].offset + frames[end - 1].size):
            end += 1
        data = _pread_exact(frames[at].fd, frames[end - 1].offset + frames[end - 1].size - frames[at].offset,
                            frames[at].offset)
        base = frames[at].offset
        out += [data[f.offset - base:f.offset - base + f.size] for f in frames[at:end]]
        at = end
    return out


# -- layouts ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class FileSpan:
    """Bytes of an open footage file stored as they are sent (a plain volume): what the kernel
    can copy to a socket or file without the bytes passing through Python."""

    fd: int
    offset: int
    length: int


@dataclass
class Layout:
    """A file to send, as pieces: bytes, a span of an open file, or a whole fragment whose
    moof box goes through `patch` (same length) on the way out; its mdat is sent as stored."""

    selection: Selection | None = None
    lengths: list[int] = field(default_factory=list)
    pieces: list[tuple] = field(default_factory=list)  # ("b", data) | ("s", fd, offset) | ("f", fd, offset, patch)
    size: int = 0
    _starts: list[int] | None = None

    def add_bytes(self, data: bytes) -> None:
        if data:
            self._add(len(data), ("b", data))

    def add_span(self, fd: int, offset: int, length: int) -> None:
        if length <= 0:
            return
        if self.pieces and self.pieces[-1][0] == "s":
            last = self.pieces[-1]
            if last[1] == fd and last[2] + self.lengths[-1] == offset:  # contiguous: one longer span
                self.lengths[-1] += length
                self.size += length
                return
        self._add(length, ("s", fd, offset))

    def add_fragment(self, fd: int, offset: int, length: int, patch: Callable[[bytes], bytes]) -> None:
        self._add(length, ("f", fd, offset, patch))

    def extend(self, lengths: list[int], pieces: list[tuple]) -> None:
        """Many pieces at once (no merging of spans): what a Matroska layout is made of."""
        self.lengths.extend(lengths)
        self.pieces.extend(pieces)
        self.size += sum(lengths)
        self._starts = None

    def _add(self, length: int, piece: tuple) -> None:
        self.lengths.append(length)
        self.pieces.append(piece)
        self.size += length
        self._starts = None

    def close(self) -> None:
        if self.selection is not None:
            self.selection.close()

    def reader(self) -> LayoutReader:
        if self._starts is None:
            starts, at = [], 0
            for length in self.lengths:
                starts.append(at)
                at += length
            self._starts = starts
        return LayoutReader(self, self._starts)


class LayoutReader:
    """Reads byte ranges of a layout; keeps a read-ahead window and the last patched fragment."""

    def __init__(self, layout: Layout, starts: list[int]) -> None:
        self.layout = layout
        self.starts = starts
        self._window: tuple[int, int, bytes] = (-1, 0, b"")
        self._fragment: tuple[int, bytes] = (-1, b"")

    def read(self, pos: int, n: int) -> bytearray:
        out = bytearray(max(min(n, self.layout.size - pos), 0))
        self.readinto(pos, memoryview(out))
        return out

    def readinto(self, pos: int, view: memoryview) -> int:
        """Fill `view` with the bytes from `pos` on (fewer only where the layout ends); returns
        how many. Stored spans are read straight into `view`: no copy in between."""
        layout = self.layout
        end = min(pos + len(view), layout.size)
        at = 0
        i = bisect.bisect_right(self.starts, pos) - 1
        while pos < end and i < len(layout.pieces):
            piece_start, length, piece = self.starts[i], layout.lengths[i], layout.pieces[i]
            lo, hi = pos - piece_start, min(end - piece_start, length)
            kind = piece[0]
            if kind == "b":
                view[at:at + hi - lo] = memoryview(piece[1])[lo:hi]
            elif kind == "s":
                self._span_into(piece[1], piece[2] + lo, view[at:at + hi - lo])
            else:
                head = self._moof(i)
                if lo < len(head):
                    view[at:at + min(hi, len(head)) - lo] = memoryview(head)[lo:min(hi, len(head))]
                if hi > len(head):
                    start = max(lo, len(head))
                    self._span_into(piece[1], piece[2] + start, view[at + start - lo:at + hi - lo])
            at += hi - lo
            pos = piece_start + hi
            i += 1
        return at

    def _moof(self, i: int) -> bytes:
        """Piece i's moof box, patched (a fragment piece)."""
        if self._fragment[0] != i:
            _kind, fd, offset, patch = self.layout.pieces[i]
            head = atrest.pread(fd, MOOF_READ, offset)
            size = int.from_bytes(head[0:4], "big")
            if size > len(head):
                head = _pread_exact(fd, size, offset)
            if size < 8 or size > self.layout.lengths[i] or len(head) < size:
                raise OSError(f"no moof box at {offset} of a segment file")
            self._fragment = (i, patch(head[:size]))
        return self._fragment[1]

    def parts(self, start: int, end: int, direct: bool = True, size: int = CHUNK) -> Iterator[bytes | FileSpan]:
        """Bytes start..end-1 as bytes (up to about `size` each) and, where `direct`, as
        FileSpans for the stored bytes of plain files of at least `size` // 4 (what goes
        through the kernel pays off; shorter ones are read and sent with their neighbours)."""
        if not direct:
            yield from self.chunks(start, end, size)
            return
        layout = self.layout
        held: list[bytes] = []
        count = 0
        pos = start
        i = bisect.bisect_right(self.starts, pos) - 1
        while pos < end and i < len(layout.pieces):
            piece_start, length, piece = self.starts[i], layout.lengths[i], layout.pieces[i]
            lo, hi = pos - piece_start, min(end - piece_start, length)
            span: FileSpan | None = None
            if piece[0] == "f":
                head = self._moof(i)
                if lo < len(head):
                    held.append(head[lo:min(hi, len(head))])
                    count += min(hi, len(head)) - lo
                    lo = len(head)
            if piece[0] != "b" and hi > lo and hi - lo >= size // 4 and atrest.is_plain(piece[1]):
                span = FileSpan(piece[1], piece[2] + lo, hi - lo)
            elif hi > lo:
                held.append(self.read(piece_start + lo, hi - lo))
                count += hi - lo
            if held and (span is not None or count >= size):
                yield b"".join(held)
                held, count = [], 0
            if span is not None:
                yield span
            pos = piece_start + hi
            i += 1
        if held:
            yield b"".join(held)
        if pos < end:
            raise OSError("layout ended early")

    def _span_into(self, fd: int, offset: int, view: memoryview) -> None:
        if len(view) < SMALL_SPAN:
            view[:] = self._span(fd, offset, len(view))
            return
        done = 0
        while done < len(view):
            n = atrest.pread_into(fd, view[done:], offset + done)
            if n == 0:
                raise OSError(f"segment file ends early at {offset + done}")
            done += n

    def _span(self, fd: int, offset: int, length: int) -> bytes:
        """A short span, from the read-ahead window."""
        w_fd, w_start, w_data = self._window
        if w_fd != fd or offset < w_start or offset + length > w_start + len(w_data):
            w_data = atrest.pread(fd, WINDOW, offset)
            self._window = (fd, offset, w_data)
            w_start = offset
            if len(w_data) < length:
                raise OSError(f"segment file ends early at {offset + len(w_data)}")
        return w_data[offset - w_start:offset - w_start + length]

    def chunks(self, start: int, end: int, size: int = CHUNK) -> Iterator[bytes]:
        pos = start
        while pos < end:
            data = self.read(pos, min(size, end - pos))
            if not data:
                raise OSError("layout ended early")
            pos += len(data)
            yield data


def _pread_exact(fd: int, length: int, offset: int) -> bytes:
    data = atrest.pread(fd, length, offset)
    if len(data) != length:
        raise OSError(f"segment file ends early at {offset + len(data)}")
    return data


class Transform:
    """A whole-file transformation applied on the way out (encryption). `stream` gives its
    output; a seekable one gives any byte range of it, so its responses answer Range requests.

    `stream` yields views of buffers it reuses: a view stays valid until the generator is
    asked for the view after the next one (two buffers take turns), so a consumer may send
    one while the next is produced in another thread, never more than one ahead."""

    seekable = False
    chunk = CHUNK  # plain bytes read and transformed at a time

    def size(self, plain: int) -> int:
        raise NotImplementedError

    def stream(self, reader: LayoutReader, start: int, end: int) -> Iterator[memoryview]:
        """Output bytes start..end-1 of the transformed layout (all of them if not seekable)."""
        raise NotImplementedError

    def header(self) -> bytes:
        return b""

    def update(self, data: bytes) -> bytes:
        raise NotImplementedError

    def finalize(self) -> bytes:
        return b""
