"""A real recorder for the playback, export and Recordings page tests: `vigil run
--test-cameras 1` (S3016), recording its built-in test camera, with a few finished manual
recordings next to the ongoing continuous one. One server per test session."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, ROLE_USERS, LiveDevice, create_admin_live, start_live, wait_until

MANUAL_SECONDS = 9.0


def iso_ms(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass
class Recorded:
    server: LiveDevice
    main: str  # a finished manual recording of about MANUAL_SECONDS
    spares: list[str]  # more finished ones, for tests that delete
    continuous: str  # the ongoing continuous recording

    @property
    def base(self) -> str:
        return self.server.http

    @property
    def db(self) -> Path:
        return self.server.data / "vigil.db"

    def client(self, role: str | None = "admin", **options) -> httpx.Client:
        auth = httpx.DigestAuth(*ROLE_USERS[role]) if role else None
        return httpx.Client(base_url=self.base, auth=auth, timeout=30, **options)

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with sqlite3.connect(f"file:{self.db}?mode=ro", uri=True) as db:
            return db.execute(sql, args).fetchall()

    def fragments(self, recording: str) -> list[tuple[float, float, int, bool]]:
        """(start, duration, frames, key) of each indexed fragment, in file order."""
        return [(s, d, n, bool(k)) for s, d, n, k in self.query(
            "SELECT f.start, f.duration, f.frames, f.key FROM fragments f JOIN segments s ON s.id = f.segment "
            "WHERE s.recording=? ORDER BY s.id, f.offset", (recording,))]

    def frames(self, recording: str) -> list[tuple[float, bool]]:
        """(wall time, starts a fragment with a key frame) of every video frame, from the index
        alone: the test camera sends a constant frame rate."""
        out = []
        for start, duration, count, key in self.fragments(recording):
            for n in range(count):
                out.append((start + n * duration / count, key and n == 0))
        return out


def _recorder(client: httpx.Client, method: str, params: dict | None = None) -> dict:
    body = {"apiVersion": "1.0", "method": method, "params": params or {}}
    reply = client.post("/axis-cgi/recorder.cgi", content=json.dumps(body)).json()
    assert "error" not in reply, reply
    return reply["data"]


@pytest.fixture(scope="session")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Recorded]:
    server = start_live(tmp_path_factory.mktemp("recorder") / "data", "s3016", test_cameras=1)
    try:
        create_admin_live(server)
        with httpx.Client(base_url=server.http, auth=httpx.DigestAuth(*ADMIN), timeout=30) as admin:
            for role in ("operator", "viewer"):
                user, password = ROLE_USERS[role]
                groups = "operator:viewer" if role == "operator" else "viewer"
                r = admin.post("/axis-cgi/pwdgrp.cgi", data={"action": "add", "user": user, "pwd": password,
                                                              "grp": "users", "sgrp": groups})
                assert "Created" in r.text, r.text
            r = admin.post("/axis-cgi/pwdgrp.cgi", data={"action": "add", "user": "operator2", "pwd": "oper5678",
                                                          "grp": "users", "sgrp": "operator:viewer"})
            assert "Created" in r.text, r.text
            db = server.data / "vigil.db"

            def indexed(kind: str) -> float:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                    row = con.execute("SELECT SUM(f.duration) FROM fragments f JOIN segments s ON s.id=f.segment "
                                      "JOIN recordings r ON r.id=s.recording WHERE r.kind=?", (kind,)).fetchone()
                return row[0] or 0.0

            wait_until(lambda: indexed("continuous") >= 2, 60, "the test camera was not recorded")
            with httpx.Client(base_url=server.http, auth=httpx.DigestAuth(*ROLE_USERS["operator"]), timeout=30) as op:
                ids = []
                for _ in range(4):
                    # A GOP apart: recordings that start on the same fragment share a segment
                    # file name (reported to the lead), which deleting one would take from all.
                    ids.append(_recorder(op, "startRecording", {"source": "testcam1"})["recordingId"])
                    time.sleep(1.2)
                wait_until(lambda: indexed("manual") >= 4 * MANUAL_SECONDS, 60, "manual recordings too short")
                for rid in ids:
                    _recorder(op, "stopRecording", {"recordingId": rid})

            def finished() -> bool:
                with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                    open_ = con.execute("SELECT COUNT(*) FROM recordings WHERE kind='manual' AND stop IS NULL")
                    unsealed = con.execute("SELECT COUNT(*) FROM segments s JOIN recordings r ON r.id=s.recording "
                                           "WHERE r.kind='manual' AND s.sealed=0")
                    return open_.fetchone()[0] == 0 and unsealed.fetchone()[0] == 0

            wait_until(finished, 30, "manual recordings did not finish")
            with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as con:
                continuous = con.execute("SELECT id FROM recordings WHERE kind='continuous' AND stop IS NULL").fetchone()[0]
        yield Recorded(server, ids[0], ids[1:], continuous)
    finally:
        server.stop()


def ffprobe_frames(path: Path) -> list[dict]:
    """Video frames as ffprobe decodes them (edit lists applied)."""
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_frames", "-show_entries",
                          "frame=pts_time,key_frame,pict_type", "-of", "json", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)["frames"]


def frame_md5s(path: Path) -> list[str]:
    """The MD5 of every decoded video frame, in presentation order."""
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-map", "0:v:0", "-f", "framemd5", "-"],
                         capture_output=True, text=True, check=True).stdout
    return [line.rsplit(",", 1)[1].strip() for line in out.splitlines() if line and not line.startswith("#")]


def decode_errors(path: Path) -> str:
    """What `ffmpeg -v error -i file -f null -` complains about (empty: it plays cleanly)."""
    run = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    return run.stderr.strip() + ("" if run.returncode == 0 else f" (exit {run.returncode})")


def top_level_boxes(data: bytes) -> list[bytes]:
    kinds, pos = [], 0
    while pos + 8 <= len(data):
        size = int.from_bytes(data[pos:pos + 4], "big")
        if size == 1:
            size = int.from_bytes(data[pos + 8:pos + 16], "big")
        kinds.append(data[pos + 4:pos + 8])
        if size < 8:
            break
        pos += size
    return kinds
