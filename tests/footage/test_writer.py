"""The footage writer (vigil/footage/writer.py) when writing fails: an index that cannot grow
(SQLite's own "database or disk is full", from `max_page_count`), and a disk that runs full in
the middle of a fragment (a small tmpfs). The writer outlives both, asks for rotation first,
keeps the index true to the files, and catches up by itself when space returns."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tests.footage.conftest import START, cap_index, fill, job, small_filesystem, uncap_index
from vigil.core.store import Store
from vigil.footage import index, mp4
from vigil.footage.check import Options, Scope, check
from vigil.footage.writer import SegmentStore, recover

FULL_INDEX = "the recordings index cannot be written: database or disk is full"


def indexed_starts(store: Store) -> list[float]:
    return [start - START for (start,) in store.query("SELECT start FROM fragments ORDER BY start")]


def write_until(writer: SegmentStore, first: int, done: Callable[[], bool], folder: Path, limit: int = 400,
                per_segment: int = 1, payload: int = 1000) -> int:
    """Write one fragment at a time until `done()`; returns the number of the next fragment."""
    n = first
    while not done():
        assert n < first + limit, "the condition never came"
        writer.write(job("rec1", n, folder, per_segment, payload))
        assert writer.drain(10)
        n += 1
    return n


def test_the_writer_outlives_a_full_index_and_catches_up_when_space_returns(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "recordings" / "c1"
    states: list[tuple[str, str | None]] = []
    asked: list[str | None] = []
    writer = SegmentStore(store, on_state=lambda r, e: states.append((r, e)),
                          make_room=lambda r: asked.append(r) is not None)  # nothing to rotate out
    index.start_recording(store, "rec1", "c1", "default", "continuous", START, "", 0, 0, "h264")
    writer.start()
    try:
        for n in range(3):
            writer.write(job("rec1", n, folder))
        assert writer.drain(10) and indexed_starts(store) == [0, 1, 2]
        cap_index(store)
        failed_at = write_until(writer, 3, lambda: bool(states), folder)
        assert states == [("rec1", FULL_INDEX)] and asked  # rotation was asked first
        for n in range(failed_at, failed_at + 3):  # it goes on failing, and says so once
            writer.write(job("rec1", n, folder))
        assert writer.drain(10) and writer.running and len(states) == 1
        uncap_index(store)
        resumed_at = failed_at + 3
        for n in range(resumed_at, resumed_at + 3):
            writer.write(job("rec1", n, folder))
        writer.seal("rec1", START + resumed_at + 3)
        assert writer.drain(10)
    finally:
        writer.stop()
    assert states == [("rec1", FULL_INDEX), ("rec1", None)]
    starts = indexed_starts(store)
    assert starts[:3] == [0, 1, 2] and starts[-3:] == [resumed_at, resumed_at + 1, resumed_at + 2]
    assert all(s < failed_at for s in starts[:-3])  # what could not be indexed was dropped, not half-kept
    report = check(store, Scope.device(tmp_path / "data"), Options())
    assert report.ok and not report.pending and not report.orphans, report.text()
    assert store.query("SELECT COUNT(*) FROM segments WHERE sealed=0") == [(0,)]
    assert index.get_recording(store, "rec1")[5] == START + resumed_at + 3


def test_rotation_runs_before_a_fragment_is_given_up(store: Store, tmp_path: Path) -> None:
    folder = tmp_path / "data" / "recordings" / "c1"
    states: list[tuple[str, str | None]] = []
    asked: list[str | None] = []

    def make_room(recording: str | None) -> bool:  # rotation frees what the index needs
        asked.append(recording)
        uncap_index(store)
        return True

    writer = SegmentStore(store, on_state=lambda r, e: states.append((r, e)), make_room=make_room)
    index.start_recording(store, "rec1", "c1", "default", "continuous", START, "", 0, 0, "h264")
    writer.start()
    try:
        cap_index(store)
        n = write_until(writer, 0, lambda: bool(asked), folder)
        writer.seal("rec1", START + n)
        assert writer.drain(10)
    finally:
        writer.stop()
    assert states == []  # nothing was lost: no failure to report
    assert indexed_starts(store) == list(range(n))


def test_a_disk_full_in_mid_fragment_cuts_it_off_and_recording_resumes(store: Store, tmp_path: Path) -> None:
    states: list[tuple[str, str | None]] = []
    with small_filesystem(tmp_path / "small", "2m") as small:
        folder = small / "c1"
        writer = SegmentStore(store, on_state=lambda r, e: states.append((r, e)))
        index.start_recording(store, "rec1", "c1", "default", "continuous", START, "", 0, 0, "h264")
        writer.start()
        try:
            for n in range(3):
                writer.write(job("rec1", n, folder, per_segment=100, payload=100_000))
            assert writer.drain(10)
            filler = fill(small)
            os.truncate(filler, filler.stat().st_size - 40_960)  # room for part of the next fragment
            writer.write(job("rec1", 3, folder, per_segment=100, payload=100_000))
            assert writer.drain(10)
            assert states == [("rec1", "No space left on device")]
            (path,) = [Path(p) for _id, p, _b in index.segments_on(store, ("default",))]
            assert path.stat().st_size == store.query("SELECT bytes FROM segments")[0][0]  # no partial fragment
            filler.unlink()
            for n in range(4, 7):
                writer.write(job("rec1", n, folder, per_segment=100, payload=100_000))
            writer.seal("rec1", START + 7)
            assert writer.drain(10)
        finally:
            writer.stop()
        assert states == [("rec1", "No space left on device"), ("rec1", None)]
        assert indexed_starts(store) == [0, 1, 2, 4, 5, 6]  # one fragment lost, nothing torn
        report = check(store, Scope((small,), None), Options())
        assert report.ok and not report.pending and not report.orphans, report.text()


def test_recovery_times_an_audio_only_segment_by_its_own_track(store: Store, tmp_path: Path) -> None:
    """A segment of the microphone's AAC (16 kHz, no video) written past the last commit, then a
    kill -9: recovery indexes its fragments with their durations in the audio track's timescale."""
    init = mp4.init_segment([mp4.TrackInfo(1, "audio", "AAC", 16000, bytes.fromhex("1408"), channels=1,
                                           sample_rate=16000)])
    index.start_recording(store, "mic1", "microphone", "default", "continuous", START, "", 0, 0, "")
    folder = tmp_path / "microphone"
    folder.mkdir()
    path = folder / "segment.mp4"
    seg_id = index.add_segment(store, "mic1", path, START, len(init))
    fragments = [mp4.fragment(n + 1, [mp4.TrackRun(1, n * 15 * 1024, [1024] * 15, [40] * 15, [True] * 15,
                                                   [bytes(40)] * 15)]) for n in range(3)]
    path.write_bytes(init + b"".join(fragments) + fragments[0][:30])  # and a torn tail
    index.commit_written(store, [(seg_id, len(init), len(fragments[0]), START, 0.96, 15, 1)], [], [], [])
    report = recover(store, START + 100)  # the first fragment was committed, the next two not
    assert (report.indexed, report.truncated, report.closed) == (2, 30, ["mic1"])
    times = index.fragment_times(store, seg_id)
    assert [round(start - START, 2) for _offset, _size, start, _duration in times] == [0.0, 0.96, 1.92]
    assert all(duration == 15 * 1024 / 16000 for *_, duration in times)
    assert index.get_recording(store, "mic1")[5] == START + 2.88  # ends where its footage ends
