"""Matroska exports, written by Vigil (EBML, no muxer library) from the samples of a cut.

One cluster per GOP, cues for every cluster, known sizes everywhere, so the file streams with
a Content-Length. Matroska has no edit list, so the file starts at the key frame at or before
the requested start (at most one GOP, about a second, early); those lead-in frames are flagged
invisible (the SimpleBlock "decode, do not show" flag of RFC 9559), and a
`VIGIL_REQUESTED_START` tag plus `DateUTC` (the wall time of the first frame) say where the
requested moment is. Players that ignore the flag (FFmpeg-based ones) show the lead-in.
"""

from __future__ import annotations

import struct

from vigil.features.recording.api import iso
from vigil.features.recording.muxer import Cut
from vigil.footage import mp4
from vigil.footage.reader import Layout, Selection

MATROSKA_EPOCH = 978307200  # 2001-01-01T00:00:00Z, the origin of Matroska's DateUTC


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


def matroska(selection: Selection, cut: Cut) -> Layout:
    """The Matroska muxer (see the module docstring)."""
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
