"""Playback (record/play.cgi) against a real recorder: the fragmented MP4 decodes, starts at a
key frame with time rebased to 0, answers Range requests with exactly the bytes of the whole
response, stays the same file while an ongoing recording grows, keeps playing footage that is
deleted meanwhile, and refuses bad input clearly."""

from __future__ import annotations

import shutil
import struct
import subprocess
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.conftest import ROLE_USERS
from tests.recording.live import Recorded, decode_errors, ffprobe_frames, frame_md5s, iso_ms, top_level_boxes
from vigil.core.store import Store
from vigil.features.recording.api import parse_iso
from vigil.features.recording.playback import playback_layout
from vigil.footage import mp4

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
                                reason="needs ffmpeg and ffprobe")
PLAY = "/axis-cgi/record/play.cgi"
FRAME = 1 / 15


def play(rec: Recorded, recording: str, start: float | None = None, stop: float | None = None,
         role: str | None = "viewer", headers: dict | None = None, method: str = "GET") -> httpx.Response:
    params = {"recordingid": recording}
    if start is not None:
        params["starttime"] = iso_ms(start)
    if stop is not None:
        params["stoptime"] = iso_ms(stop)
    with rec.client(role) as c:
        return c.request(method, PLAY, params=params, headers=headers or {})


def fragments_of(data: bytes) -> list[tuple[int, mp4.MoofInfo]]:
    out, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] == b"moof":
            out.append((pos, mp4.parse_moof(data[pos:pos + size])))
        pos += size
    return out


def test_playback_is_a_fragmented_mp4_from_the_key_frame_before_the_start(recorded: Recorded, tmp_path: Path) -> None:
    frames = recorded.frames(recorded.main)
    start, stop = frames[20][0] + 0.3 * FRAME, frames[-20][0] + 0.5 * FRAME
    r = play(recorded, recorded.main, start, stop)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "video/mp4"
    assert r.headers["accept-ranges"] == "bytes"
    assert int(r.headers["content-length"]) == len(r.content)
    data = r.content
    kinds = top_level_boxes(data)
    assert kinds[:3] == [b"ftyp", b"moov", b"sidx"] and set(kinds[3:]) == {b"moof", b"mdat"}
    # It begins with the last fragment that starts with a key frame at or before `start`.
    key_index = max(i for i, (t, key) in enumerate(frames) if key and t <= start)
    assert parse_iso(r.headers["x-vigil-start-time"]) == pytest.approx(frames[key_index][0], abs=0.002)
    # Times start at 0 and run on without gaps; sequence numbers count from 1.
    fragments = fragments_of(data)
    expected = 0
    for n, (pos, moof) in enumerate(fragments, start=1):
        assert int.from_bytes(data[pos + moof.sequence_at:pos + moof.sequence_at + 4], "big") == n
        (run,) = moof.runs
        assert run.base_time == expected
        expected += sum(run.durations)
    assert fragments[0][1].runs[0].keys[0]
    path = tmp_path / "play.mp4"
    path.write_bytes(data)
    assert decode_errors(path) == ""
    shown = ffprobe_frames(path)
    assert float(shown[0]["pts_time"]) == pytest.approx(0, abs=1e-3) and shown[0]["key_frame"] == 1
    last_fragment_frames = sum(1 for t, _k in frames if t < stop) - key_index
    assert len(shown) >= last_fragment_frames  # up to the end of the fragment holding `stop`
    full = tmp_path / "full.mp4"
    with recorded.client("operator") as c:
        full.write_bytes(c.get("/axis-cgi/record/export/exportrecording.cgi",
                               params={"schemaversion": "1", "recordingid": recorded.main, "exportformat": "mp4"}).content)
    reference = frame_md5s(full)
    assert frame_md5s(path) == reference[key_index:key_index + len(shown)]
    # The player learns the length from the init segment (mvex/mehd), and can seek with the sidx.
    duration = subprocess_duration(path)
    assert duration == pytest.approx(len(shown) * FRAME, abs=0.01)


def subprocess_duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def test_range_requests_return_the_same_bytes_as_the_whole_answer(recorded: Recorded) -> None:
    whole = play(recorded, recorded.main)
    data = whole.content
    size = len(data)
    etag = whole.headers["etag"]
    fragment_starts = [pos for pos, _m in fragments_of(data)]
    ranges = [(0, 0), (0, 1023), (100, fragment_starts[1] + 50), (fragment_starts[2] - 3, fragment_starts[4] + 3),
              (size // 2, size // 2 + 300_000), (size - 1, size - 1)]
    for first, last in ranges:
        r = play(recorded, recorded.main, headers={"Range": f"bytes={first}-{last}"})
        assert r.status_code == 206, (first, last)
        assert r.headers["content-range"] == f"bytes {first}-{min(last, size - 1)}/{size}"
        assert int(r.headers["content-length"]) == len(r.content)
        assert r.content == data[first:last + 1], (first, last)
    assert play(recorded, recorded.main, headers={"Range": f"bytes={size - 500}-"}).content == data[-500:]
    assert play(recorded, recorded.main, headers={"Range": "bytes=-700"}).content == data[-700:]
    # Beyond the end: 416 with the size; several ranges at once: the whole file (RFC 9110 allows it).
    r = play(recorded, recorded.main, headers={"Range": f"bytes={size}-{size + 10}"})
    assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
    r = play(recorded, recorded.main, headers={"Range": "bytes=0-1,5-9"})
    assert r.status_code == 200 and r.content == data
    # If-Range: a range of this version, or the whole of another.
    assert play(recorded, recorded.main, headers={"Range": "bytes=10-19", "If-Range": etag}).status_code == 206
    r = play(recorded, recorded.main, headers={"Range": "bytes=10-19", "If-Range": '"other"'})
    assert r.status_code == 200 and r.content == data
    head = play(recorded, recorded.main, method="HEAD")
    assert head.status_code == 200 and head.content == b"" and int(head.headers["content-length"]) == size


def test_https_plays_the_same_bytes_as_plain_http(recorded: Recorded) -> None:
    """Plain HTTP sends the stored footage by sendfile; HTTPS through the TLS transport."""
    data = play(recorded, recorded.main).content
    with httpx.Client(base_url=recorded.server.https, verify=False, timeout=30,
                      auth=httpx.DigestAuth(*ROLE_USERS["viewer"])) as c:
        whole = c.get(PLAY, params={"recordingid": recorded.main})
        assert whole.status_code == 200 and whole.content == data
        middle = (len(data) // 3, len(data) // 3 + 700_000)
        r = c.get(PLAY, params={"recordingid": recorded.main}, headers={"Range": f"bytes={middle[0]}-{middle[1]}"})
        assert r.status_code == 206 and r.content == data[middle[0]:middle[1] + 1]


def test_an_ongoing_recording_plays_up_to_its_last_indexed_fragment_as_one_file(recorded: Recorded) -> None:
    with recorded.client("viewer", follow_redirects=False) as c:
        r = c.get(PLAY, params={"recordingid": recorded.continuous})
    assert r.status_code == 302
    target = r.headers["location"]
    pinned = parse_qs(urlsplit(target).query)["stoptime"][0]
    extent = recorded.query("SELECT MAX(f.start + f.duration) FROM fragments f JOIN segments s ON s.id=f.segment "
                            "WHERE s.recording=?", (recorded.continuous,))[0][0]
    assert parse_iso(pinned) <= extent + 0.001
    with recorded.client("viewer") as c:
        first = c.get(target)
        assert first.status_code == 200
        time.sleep(2.5)  # the recording grows meanwhile
        tail = c.get(target, headers={"Range": "bytes=-5000"})
        again = c.get(target)
        # A stop time in the past of an ongoing recording needs no pinning.
        assert again.content == first.content and tail.content == first.content[-5000:]
        newer = c.get(PLAY, params={"recordingid": recorded.continuous}, follow_redirects=True)
        assert len(newer.content) > len(first.content)
    assert parse_iso(first.headers["x-vigil-stop-time"]) <= parse_iso(pinned) + 1.001


def test_footage_removed_during_playback_still_plays_to_the_end(recorded: Recorded) -> None:
    victim = recorded.spares[0]
    expected = play(recorded, victim).content
    store = Store(recorded.db)
    try:
        layout = playback_layout(store, victim, None, None)
    finally:
        store.close()
    try:
        with recorded.client("admin") as c:
            r = c.post("/axis-cgi/record/remove.cgi", data={"recordingid": victim})
            assert 'result="OK"' in r.text, r.text
        assert play(recorded, victim).status_code == 404
        files = recorded.query("SELECT COUNT(*) FROM segments WHERE recording=?", (victim,))[0][0]
        assert files == 0
        assert layout.reader().read(0, layout.size) == expected  # the files were open already
    finally:
        layout.close()


@pytest.mark.parametrize(("params", "status", "code"), [
    ({}, 400, 20),
    ({"recordingid": "20200101_000000_nope_000000"}, 404, 110),
    ({"recordingid": "MAIN", "diskid": "SD_DISK"}, 404, 110),
    ({"recordingid": "MAIN", "starttime": "soon"}, 400, 120),
    ({"recordingid": "MAIN", "stoptime": "2026-02-30T00:00:00Z"}, 400, 130),
    ({"recordingid": "MAIN", "starttime": "+8", "stoptime": "+2"}, 400, 140),
    ({"recordingid": "MAIN", "starttime": "+86400"}, 400, 150),
    ({"recordingid": "MAIN", "stoptime": "-86400"}, 400, 160),
])
def test_playback_refuses_bad_input(recorded: Recorded, params: dict, status: int, code: int) -> None:
    first = recorded.fragments(recorded.main)[0][0]
    query = {}
    for key, value in params.items():
        if value == "MAIN":
            value = recorded.main
        elif key in ("starttime", "stoptime") and value[0] in "+-":
            value = iso_ms(first + float(value))
        query[key] = value
    with recorded.client("viewer") as c:
        r = c.get(PLAY, params=query)
    assert r.status_code == status
    assert r.headers["content-type"].startswith("text/xml")
    assert f'<error code="{code}"' in r.text, r.text


def test_playback_roles(recorded: Recorded) -> None:
    assert play(recorded, recorded.main, role=None, method="HEAD").status_code == 401
    for role in ("viewer", "operator", "admin"):
        assert play(recorded, recorded.main, role=role, headers={"Range": "bytes=0-15"}).status_code == 206


def test_sidx_describes_every_fragment(recorded: Recorded) -> None:
    r = play(recorded, recorded.main)
    assert r.status_code == 200, r.text
    data = r.content
    assert b"sidx" in top_level_boxes(data)
    pos = 0
    while data[pos + 4:pos + 8] != b"sidx":
        pos += int.from_bytes(data[pos:pos + 4], "big")
    size = int.from_bytes(data[pos:pos + 4], "big")
    _version_flags, track, timescale, earliest, first_offset, _reserved, count = struct.unpack_from(">IIIQQHH", data,
                                                                                                  pos + 8)
    assert (track, timescale, earliest, first_offset) == (1, 90000, 0, 0)
    fragments = fragments_of(data)
    assert count == len(fragments)
    at = pos + size
    for n in range(count):
        referenced, duration, sap = struct.unpack_from(">III", data, pos + 40 + 12 * n)
        assert fragments[n][0] == at
        assert sap >> 31 == 1  # starts with a key frame
        at += referenced
        assert duration == sum(fragments[n][1].runs[0].durations)
    assert at == len(data)
