"""Playback: any time range of one recording as a fragmented MP4 that a browser `<video>`
plays and seeks in (served by http_play.py as

    GET /axis-cgi/record/play.cgi?recordingid=ID[&starttime=ISO][&stoptime=ISO][&diskid=D]).

The answer is built from the index, never from a temporary file:

    ftyp + moov     the recording's stored init segment, with an mvex/mehd box giving the
                    length, so the player knows the duration up front
    sidx            one reference per fragment (size, duration, starts with a key frame),
                    so the player can seek without reading what lies before
    moof + mdat ... the stored fragments, byte for byte, except that each moof's sequence
                    number and decode times (tfdt) are rewritten so the file starts at 0

The first fragment is the last one that starts with a key frame at or before `starttime`,
so the video starts up to one GOP early; `X-Vigil-Start-Time` says when (device clock,
ISO 8601), and a player that wants the exact instant seeks to the difference. The last
fragment is the last that starts before `stoptime`. Times outside the recording are cut to
it; a range wholly outside it is an error.

Content-Length is known before the first byte, Range requests get 206 (one range per
request, as media elements ask), and the segment files are opened when the request comes in,
so footage that retention removes during playback still plays to the end of that response.

An ongoing recording plays up to its last indexed fragment (about a second behind live).
So that every Range request of one player sees the same bytes, a request without
`stoptime` (or with one past the indexed end) on an ongoing recording is redirected (302)
to the same URL with `stoptime` fixed at the indexed end; a completed recording's answer
never changes.

Errors are XML, `<root><error code=".." description=".."/></root>`, with codes from the
VAPIX export API (110 no such recording, 120/130 bad start/stop time, 140 start after stop,
150/160 range after/before the recording) and HTTP status 400 or 404, so that a media element
reports a failure instead of trying to play the error text.
"""

from __future__ import annotations

import struct

from vigil.core.store import Store
from vigil.footage import mp4
from vigil.footage.reader import Layout, Selection, get_recording, select

MAX_SIDX_REFERENCES = 0xFFFF


def playback_layout(store: Store, recording_id: str, start: float | None, stop: float | None,
                    disk: str | None = None) -> Layout:
    recording = get_recording(store, recording_id, disk)
    selection = select(store, recording, start, stop)
    try:
        return _build(selection)
    except BaseException:
        selection.close()
        raise


def _build(selection: Selection) -> Layout:
    video = selection.video
    rates = {t.track_id: t.timescale for t in selection.tracks}
    bases = selection.video_bases()
    last = selection.fragments[-1]
    ends = bases[1:] + [bases[-1] + round(last.duration * video.timescale)]
    total = ends[-1]
    layout = Layout(selection)
    layout.add_bytes(mp4.with_fragment_duration(selection.init, -(-total * 1000 // video.timescale)))
    fragments = selection.fragments
    if len(fragments) <= MAX_SIDX_REFERENCES:
        entries = b"".join(struct.pack(">III", f.size & 0x7FFFFFFF, end - base, 0x90000000 if f.key else 0)
                           for f, base, end in zip(fragments, bases, ends, strict=True))
        layout.add_bytes(mp4.full_box(b"sidx", 1, 0, struct.pack(">IIQQHH", video.track_id, video.timescale, 0, 0, 0,
                                                                 len(fragments)), entries))
    for n, (fragment, base) in enumerate(zip(fragments, bases, strict=True), start=1):
        layout.add_fragment(selection.fd(fragment), fragment.offset, fragment.size,
                            _patcher(n, base, video.track_id, video.timescale, rates))
    return layout


def _patcher(sequence: int, video_base: int, video_track: int, video_rate: int, rates: dict[int, int]):
    def patch(raw: bytes) -> bytes:  # the fragment's moof box; its mdat goes out as stored
        moof = mp4.parse_moof(raw)
        data = bytearray(raw)
        if moof.sequence_at >= 0:
            struct.pack_into(">I", data, moof.sequence_at, sequence)
        video_in = next((r.base_time for r in moof.runs if r.track_id == video_track), video_base)
        shift = (video_in - video_base) / video_rate
        for run in moof.runs:
            if run.tfdt_at < 0:
                continue
            if run.track_id == video_track:
                value = video_base
            else:
                value = max(run.base_time - round(shift * rates.get(run.track_id, video_rate)), 0)
            if run.tfdt_size == 8:
                struct.pack_into(">Q", data, run.tfdt_at, value)
            else:
                struct.pack_into(">I", data, run.tfdt_at, value & 0xFFFFFFFF)
        return bytes(data)

    return patch
