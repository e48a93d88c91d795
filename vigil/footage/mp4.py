"""ISO BMFF (MP4) writing: fragmented MP4 for recording and playback, and a plain MP4 with
an edit list for exports. Only what Vigil stores: H.264/H.265 video without B-frames, and
AAC or G.711 audio."""

from __future__ import annotations

import itertools
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
SYNC = 0x02000000  # sample_depends_on = 2 (does not depend on others)
NON_SYNC = 0x01010000  # depends on others, is not a sync sample


def box(kind: bytes, *payload: bytes) -> bytes:
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + kind + body


def full_box(kind: bytes, version: int, flags: int, *payload: bytes) -> bytes:
    return box(kind, struct.pack(">I", (version << 24) | flags), *payload)


@dataclass(frozen=True)
class TrackInfo:
    """What a track needs in the init segment. `config` is avcC/hvcC, or the AAC AudioSpecificConfig."""

    track_id: int
    kind: str  # video | audio
    codec: str  # H264 | H265 | AAC | PCMU | PCMA
    timescale: int
    config: bytes = b""
    width: int = 0
    height: int = 0
    channels: int = 1
    sample_rate: int = 0


def _sample_entry(t: TrackInfo) -> bytes:
    if t.kind == "video":
        fourcc, config_box = (b"avc1", box(b"avcC", t.config)) if t.codec == "H264" else \
            (b"hvc1", box(b"hvcC", t.config))
        return box(fourcc, bytes(6), struct.pack(">H", 1), bytes(16),
                   struct.pack(">HHIIIH", t.width, t.height, 0x00480000, 0x00480000, 0, 1),
                   bytes(32), struct.pack(">Hh", 0x18, -1), config_box)
    rate = t.sample_rate or t.timescale
    audio = (bytes(6) + struct.pack(">H", 1) + bytes(8)
             + struct.pack(">HHHHI", t.channels, 16, 0, 0, (rate & 0xFFFF) << 16))
    if t.codec == "AAC":
        descriptor = _es_descriptor(t.config)
        return box(b"mp4a", audio, full_box(b"esds", 0, 0, descriptor))
    return box(b"ulaw" if t.codec == "PCMU" else b"alaw", audio)


def _descr(tag: int, body: bytes) -> bytes:
    size = len(body)
    return bytes([tag, 0x80 | (size >> 21 & 0x7F), 0x80 | (size >> 14 & 0x7F), 0x80 | (size >> 7 & 0x7F),
                  size & 0x7F]) + body


def _es_descriptor(config: bytes) -> bytes:
    decoder = _descr(0x04, bytes([0x40, 0x15]) + bytes(3) + struct.pack(">II", 0, 0) + _descr(0x05, config))
    return _descr(0x03, struct.pack(">HB", 1, 0) + decoder + _descr(0x06, b"\x02"))


def _media_header(t: TrackInfo, duration: int) -> bytes:
    handler = b"vide" if t.kind == "video" else b"soun"
    name = b"Vigil video\x00" if t.kind == "video" else b"Vigil audio\x00"
    media_info = full_box(b"vmhd", 0, 1, bytes(8)) if t.kind == "video" else full_box(b"smhd", 0, 0, bytes(4))
    return (full_box(b"mdhd", 0, 0, struct.pack(">IIIIHH", 0, 0, t.timescale, duration, 0x55C4, 0)),
            full_box(b"hdlr", 0, 0, bytes(4), handler, bytes(12), name), media_info)


def _track_header(t: TrackInfo, duration: int) -> bytes:
    volume = 0 if t.kind == "video" else 0x0100
    return full_box(b"tkhd", 0, 3, struct.pack(">IIIII", 0, 0, t.track_id, 0, duration), bytes(8),
                    struct.pack(">hhhH", 0, 0, volume, 0), MATRIX,
                    struct.pack(">II", t.width << 16, t.height << 16))


def _dinf() -> bytes:
    return box(b"dinf", full_box(b"dref", 0, 0, struct.pack(">I", 1), full_box(b"url ", 0, 1)))


def init_segment(tracks: Sequence[TrackInfo]) -> bytes:
    """ftyp + moov for a fragmented file: empty sample tables, one trex per track."""
    traks = []
    for t in tracks:
        mdhd, hdlr, media_info = _media_header(t, 0)
        stbl = box(b"stbl", full_box(b"stsd", 0, 0, struct.pack(">I", 1), _sample_entry(t)),
                   full_box(b"stts", 0, 0, bytes(4)), full_box(b"stsc", 0, 0, bytes(4)),
                   full_box(b"stsz", 0, 0, bytes(8)), full_box(b"stco", 0, 0, bytes(4)))
        traks.append(box(b"trak", _track_header(t, 0),
                         box(b"mdia", mdhd, hdlr, box(b"minf", media_info, _dinf(), stbl))))
    mvex = box(b"mvex", *[full_box(b"trex", 0, 0, struct.pack(">IIIII", t.track_id, 1, 0, 0, 0)) for t in tracks])
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, 0), struct.pack(">IH", 0x10000, 0x0100),
                    bytes(10), MATRIX, bytes(24), struct.pack(">I", max(t.track_id for t in tracks) + 1))
    return box(b"ftyp", b"iso6", struct.pack(">I", 0), b"iso6isommp41") + box(b"moov", mvhd, *traks, mvex)


@dataclass
class TrackRun:
    """One track's samples inside a fragment."""

    track_id: int
    base_time: int  # decode time of the first sample, in the track's timescale
    durations: Sequence[int]
    sizes: Sequence[int]
    keys: Sequence[bool]
    data: Sequence[bytes]


def fragment(sequence: int, runs: Sequence[TrackRun]) -> bytes:
    """moof + mdat for one fragment (about one GOP). Sample data follows in run order."""
    trafs = []
    offsets_at = []
    for run in runs:
        count = len(run.sizes)
        entries = bytearray(12 * count)
        for i in range(count):
            struct.pack_into(">III", entries, 12 * i, run.durations[i], run.sizes[i],
                             SYNC if run.keys[i] else NON_SYNC)
        trun = full_box(b"trun", 0, 0x000701, struct.pack(">Ii", count, 0), bytes(entries))
        traf = box(b"traf", full_box(b"tfhd", 0, 0x020000, struct.pack(">I", run.track_id)),
                   full_box(b"tfdt", 1, 0, struct.pack(">Q", run.base_time)), trun)
        trafs.append(traf)
    moof_size = 8 + 16 + sum(len(t) for t in trafs)
    # Patch each trun's data_offset: from the moof start to this run's first byte in mdat.
    data_offset = moof_size + 8
    patched = []
    for traf, run in zip(trafs, runs, strict=True):
        trun_at = traf.index(b"trun") - 4
        buf = bytearray(traf)
        struct.pack_into(">i", buf, trun_at + 16, data_offset)
        patched.append(bytes(buf))
        data_offset += sum(run.sizes)
        offsets_at.append(trun_at)
    moof = box(b"moof", full_box(b"mfhd", 0, 0, struct.pack(">I", sequence)), *patched)
    payload = [d for run in runs for d in run.data]
    return moof + struct.pack(">I", 8 + sum(len(d) for d in payload)) + b"mdat" + b"".join(payload)


def iter_boxes(data: bytes | memoryview, start: int = 0, end: int | None = None) -> Iterable[tuple[bytes, int, int]]:
    """(type, offset, size) of each complete top-level box; stops at a truncated one."""
    end = len(data) if end is None else end
    pos = start
    while pos + 8 <= end:
        size = int.from_bytes(data[pos:pos + 4], "big")
        kind = bytes(data[pos + 4:pos + 8])
        if size == 1 and pos + 16 <= end:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        if size < 8 or pos + size > end:
            return
        yield kind, pos, size
        pos += size


@dataclass(frozen=True)
class Sample:
    track_id: int
    time: int  # decode time in the track timescale
    duration: int
    key: bool
    data: bytes


def parse_fragment(moof_mdat: bytes) -> list[Sample]:
    """Read back the samples of one moof+mdat pair written by `fragment`."""
    samples: list[Sample] = []
    moof_size = int.from_bytes(moof_mdat[0:4], "big")
    pos = 16 + 8  # skip moof header and mfhd
    while pos < moof_size:
        traf_size = int.from_bytes(moof_mdat[pos:pos + 4], "big")
        traf = moof_mdat[pos:pos + traf_size]
        track_id = int.from_bytes(traf[20:24], "big")
        base = int.from_bytes(traf[36:44], "big")
        trun = traf.index(b"trun") - 4
        count = int.from_bytes(traf[trun + 12:trun + 16], "big")
        offset = int.from_bytes(traf[trun + 16:trun + 20], "big", signed=True)
        time = base
        for i in range(count):
            duration, size, flags = struct.unpack_from(">III", traf, trun + 20 + 12 * i)
            samples.append(Sample(track_id, time, duration, not flags & 0x00010000,
                                  moof_mdat[offset:offset + size]))
            offset += size
            time += duration
        pos += traf_size
    return samples


def progressive(tracks: Sequence[TrackInfo], samples: dict[int, list[Sample]], edit_start: dict[int, int],
                mdat_offset_hint: int = 0) -> tuple[bytes, list[bytes]]:
    """A plain MP4: header bytes (ftyp + moov + mdat header) and the sample data chunks to follow.

    `edit_start` gives, per track, the media time at which presentation starts (an edit list
    hides the frames before it, which are only there to decode from the preceding key frame).
    """
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2mp41")
    data = [s.data for t in tracks for s in samples[t.track_id]]
    total = sum(len(d) for d in data)
    large = total > 0xFFFFFFF0
    mdat_header = (struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + total)) if large else \
        struct.pack(">I", 8 + total) + b"mdat"

    def build(moov_size: int) -> bytes:
        offset = len(ftyp) + moov_size + len(mdat_header)
        traks = []
        movie_duration = 0
        for t in tracks:
            track_samples = samples[t.track_id]
            media_duration = sum(s.duration for s in track_samples)
            start = edit_start.get(t.track_id, 0)
            shown = max(media_duration - start, 0)
            shown_ms = shown * 1000 // t.timescale
            movie_duration = max(movie_duration, shown_ms)
            mdhd, hdlr, media_info = _media_header(t, media_duration)
            stts = _run_lengths([s.duration for s in track_samples])
            sizes = b"".join(struct.pack(">I", len(s.data)) for s in track_samples)
            chunk_offsets = []
            for s in track_samples:
                chunk_offsets.append(offset)
                offset += len(s.data)
            co = full_box(b"co64", 0, 0, struct.pack(">I", len(chunk_offsets)),
                          b"".join(struct.pack(">Q", o) for o in chunk_offsets)) if large else \
                full_box(b"stco", 0, 0, struct.pack(">I", len(chunk_offsets)),
                         b"".join(struct.pack(">I", o) for o in chunk_offsets))
            tables = [full_box(b"stsd", 0, 0, struct.pack(">I", 1), _sample_entry(t)),
                      full_box(b"stts", 0, 0, struct.pack(">I", len(stts)),
                               b"".join(struct.pack(">II", n, d) for n, d in stts)),
                      full_box(b"stsc", 0, 0, struct.pack(">IIII", 1, 1, 1, 1)),
                      full_box(b"stsz", 0, 0, struct.pack(">II", 0, len(track_samples)), sizes), co]
            if t.kind == "video" and not all(s.key for s in track_samples):
                keys = [i + 1 for i, s in enumerate(track_samples) if s.key]
                tables.insert(2, full_box(b"stss", 0, 0, struct.pack(">I", len(keys)),
                                          b"".join(struct.pack(">I", k) for k in keys)))
            edts = box(b"edts", full_box(b"elst", 0, 0, struct.pack(">IIiI", 1, shown_ms, start, 0x10000)))
            traks.append(box(b"trak", _track_header(t, shown_ms), edts,
                             box(b"mdia", mdhd, hdlr, box(b"minf", media_info, _dinf(), box(b"stbl", *tables)))))
        mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, 1000, movie_duration),
                        struct.pack(">IH", 0x10000, 0x0100), bytes(10), MATRIX, bytes(24),
                        struct.pack(">I", max(t.track_id for t in tracks) + 1))
        return box(b"moov", mvhd, *traks)

    moov = build(0)
    moov = build(len(moov))  # chunk offsets depend on the moov's own size
    return ftyp + moov + mdat_header, data


def _run_lengths(values: Sequence[int]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for v in values:
        if out and out[-1][1] == v:
            out[-1] = (out[-1][0] + 1, v)
        else:
            out.append((1, v))
    return out


# -- reading back what was stored: init segments and fragment headers --------------------
def _children(data: bytes, start: int, end: int) -> dict[bytes, list[tuple[int, int]]]:
    """Child boxes of a container: type -> [(payload start, box end)]."""
    out: dict[bytes, list[tuple[int, int]]] = {}
    for kind, pos, size in iter_boxes(data, start, end):
        header = 16 if int.from_bytes(data[pos:pos + 4], "big") == 1 else 8
        out.setdefault(kind, []).append((pos + header, pos + size))
    return out


def _child(data: bytes, span: tuple[int, int], *path: bytes) -> tuple[int, int]:
    for kind in path:
        found = _children(data, *span).get(kind)
        if not found:
            raise ValueError(f"no {kind.decode(errors='replace')} box")
        span = found[0]
    return span


def parse_init(init: bytes) -> list[TrackInfo]:
    """The tracks of an init segment written by `init_segment` (its inverse)."""
    top = _children(init, 0, len(init))
    if b"moov" not in top:
        raise ValueError("no moov box")
    tracks = []
    for trak in _children(init, *top[b"moov"][0]).get(b"trak", []):
        tkhd = _child(init, trak, b"tkhd")
        version = init[tkhd[0]]
        track_id = int.from_bytes(init[tkhd[0] + (20 if version else 12):][:4], "big")
        mdhd = _child(init, trak, b"mdia", b"mdhd")
        version = init[mdhd[0]]
        timescale = int.from_bytes(init[mdhd[0] + (20 if version else 12):][:4], "big")
        hdlr = _child(init, trak, b"mdia", b"hdlr")
        handler = init[hdlr[0] + 8:hdlr[0] + 12]
        stsd = _child(init, trak, b"mdia", b"minf", b"stbl", b"stsd")
        entries = list(iter_boxes(init, stsd[0] + 8, stsd[1]))
        if not entries:
            raise ValueError("empty stsd")
        fourcc, pos, size = entries[0]
        body = pos + 8
        if handler == b"vide":
            width, height = struct.unpack_from(">HH", init, body + 24)
            config_kind = b"avcC" if fourcc in (b"avc1", b"avc3") else b"hvcC"
            config = _child(init, (body + 78, pos + size), config_kind)
            tracks.append(TrackInfo(track_id, "video", "H264" if config_kind == b"avcC" else "H265", timescale,
                                    init[config[0]:config[1]], width, height))
        else:
            channels = int.from_bytes(init[body + 16:body + 18], "big")
            rate = int.from_bytes(init[body + 24:body + 26], "big")
            if fourcc == b"mp4a":
                esds = _child(init, (body + 28, pos + size), b"esds")
                config = _decoder_specific_info(init[esds[0] + 4:esds[1]])
                tracks.append(TrackInfo(track_id, "audio", "AAC", timescale, config, channels=channels,
                                        sample_rate=rate))
            else:
                tracks.append(TrackInfo(track_id, "audio", "PCMU" if fourcc == b"ulaw" else "PCMA", timescale,
                                        channels=channels, sample_rate=rate))
    return tracks


def _decoder_specific_info(descriptors: bytes) -> bytes:
    """The AudioSpecificConfig (tag 5) inside an ES_Descriptor."""
    pos = 0
    while pos < len(descriptors):
        tag = descriptors[pos]
        pos += 1
        size = 0
        for _ in range(4):
            byte = descriptors[pos]
            pos += 1
            size = size << 7 | (byte & 0x7F)
            if not byte & 0x80:
                break
        if tag == 0x05:
            return descriptors[pos:pos + size]
        if tag == 0x03:  # ES_ID(2) flags(1), then nested descriptors
            flags = descriptors[pos + 2]
            pos += 3 + (2 if flags & 0x80 else 0) + (2 if flags & 0x20 else 0)
            if flags & 0x40:
                pos += 1 + descriptors[pos]
            continue
        if tag == 0x04:  # objectType(1) stream(1) buffer(3) maxrate(4) avgrate(4), then nested
            pos += 13
            continue
        pos += size
    return b""


@dataclass(frozen=True)
class Run:
    """One trun of a stored fragment: where its samples are, relative to the moof's first byte."""

    track_id: int
    base_time: int
    data_offset: int
    durations: tuple[int, ...]
    sizes: tuple[int, ...]
    keys: tuple[bool, ...]
    tfdt_at: int  # position of the tfdt value inside the moof (-1: none)
    tfdt_size: int  # 4 or 8 bytes


@dataclass(frozen=True)
class MoofInfo:
    size: int
    sequence_at: int  # position of the mfhd sequence number
    runs: tuple[Run, ...]


def parse_moof(data: bytes) -> MoofInfo:
    """The sample runs of a moof box (the bytes may go on past it). Handles the tfhd/trun
    options of ISO/IEC 14496-12, not only the ones `fragment` writes."""
    quick = _parse_own_moof(data)
    if quick is not None:
        return quick
    moof_size = int.from_bytes(data[0:4], "big")
    if data[4:8] != b"moof" or moof_size < 16 or moof_size > len(data):
        raise ValueError("not a complete moof box")
    boxes = _children(data, 0 + 8, moof_size)
    sequence_at = boxes[b"mfhd"][0][0] + 4 if b"mfhd" in boxes else -1
    runs = []
    for traf in boxes.get(b"traf", []):
        parts = _children(data, *traf)
        tfhd = parts[b"tfhd"][0][0]
        flags = int.from_bytes(data[tfhd + 1:tfhd + 4], "big")
        track_id = int.from_bytes(data[tfhd + 4:tfhd + 8], "big")
        at = tfhd + 8
        base_offset = 0
        if flags & 0x01:
            base_offset = int.from_bytes(data[at:at + 8], "big")  # absolute: unusual for stored fragments
            at += 8
        if flags & 0x02:
            at += 4
        default_duration = default_size = default_flags = 0
        if flags & 0x08:
            default_duration = int.from_bytes(data[at:at + 4], "big")
            at += 4
        if flags & 0x10:
            default_size = int.from_bytes(data[at:at + 4], "big")
            at += 4
        if flags & 0x20:
            default_flags = int.from_bytes(data[at:at + 4], "big")
        tfdt_at, tfdt_size, base_time = -1, 0, 0
        if b"tfdt" in parts:
            tfdt = parts[b"tfdt"][0][0]
            tfdt_size = 8 if data[tfdt] == 1 else 4
            tfdt_at = tfdt + 4
            base_time = int.from_bytes(data[tfdt_at:tfdt_at + tfdt_size], "big")
        next_offset = base_offset
        time = base_time
        for trun_start, _end in parts.get(b"trun", []):
            tflags = int.from_bytes(data[trun_start + 1:trun_start + 4], "big")
            count = int.from_bytes(data[trun_start + 4:trun_start + 8], "big")
            at = trun_start + 8
            offset = next_offset
            if tflags & 0x01:
                offset = base_offset + int.from_bytes(data[at:at + 4], "big", signed=True)
                at += 4
            first_flags = None
            if tflags & 0x04:
                first_flags = int.from_bytes(data[at:at + 4], "big")
                at += 4
            if tflags & 0xF00 == 0x700 and count:  # duration, size, flags per sample (what `fragment` writes)
                values = struct.unpack_from(f">{3 * count}I", data, at)
                durations, sizes, flag_list = list(values[0::3]), list(values[1::3]), list(values[2::3])
                if first_flags is not None:
                    flag_list[0] = first_flags
                keys = [not f & 0x00010000 for f in flag_list]
                at += 12 * count
                count = 0
            else:
                durations, sizes, keys = [], [], []
            for i in range(count):
                duration, size, sample_flags = default_duration, default_size, default_flags
                if tflags & 0x100:
                    duration = int.from_bytes(data[at:at + 4], "big")
                    at += 4
                if tflags & 0x200:
                    size = int.from_bytes(data[at:at + 4], "big")
                    at += 4
                if tflags & 0x400:
                    sample_flags = int.from_bytes(data[at:at + 4], "big")
                    at += 4
                if tflags & 0x800:
                    at += 4
                if i == 0 and first_flags is not None:
                    sample_flags = first_flags
                durations.append(duration)
                sizes.append(size)
                keys.append(not sample_flags & 0x00010000)
            runs.append(Run(track_id, time, offset, tuple(durations), tuple(sizes), tuple(keys),
                            tfdt_at if time == base_time else -1, tfdt_size))
            time += sum(durations)
            next_offset = offset + sum(sizes)
    return MoofInfo(moof_size, sequence_at, tuple(runs))


_OWN_TRAF = struct.Struct(">I4sI4sIII4sIQI4sIIi")  # traf, tfhd, tfdt (v1), trun head: as `fragment` writes


def _parse_own_moof(data: bytes) -> MoofInfo | None:
    """The moof layout `fragment` writes, read with a few unpacks (exports read thousands of
    them before their first byte); None for anything else."""
    if len(data) < 24 or data[4:8] != b"moof" or data[12:16] != b"mfhd":
        return None
    moof_size = int.from_bytes(data[0:4], "big")
    if moof_size > len(data) or int.from_bytes(data[8:12], "big") != 16:
        return None
    runs = []
    pos = 24
    while pos < moof_size:
        if pos + _OWN_TRAF.size > moof_size:
            return None
        (traf_size, traf, tfhd_size, tfhd, tfhd_flags, track_id, tfdt_size, tfdt, tfdt_flags, base, trun_size,
         trun, trun_flags, count, data_offset) = _OWN_TRAF.unpack_from(data, pos)
        if (traf, tfhd, trun) != (b"traf", b"tfhd", b"trun") or tfhd_size != 16 or tfhd_flags != 0x020000 \
                or tfdt != b"tfdt" or tfdt_flags != 0x01000000 or trun_flags != 0x000701 \
                or trun_size != 20 + 12 * count or traf_size != 8 + 16 + 20 + trun_size or tfdt_size != 20:
            return None
        values = struct.unpack_from(f">{3 * count}I", data, pos + _OWN_TRAF.size)
        runs.append(Run(track_id, base, data_offset, values[0::3], values[1::3],
                        tuple(not f & 0x00010000 for f in values[2::3]), pos + 36, 8))
        pos += traf_size
    return MoofInfo(moof_size, 20, tuple(runs))


# -- plain MP4 from a sample index (exports that stream their data) ---------------------
@dataclass
class TrackTable:
    """One track of a plain MP4: per-sample durations, sizes and sync flags, the chunks its
    samples sit in (file offset relative to the mdat payload, sample count), and its edit
    list as (duration in the movie timescale, media time; -1 = empty edit)."""

    info: TrackInfo
    durations: list[int]
    sizes: list[int]
    keys: list[bool]
    chunks: list[tuple[int, int]]
    edits: list[tuple[int, int]]


def progressive_header(tables: Sequence[TrackTable], movie_timescale: int = 1000) -> bytes:
    """ftyp + moov + mdat header of a plain MP4 whose mdat payload the caller lays out as the
    chunk offsets say. The moov comes first, so the file can be streamed as it is built."""
    ftyp = box(b"ftyp", b"isom", struct.pack(">I", 0x200), b"isomiso2mp41")
    total = sum(sum(t.sizes) for t in tables)
    large = total + 16 > 0xFFFFFFFF - (1 << 20)  # leave room for the header itself
    mdat_header = (struct.pack(">I", 1) + b"mdat" + struct.pack(">Q", 16 + total)) if large else \
        struct.pack(">I", 8 + total) + b"mdat"
    # Everything but the chunk offsets is computed once: the offsets depend on the moov's size.
    parts = []
    movie_duration = 0
    for table in tables:
        t = table.info
        shown = sum(d for d, _m in table.edits)
        movie_duration = max(movie_duration, shown)
        mdhd, hdlr, media_info = _media_header(t, sum(table.durations))
        stts = [(len(list(group)), value) for value, group in itertools.groupby(table.durations)]
        stsc: list[tuple[int, int]] = []  # (first chunk, samples per chunk)
        for n, (_offset, count) in enumerate(table.chunks, start=1):
            if not stsc or stsc[-1][1] != count:
                stsc.append((n, count))
        before = [full_box(b"stsd", 0, 0, struct.pack(">I", 1), _sample_entry(t)),
                  full_box(b"stts", 0, 0, struct.pack(">I", len(stts)),
                           struct.pack(f">{2 * len(stts)}I", *itertools.chain.from_iterable(stts)))]
        if t.kind == "video" and not all(table.keys):
            keys = [i + 1 for i, k in enumerate(table.keys) if k]
            before.append(full_box(b"stss", 0, 0, struct.pack(">I", len(keys)), struct.pack(f">{len(keys)}I", *keys)))
        before += [full_box(b"stsc", 0, 0, struct.pack(">I", len(stsc)),
                            b"".join(struct.pack(">III", first, count, 1) for first, count in stsc)),
                   full_box(b"stsz", 0, 0, struct.pack(">II", 0, len(table.sizes)),
                            struct.pack(f">{len(table.sizes)}I", *table.sizes))]
        wide = any(d > 0xFFFFFFFF for d, _m in table.edits) or shown > 0xFFFFFFFF
        elst = full_box(b"elst", 1, 0, struct.pack(">I", len(table.edits)),
                        b"".join(struct.pack(">QqI", d, m, 0x10000) for d, m in table.edits)) if wide else \
            full_box(b"elst", 0, 0, struct.pack(">I", len(table.edits)),
                     b"".join(struct.pack(">IiI", d, m, 0x10000) for d, m in table.edits))
        parts.append((table, _track_header(t, min(shown, 0xFFFFFFFF)), box(b"edts", elst), mdhd, hdlr, media_info,
                      before))
    mvhd = full_box(b"mvhd", 0, 0, struct.pack(">IIII", 0, 0, movie_timescale, min(movie_duration, 0xFFFFFFFF)),
                    struct.pack(">IH", 0x10000, 0x0100), bytes(10), MATRIX, bytes(24),
                    struct.pack(">I", max(t.info.track_id for t in tables) + 1))

    def build(moov_size: int) -> bytes:
        base = len(ftyp) + moov_size + len(mdat_header)
        traks = []
        for table, tkhd, edts, mdhd, hdlr, media_info, before in parts:
            offsets = [base + o for o, _c in table.chunks]
            co = full_box(b"co64", 0, 0, struct.pack(">I", len(offsets)), struct.pack(f">{len(offsets)}Q", *offsets)) \
                if large else \
                full_box(b"stco", 0, 0, struct.pack(">I", len(offsets)), struct.pack(f">{len(offsets)}I", *offsets))
            traks.append(box(b"trak", tkhd, edts,
                             box(b"mdia", mdhd, hdlr, box(b"minf", media_info, _dinf(), box(b"stbl", *before, co)))))
        return box(b"moov", mvhd, *traks)

    moov = build(0)
    moov = build(len(moov))
    return ftyp + moov + mdat_header


def with_fragment_duration(init: bytes, duration: int) -> bytes:
    """The init segment with an mvex/mehd box: players then know a fragmented file's length
    (in the movie timescale) before reading its fragments."""
    top = _children(init, 0, len(init))
    moov_start, moov_end = top[b"moov"][0]
    mvex = _children(init, moov_start, moov_end).get(b"mvex")
    if not mvex:
        return init
    mvex_start, mvex_end = mvex[0]
    inner = [(k, p, s) for k, p, s in iter_boxes(init, mvex_start, mvex_end) if k != b"mehd"]
    new_mvex = box(b"mvex", full_box(b"mehd", 1, 0, struct.pack(">Q", duration)),
                   *[init[p:p + s] for _k, p, s in inner])
    before = init[moov_start:mvex_start - 8]
    after = init[mvex_end:moov_end]
    moov = box(b"moov", before, new_mvex, after)
    return init[:moov_start - 8] + moov + init[moov_end:]
