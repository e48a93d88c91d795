"""The footage index (vigil/footage/index.py): listing, usage and retention candidates per
volume, and the one deletion path, also on a full disk."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.footage.conftest import START, fill, job, record, small_filesystem
from vigil.core.store import Store
from vigil.footage import index
from vigil.footage.writer import SegmentStore


def test_recording_rows_filter_and_add_up_their_footage(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "recordings"
    files = record(store, folder, "rec1", "c1", segments=2)
    record(store, folder, "rec2", "c2", segments=1, start=START + 100)
    index.start_recording(store, "rec3", "c1", "default", "triggered", START + 200, "door: open", 0, 0, "h264")

    rows = index.recording_rows(store)
    assert [r[0] for r in rows] == ["rec1", "rec2", "rec3"]  # oldest first
    assert rows[0][10] == sum(f.stat().st_size for f in files)  # bytes of its segments
    assert rows[2][5] is None and rows[2][10] == 0  # being recorded, nothing written yet
    assert [r[0] for r in index.recording_rows(store, source="c1")] == ["rec1", "rec3"]
    assert [r[0] for r in index.recording_rows(store, kind="triggered", event="DOOR")] == ["rec3"]
    assert [r[0] for r in index.recording_rows(store, start=START + 50, stop=START + 150)] == ["rec2"]
    assert [r[0] for r in index.recording_rows(store, start=START + 300)] == ["rec3"]  # ongoing: no end yet
    assert index.recording_exists(store, "rec2") and not index.recording_exists(store, "nope")


def test_usage_and_retention_candidates_per_volume(store: Store, tmp_path: Path) -> None:
    onboard = record(store, tmp_path / "recordings", "rec1", volume="default", segments=3)
    share = record(store, tmp_path / "share", "rec2", volume="NetworkShare", segments=1, start=START - 1000)
    with store.transaction() as db:
        db.execute("UPDATE recordings SET locked=1 WHERE id='rec2'")
    assert index.used_bytes(store, ("RAID_DISK", "default")) == sum(f.stat().st_size for f in onboard)
    assert index.used_bytes(store) == sum(f.stat().st_size for f in onboard + share)
    oldest = index.oldest_segments(store, ("default",))
    assert [size for _id, size in oldest] == [f.stat().st_size for f in onboard]  # oldest first
    assert index.oldest_segments(store, None) == oldest  # the locked recording is never rotated out
    assert len(index.expired_segments(store, ("default",), START + 3.5)) == 1  # ended before: the first segment
    assert len(index.expired_segments(store, ("default",), START + 3.5, source="c9")) == 0


def test_deleting_segments_removes_rows_then_files_and_the_ended_recording_last(store: Store, tmp_path: Path) -> None:
    files = record(store, tmp_path / "recordings", segments=2)
    index.start_recording(store, "live", "c2", "default", "continuous", START, "", 0, 0, "h264")
    first, second = (seg for seg, _path, _size in index.segments_on(store, ("default",)))

    assert index.delete_segment(store, first)
    assert not files[0].exists() and index.recording_exists(store, "rec1")
    assert index.get_recording(store, "rec1")[4] == START + 3  # starts where its footage now does
    assert not index.delete_segment(store, first)  # gone already
    assert index.delete_segment(store, second)
    assert not files[1].exists() and not index.recording_exists(store, "rec1")
    assert store.query("SELECT COUNT(*) FROM fragments")[0][0] == 0
    index.drop_recordings_without_footage(store, None)
    assert index.recording_exists(store, "live")  # still being recorded: kept


def test_erase_and_delete_recording_touch_only_their_own(store: Store, tmp_path: Path) -> None:
    record(store, tmp_path / "recordings", "a", volume="default")
    record(store, tmp_path / "recordings", "b", volume="RAID_DISK", source="c2")
    shared = record(store, tmp_path / "share", "c", volume="NetworkShare", source="c3")
    assert index.erase_volume(store, ("RAID_DISK", "default")) == 2
    assert [r[0] for r in index.recording_rows(store)] == ["c"]
    assert all(f.exists() for f in shared)
    index.delete_recording(store, "c")
    assert index.recording_rows(store) == [] and not any(f.exists() for f in shared)
    assert store.query("SELECT COUNT(*) FROM segments")[0][0] == 0


def test_a_full_disk_gives_way_to_deletion(tmp_path: Path) -> None:
    """On a full disk the index cannot change until a file goes: deletion removes the file
    first, then the rows."""
    with small_filesystem(tmp_path / "small", "4m") as small:
        store = Store(small / "vigil.db")
        reader = None
        try:
            files = record(store, small / "recordings", segments=2, payload=200_000)
            # A reader's snapshot keeps the WAL from being reused: a commit needs new space.
            reader = sqlite3.connect(small / "vigil.db", isolation_level=None)
            reader.execute("BEGIN")
            reader.execute("SELECT COUNT(*) FROM segments").fetchone()
            fill(small)
            seg = index.segments_on(store, ("default",))[0][0]
            with pytest.raises(sqlite3.OperationalError, match="full"), store.transaction() as db:
                db.execute(index.DELETE_FRAGMENTS, (seg,))
            assert index.delete_segment(store, seg)
            assert not files[0].exists()
            assert index.segment_file(store, seg) is None
        finally:
            if reader is not None:
                reader.close()
            store.close()


def test_the_timeline_has_spans_with_gaps_and_the_events(store: Store, tmp_path: Path) -> None:
    """One query for a camera's spans: a recording whose camera was away for 3 s is two spans;
    another camera's footage and footage outside the window are not in it."""
    folder = tmp_path / "recordings"
    index.start_recording(store, "cont", "c1", "default", "continuous", START, "", 640, 360, "h264")
    index.start_recording(store, "trig", "c1", "NetworkShare", "triggered", START + 4, "door: tns1:Device/IO", 640,
                          360, "h264", (START + 4, "tns1:Device/IO/VirtualInput", "{}", "{}", "Changed"))
    writer = SegmentStore(store)
    writer.start()
    for n in [*range(0, 4), *range(7, 12)]:  # seconds 4 to 7 missing: the camera was away
        writer.write(job("cont", n, folder / "c1"))
    for n in range(4, 6):
        writer.write(job("trig", n, folder / "c1t"))
    writer.seal("cont", START + 12)
    writer.seal("trig", START + 6)
    writer.stop()
    record(store, folder, "other", "c2", segments=1)

    spans, events = index.timeline(store, "c1", START - 10, START + 100, 2.0)
    assert [(rid, kind, volume, first - START, last - START) for rid, kind, volume, _e, first, last in spans] == [
        ("cont", "continuous", "default", 0, 4), ("trig", "triggered", "NetworkShare", 4, 6),
        ("cont", "continuous", "default", 7, 12)]
    assert events == [("trig", START + 4, "tns1:Device/IO/VirtualInput", "door: tns1:Device/IO")]
    spans, events = index.timeline(store, "c1", START + 8, START + 9, 2.0)  # the fragments that reach into it
    assert [(rid, first - START, last - START) for rid, _k, _v, _e, first, last in spans] == [("cont", 7, 10)]
    assert events == []
    assert index.timeline(store, "c3", START - 10, START + 100, 2.0) == ([], [])
