"""Footage as the recorder writes it, for the tests of vigil.footage: segment files of
moof-framed fragments written by the real writer and indexed by it, and small filesystems
that run full (tmpfs, where the tests run as root)."""

from __future__ import annotations

import contextlib
import os
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.core.store import Store
from vigil.footage import index
from vigil.footage.writer import FragmentJob, SegmentStore

INIT = struct.pack(">I", 16) + b"ftypisom" + b"\0" * 4
START = 1_700_000_000.0


def fragment(payload: int = 1000, tag: int = 1) -> bytes:
    """What a stored fragment starts with (a moof box), then its payload."""
    return struct.pack(">I", 8 + payload) + b"moof" + bytes([tag]) * payload


def job(recording: str, n: int, folder: Path, per_segment: int = 3, payload: int = 1000,
        start: float = START) -> FragmentJob:
    """The n-th one-second fragment of a recording, `per_segment` to a segment file."""
    return FragmentJob(recording, (recording, n // per_segment), INIT, fragment(payload, n % 250), start + n, 1.0, 15,
                       folder)


def record(store: Store, folder: Path, recording: str = "rec1", source: str = "c1", volume: str = "default",
           segments: int = 2, per_segment: int = 3, payload: int = 1000, start: float = START) -> list[Path]:
    """An ended recording of sealed segments, written and indexed by the writer."""
    index.start_recording(store, recording, source, volume, "continuous", start, "", 640, 360, "h264")
    writer = SegmentStore(store)
    writer.start()
    for n in range(segments * per_segment):
        writer.write(job(recording, n, folder / source, per_segment, payload, start))
    writer.seal(recording, start + segments * per_segment)
    writer.stop()
    return sorted(Path(path) for _id, path, _bytes in index.segments_on(store, (volume,)))


def cap_index(store: Store) -> None:
    """Let the database grow by no page: SQLite's own "database or disk is full", as on a full
    disk, for whatever needs a new page (packed first, so that the next new rows do)."""
    store.query("VACUUM")
    pages = store.query("PRAGMA page_count")[0][0]
    store.query(f"PRAGMA max_page_count={pages}")


def uncap_index(store: Store) -> None:
    store.query("PRAGMA max_page_count=1073741823")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    db = Store(tmp_path / "data" / "vigil.db")
    yield db
    db.close()


@contextlib.contextmanager
def small_filesystem(where: Path, size: str) -> Iterator[Path]:
    """A tmpfs of `size` at `where` (root only: skipped otherwise), unmounted afterwards."""
    if os.geteuid() != 0:
        pytest.skip("mounting a small filesystem needs root")
    where.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], check=True)
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path) -> Path:
    """Write a filler file until the filesystem says it is full; returns the filler."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as f:
        for chunk in (1 << 20, 1 << 12):
            with contextlib.suppress(OSError):
                while True:
                    f.write(b"\0" * chunk)
    return filler
