"""Exports against a real recorder (`vigil run --test-cameras 1`): frame-accurate MP4 cuts
checked with ffprobe/ffmpeg against the index, Matroska, OpenSSL-compatible encryption checked
with the openssl binary, Range requests, background jobs, bad input and roles."""

from __future__ import annotations

import math
import shutil
import subprocess
import time
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest

from tests.conftest import ROLE_USERS
from tests.recording.live import Recorded, decode_errors, ffprobe_frames, frame_md5s, iso_ms, top_level_boxes
from vigil.features.recording.api import parse_iso
from vigil.features.recording.export import export_to_file

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe") and shutil.which("openssl")),
                                reason="needs ffmpeg, ffprobe and openssl")
EXPORT = "/axis-cgi/record/export/exportrecording.cgi"
JOBS = "/axis-cgi/record/export/jobs.cgi"
FRAME = 1 / 15  # the test camera's frame interval


def export(rec: Recorded, recording: str, start: float | None = None, stop: float | None = None, fmt: str = "mp4",
           role: str = "operator", method: str = "GET", **extra: str) -> httpx.Response:
    args = {"schemaversion": "1", "recordingid": recording, "diskid": "default", "exportformat": fmt, **extra}
    if start is not None:
        args["starttime"] = iso_ms(start)
    if stop is not None:
        args["stoptime"] = iso_ms(stop)
    with rec.client(role) as c:
        if method == "POST":
            return c.post(EXPORT, data=args)
        return c.get(EXPORT, params=args)


def general_error(response: httpx.Response) -> int | None:
    if not response.headers.get("content-type", "").startswith("text/xml"):
        return None
    root = ElementTree.fromstring(response.content)
    code = root.find("GeneralError/ErrorCode")
    return int(code.text) if code is not None and code.text else None


def save(tmp_path: Path, name: str, response: httpx.Response) -> Path:
    assert response.status_code == 200, response.text[:300]
    assert general_error(response) is None, response.text[:300]
    path = tmp_path / name
    path.write_bytes(response.content)
    return path


def cut_points(rec: Recorded) -> tuple[list[tuple[float, bool]], float, float, int, int, int]:
    """A range starting and ending mid-frame and mid-GOP, and the frames it must give:
    k = the frame on screen at the start, j = the last frame starting before the stop,
    a = the key frame at or before k (where decoding must begin)."""
    frames = rec.frames(rec.main)
    k_wanted, j_wanted = 22, len(frames) - 27
    start = frames[k_wanted][0] + 0.3 * FRAME
    stop = frames[j_wanted][0] + 0.5 * FRAME
    k = max(i for i, (t, _key) in enumerate(frames) if t <= start)
    j = max(i for i, (t, _key) in enumerate(frames) if t < stop)
    a = max(i for i, (_t, key) in enumerate(frames[:k + 1]) if key)
    assert a < k, "the cut should start inside a GOP"
    return frames, start, stop, k, j, a


@pytest.fixture(scope="module")
def full_export(recorded: Recorded, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole main recording as MP4: its frames are the reference for every cut."""
    path = save(tmp_path_factory.mktemp("full"), "full.mp4", export(recorded, recorded.main))
    assert decode_errors(path) == ""
    return path


def test_mp4_export_is_cut_to_the_requested_frames(recorded: Recorded, full_export: Path, tmp_path: Path) -> None:
    frames, start, stop, k, j, a = cut_points(recorded)
    reference = frame_md5s(full_export)
    assert len(reference) == len(frames), "the full export holds every indexed frame"
    r = export(recorded, recorded.main, start, stop)
    path = save(tmp_path, "cut.mp4", r)
    assert r.headers["content-type"] == "video/mp4"
    assert int(r.headers["content-length"]) == len(r.content)
    assert r.headers["content-disposition"].startswith('attachment; filename="') and ".mp4" in r.headers[
        "content-disposition"]
    # A plain MP4, moov first (streamable), and the lead-in from the key frame is in the file.
    assert top_level_boxes(r.content) == [b"ftyp", b"moov", b"mdat"]
    assert b"elst" in r.content[:200_000]
    # ffprobe, edit list applied: exactly frames k..j, the first at time 0.
    shown = ffprobe_frames(path)
    assert len(shown) == j - k + 1
    assert float(shown[0]["pts_time"]) == pytest.approx(0, abs=1e-3)
    assert float(shown[-1]["pts_time"]) == pytest.approx((j - k) * FRAME, abs=0.002)
    # They are those frames, pixel for pixel: the first shown is the one on screen at `start`
    # (within one frame of it), the last the one before `stop`.
    assert frame_md5s(path) == reference[k:j + 1]
    assert 0 <= start - frames[k][0] < FRAME and 0 < stop - frames[j][0] <= FRAME
    assert parse_iso(r.headers["x-vigil-start-time"]) == pytest.approx(frames[k][0], abs=0.002)
    assert parse_iso(r.headers["x-vigil-first-frame-time"]) == pytest.approx(frames[a][0], abs=0.002)
    assert parse_iso(r.headers["x-vigil-stop-time"]) == pytest.approx(frames[j][0] + FRAME, abs=0.002)
    assert decode_errors(path) == ""


def test_matroska_export_starts_at_the_key_frame_before_the_start(recorded: Recorded, full_export: Path,
                                                                  tmp_path: Path) -> None:
    frames, start, stop, k, j, a = cut_points(recorded)
    r = export(recorded, recorded.main, start, stop, "matroska")
    path = save(tmp_path, "cut.mkv", r)
    assert r.headers["content-type"] == "video/x-matroska"
    assert r.content[:4] == bytes.fromhex("1a45dfa3")
    assert decode_errors(path) == ""
    shown = ffprobe_frames(path)
    # Matroska has no edit list: the file starts at key frame a (its lead-in frames carry the
    # "invisible" flag, which FFmpeg ignores) and ends at frame j.
    assert len(shown) == j - a + 1
    assert shown[0]["key_frame"] == 1
    assert float(shown[0]["pts_time"]) == pytest.approx(0, abs=1e-3)
    assert float(shown[-1]["pts_time"]) == pytest.approx((j - a) * FRAME, abs=0.002)
    assert frame_md5s(path) == frame_md5s(full_export)[a:j + 1]
    tags = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format_tags", "-of", "json", str(path)],
                          capture_output=True, text=True, check=True).stdout
    assert "VIGIL_REQUESTED_START" in tags and iso_ms(frames[k][0])[:19] in tags


def test_encrypted_export_opens_with_openssl_and_only_with_the_password(recorded: Recorded, tmp_path: Path) -> None:
    _frames, start, stop, *_ = cut_points(recorded)
    password = "correct horse 42"
    plain = export(recorded, recorded.main, start, stop).content
    # The password goes in a POST body (VAPIX also allows the query string).
    r = export(recorded, recorded.main, start, stop, method="POST", password=password,
               encryptionformat="openssl-aes256")
    assert r.status_code == 200 and general_error(r) is None, r.text[:300]
    assert r.headers["content-type"] == "application/octet-stream"
    assert r.headers["content-disposition"].endswith('.mp4.enc"')
    sealed = r.content
    assert len(sealed) == int(r.headers["content-length"]) == 16 + (len(plain) // 16 + 1) * 16
    assert sealed[:8] == b"Salted__"
    # No MP4 structure shows: whole box headers and the codec configuration (long enough
    # that random bytes do not hold them by chance, unlike a bare 4-byte box type).
    moov_at, mdat_at, avcc_at, elst_at = (plain.index(k) - 4 for k in (b"moov", b"mdat", b"avcC", b"elst"))
    for marker in (plain[:16], plain[moov_at:moov_at + 16], plain[mdat_at:mdat_at + 8],
                   plain[avcc_at:avcc_at + 24], plain[elst_at:elst_at + 20]):
        assert marker not in sealed, marker
    encrypted = tmp_path / "cut.mp4.enc"
    encrypted.write_bytes(sealed)
    opened = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", "100000", "-pass",
                             f"pass:{password}", "-in", str(encrypted)], capture_output=True, check=True).stdout
    assert opened == plain
    (tmp_path / "opened.mp4").write_bytes(opened)
    assert decode_errors(tmp_path / "opened.mp4") == ""
    wrong = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", "100000", "-pass",
                            "pass:wrong password", "-in", str(encrypted)], capture_output=True)
    assert wrong.returncode != 0 or wrong.stdout != plain
    # Each export has its own salt: the same footage encrypts differently every time.
    again = export(recorded, recorded.main, start, stop, method="POST", password=password,
                   encryptionformat="openssl-aes256").content
    assert again[8:16] != sealed[8:16] and again != sealed


def test_export_answers_range_requests(recorded: Recorded) -> None:
    whole = export(recorded, recorded.main, fmt="matroska")
    size = len(whole.content)
    assert whole.headers["accept-ranges"] == "bytes"
    args = {"schemaversion": "1", "recordingid": recorded.main, "exportformat": "matroska"}
    with recorded.client("operator") as c:
        for first, last in ((0, 99), (1000, 250_000), (size - 10, size - 1)):
            r = c.get(EXPORT, params=args, headers={"Range": f"bytes={first}-{last}"})
            assert r.status_code == 206
            assert r.headers["content-range"] == f"bytes {first}-{last}/{size}"
            assert r.content == whole.content[first:last + 1]
        r = c.get(EXPORT, params=args, headers={"Range": f"bytes={size}-"})
        assert r.status_code == 416 and r.headers["content-range"] == f"bytes */{size}"
        # A CBC-encrypted export is a chain: always sent whole.
        r = c.post(EXPORT, data={**args, "password": "a password", "encryptionformat": "openssl-aes256"},
                   headers={"Range": "bytes=0-99"})
        assert r.status_code == 200 and r.headers["accept-ranges"] == "none"
        assert len(r.content) == 16 + (size // 16 + 1) * 16


def test_ctr_encrypted_export_resumes_and_opens_with_openssl(recorded: Recorded, tmp_path: Path) -> None:
    plain = export(recorded, recorded.main, fmt="matroska").content
    args = {"schemaversion": "1", "recordingid": recorded.main, "exportformat": "matroska",
            "password": "resumable secret", "encryptionformat": "openssl-aes256-ctr"}
    with recorded.client("operator") as c:
        whole = c.post(EXPORT, data=args)
        assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
        sealed = whole.content
        assert len(sealed) == len(plain) + 16 and sealed[:8] == b"Salted__" and b"matroska" not in sealed
        # Every request for the same export gives the same bytes, so a download resumes.
        for first, last in ((0, 99), (5, 20), (100_000, 300_000), (len(sealed) - 50, len(sealed) - 1)):
            part = c.post(EXPORT, data=args, headers={"Range": f"bytes={first}-{last}"})
            assert part.status_code == 206 and part.content == sealed[first:last + 1]
        # Another password: another salt-derived key, other bytes.
        other = c.post(EXPORT, data={**args, "password": "another secret"}).content
        assert other[:16] == sealed[:16] and other[16:] != sealed[16:]
    path = tmp_path / "x.mkv.enc"
    path.write_bytes(sealed)
    opened = subprocess.run(["openssl", "enc", "-d", "-aes-256-ctr", "-pbkdf2", "-iter", "100000", "-pass",
                             "pass:resumable secret", "-in", str(path)], capture_output=True, check=True).stdout
    assert opened == plain


def test_export_of_an_ongoing_recording_ends_at_the_last_indexed_frame(recorded: Recorded, tmp_path: Path) -> None:
    frames = recorded.frames(recorded.continuous)
    start = frames[-1][0] - 3.0
    r = export(recorded, recorded.continuous, start)
    path = save(tmp_path, "ongoing.mp4", r)
    assert decode_errors(path) == ""
    stop = parse_iso(r.headers["x-vigil-stop-time"])
    assert stop >= frames[-1][0]  # at least what was indexed when we looked
    assert len(ffprobe_frames(path)) == pytest.approx((stop - start) * 15, abs=1.5)


def test_properties_give_the_proper_start_and_the_exact_size(recorded: Recorded) -> None:
    frames, start, stop, k, j, a = cut_points(recorded)
    for fmt, first in (("matroska", a), ("mp4", k)):
        args = {"schemaversion": "1", "recordingid": recorded.main, "diskid": "default", "exportformat": fmt,
                "starttime": iso_ms(start), "stoptime": iso_ms(stop)}
        with recorded.client("viewer") as c:
            root = ElementTree.fromstring(c.get("/axis-cgi/record/export/properties.cgi", params=args).content)
        props = root.find("PropertiesSuccess/ExportProperties")
        assert props is not None, ElementTree.tostring(root)
        assert parse_iso(props.get("Starttime")) == pytest.approx(frames[first][0], abs=0.002)
        assert parse_iso(props.get("Stoptime")) == pytest.approx(frames[j][0] + FRAME, abs=0.002)
        size = len(export(recorded, recorded.main, start, stop, fmt).content)
        assert int(props.get("FileSize")) == size
        assert int(props.get("EstimatedFileSize")) == math.ceil(size / 1024)
    with recorded.client("viewer") as c:
        caps = c.get("/axis-cgi/record/export/capabilities.cgi", params={"schemaversion": "1"}).text
    assert 'ExportFormat="matroska"' in caps and 'ExportFormat="mp4"' in caps


def jobs(rec: Recorded, role: str, method: str, params: dict | None = None, auth: tuple | None = None) -> dict:
    body = {"apiVersion": "1.0", "context": "t", "method": method, "params": params or {}}
    with httpx.Client(base_url=rec.base, auth=httpx.DigestAuth(*(auth or ROLE_USERS[role])), timeout=30) as c:
        r = c.post(JOBS, json=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_export_job_reports_progress_and_downloads_the_same_file(recorded: Recorded, tmp_path: Path) -> None:
    frames, start, stop, *_ = cut_points(recorded)
    reply = jobs(recorded, "operator", "startExport", {"recordingId": recorded.main, "startTime": iso_ms(start),
                                                        "stopTime": iso_ms(stop), "format": "mp4"})
    job = reply["data"]["job"]
    assert job["status"] in ("running", "done") and 0 <= job["progress"] <= 100 and job["size"] > 0
    seen = [job["progress"]]
    deadline = time.monotonic() + 20
    while job["status"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.05)
        job = jobs(recorded, "operator", "getExport", {"jobId": job["jobId"]})["data"]["job"]
        seen.append(job["progress"])
    assert job["status"] == "done" and job["progress"] == 100 and seen == sorted(seen)
    with recorded.client("operator") as c:
        status = c.get("/axis-cgi/record/export/getjobstatus.cgi", params={"schemaversion": "1", "jobid": job["jobId"]})
        assert 'Status="Done" Progress="100"' in status.text
        got = c.get("/axis-cgi/record/export/download.cgi", params={"jobid": job["jobId"]})
        assert got.status_code == 200 and got.headers["content-type"] == "video/mp4"
        assert f'filename="{job["fileName"]}"' in got.headers["content-disposition"]
        assert got.content == export(recorded, recorded.main, start, stop).content
        part = c.get("/axis-cgi/record/export/download.cgi", params={"jobid": job["jobId"]},
                     headers={"Range": "bytes=100-199"})
        assert part.status_code == 206 and part.content == got.content[100:200]
    # Jobs belong to who started them (and administrators).
    other = jobs(recorded, "operator", "getExport", {"jobId": job["jobId"]}, auth=("operator2", "oper5678"))
    assert other["error"]["code"] == 190
    listed = jobs(recorded, "admin", "listExports")["data"]["jobs"]
    assert job["jobId"] in [j["jobId"] for j in listed]
    assert jobs(recorded, "operator", "removeExport", {"jobId": job["jobId"]})["data"] == {}
    assert jobs(recorded, "operator", "getExport", {"jobId": job["jobId"]})["error"]["code"] == 190
    with recorded.client("operator") as c:
        gone = c.get("/axis-cgi/record/export/download.cgi", params={"jobid": job["jobId"]})
        assert general_error(gone) == 190


def test_encrypted_export_job(recorded: Recorded, tmp_path: Path) -> None:
    reply = jobs(recorded, "operator", "startExport", {"recordingId": recorded.main, "format": "matroska",
                                                        "password": "job password", "encryptionFormat": "openssl-aes256"})
    job = reply["data"]["job"]
    while job["status"] == "running":
        time.sleep(0.05)
        job = jobs(recorded, "operator", "getExport", {"jobId": job["jobId"]})["data"]["job"]
    assert job["status"] == "done" and job["encrypted"] and job["fileName"].endswith(".mkv.enc")
    with recorded.client("operator") as c:
        sealed = c.get("/axis-cgi/record/export/download.cgi", params={"jobid": job["jobId"]}).content
    assert sealed[:8] == b"Salted__" and b"matroska" not in sealed
    (tmp_path / "x.enc").write_bytes(sealed)
    opened = subprocess.run(["openssl", "enc", "-d", "-aes-256-cbc", "-pbkdf2", "-iter", "100000", "-pass",
                             "pass:job password", "-in", str(tmp_path / "x.enc"), "-out", str(tmp_path / "x.mkv")],
                            capture_output=True)
    assert opened.returncode == 0, opened.stderr
    assert decode_errors(tmp_path / "x.mkv") == ""
    assert (tmp_path / "x.mkv").read_bytes() == export(recorded, recorded.main, fmt="matroska").content


@pytest.mark.parametrize(("change", "code"), [
    ({"schemaversion": None}, 20),
    ({"schemaversion": "2"}, 40),
    ({"recordingid": None}, 20),
    ({"recordingid": "20200101_000000_nope_000000"}, 110),
    ({"diskid": "SD_DISK"}, 110),
    ({"starttime": "yesterday"}, 120),
    ({"stoptime": "2026-13-45T99:00:00Z"}, 130),
    ({"starttime": "+10", "stoptime": "+5"}, 140),
    ({"starttime": "+3600"}, 150),
    ({"stoptime": "-3600"}, 160),
    ({"exportformat": "avi"}, 170),
    ({"exportformat": None}, 170),
    ({"password": "long enough"}, 270),
    ({"encryptionformat": "openssl-aes256"}, 260),
    ({"password": "long enough", "encryptionformat": "zip-aes256"}, 250),
    ({"password": "short", "encryptionformat": "openssl-aes256"}, 240),
    ({"password": "x" * 513, "encryptionformat": "openssl-aes256"}, 240),
    ({"password": "bad\x01password", "encryptionformat": "openssl-aes256"}, 240),
])
def test_export_refuses_bad_input_with_a_vapix_error(recorded: Recorded, change: dict, code: int) -> None:
    first = recorded.fragments(recorded.main)[0][0]
    args: dict[str, str] = {"schemaversion": "1", "recordingid": recorded.main, "diskid": "default",
                            "exportformat": "mp4"}
    for key, value in change.items():
        if value is None:
            args.pop(key, None)
        elif key in ("starttime", "stoptime") and value[0] in "+-":
            args[key] = iso_ms(first + float(value))
        else:
            args[key] = value
    with recorded.client("operator") as c:
        r = c.post(EXPORT, data=args)
    assert r.status_code == 200 and general_error(r) == code, r.text
    assert "Traceback" not in r.text


def test_export_roles(recorded: Recorded) -> None:
    args = {"schemaversion": "1", "recordingid": recorded.main, "exportformat": "mp4"}
    with recorded.client(None) as c:
        assert c.get(EXPORT, params=args).status_code == 401
    with recorded.client("viewer") as c:
        assert c.get(EXPORT, params=args).status_code == 403
        assert c.get("/axis-cgi/record/export/download.cgi", params={"jobid": "1"}).status_code == 403
        assert c.get("/axis-cgi/record/export/properties.cgi", params=args).status_code == 200
    with httpx.Client(base_url=recorded.base, auth=httpx.DigestAuth(*ROLE_USERS["viewer"])) as c:
        r = c.post(JOBS, json={"apiVersion": "1.0", "method": "startExport", "params": {"recordingId": recorded.main}})
        assert r.status_code == 403
    with recorded.client("operator") as c:
        assert c.get(EXPORT, params=args).status_code == 200


def test_export_to_file_matches_the_http_export(recorded: Recorded, tmp_path: Path) -> None:
    _frames, start, stop, *_ = cut_points(recorded)
    done: list[int] = []
    result = export_to_file(recorded.db, recorded.main, tmp_path / "cut.mp4", start, stop, "mp4", progress=done.append)
    assert (tmp_path / "cut.mp4").read_bytes() == export(recorded, recorded.main, start, stop).content
    assert result.bytes == (tmp_path / "cut.mp4").stat().st_size and done[-1] == result.bytes
    assert result.seconds > 0 and result.plan_seconds <= result.seconds
    sealed = export_to_file(recorded.db, recorded.main, tmp_path / "cut.enc", start, stop, "mp4",
                            password="file password")
    assert sealed.bytes == 16 + (result.bytes // 16 + 1) * 16
