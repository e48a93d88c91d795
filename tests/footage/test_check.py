"""The one footage checker (vigil/footage/check.py) with its options, as `vigil check` and the
Storage page's Check and Repair use it: the database itself, files against the index, what a
repair fixes, what a running device's check leaves alone, and the scope of one volume."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.footage.conftest import INIT, START, fragment, record
from vigil.core.store import SCHEMA_VERSION, Store
from vigil.footage import index
from vigil.footage.check import Options, Scope, check
from vigil.footage.writer import Checksum


def data_of(store: Store) -> Path:
    return store.path.parent


def test_sound_footage_checks_clean_and_progress_reaches_100(store: Store) -> None:
    files = record(store, data_of(store) / "recordings", segments=2, per_segment=3)
    steps: list[float] = []
    report = check(store, Scope.device(data_of(store)), Options(progress=lambda p, t: steps.append(p)))
    assert (report.segments, report.fragments, report.bytes) == (2, 6, sum(f.stat().st_size for f in files))
    assert report.ok and not report.orphans and not report.repairs and not report.pending
    assert report.text().endswith("index and footage agree")
    assert report.summary().endswith("no errors found")
    assert steps == sorted(steps) and steps[-1] == 100


def test_a_missing_file_is_a_problem_unless_entries_may_be_dropped(store: Store) -> None:
    files = record(store, data_of(store) / "recordings", segments=2)
    files[0].unlink()
    report = check(store, Scope.device(data_of(store)), Options())
    assert not report.ok and "file missing" in report.problems[0]
    assert len(index.segments_on(store, ("default",))) == 2  # only reported
    report = check(store, Scope.device(data_of(store)), Options(drop_missing=True, running=True))
    assert report.ok and "file missing, index entry removed" in report.repairs[0]
    assert len(index.segments_on(store, ("default",))) == 1


def test_repair_cuts_a_damaged_segment_back_to_its_whole_fragments(store: Store) -> None:
    files = record(store, data_of(store) / "recordings", segments=2, per_segment=3)
    damaged = files[1]
    data = bytearray(damaged.read_bytes())
    last = len(data) - len(fragment())
    data[last + 4:last + 8] = b"xxxx"  # the last fragment's header is torn
    damaged.write_bytes(bytes(data))
    report = check(store, Scope.device(data_of(store)), Options())
    assert report.problems == [f"segment 2: {damaged.name} does not match its checksum; no fragment starts at "
                               f"offset {last}"]
    report = check(store, Scope.device(data_of(store)), Options(repair=True))
    assert report.ok and "cut back to 2 whole fragments" in report.repairs[0], report.text()
    (size, checksum), = store.query("SELECT bytes, checksum FROM segments WHERE id=2")
    assert damaged.stat().st_size == size == last and Checksum.of_file(damaged) == checksum
    assert check(store, Scope.device(data_of(store)), Options()).text().endswith("index and footage agree")


def test_unsealed_segments_are_left_alone_while_the_device_runs(store: Store) -> None:
    """An unsealed segment: two fragments indexed, then bytes written after the last commit
    (being written on a running device; torn by an unclean stop on a stopped one)."""
    folder = data_of(store) / "recordings"
    index.start_recording(store, "rec1", "c1", "default", "continuous", START, "", 0, 0, "h264")
    path = folder / "c1" / "segment.mp4"
    path.parent.mkdir(parents=True)
    seg = index.add_segment(store, "rec1", path, START, len(INIT))
    pieces = [fragment(), fragment()]
    path.write_bytes(INIT + b"".join(pieces) + fragment(500)[:300])
    rows = [(seg, len(INIT) + n * len(pieces[0]), len(pieces[0]), START + n, 1.0, 15, 1) for n in range(2)]
    index.commit_written(store, rows, [(START + 2, len(INIT) + 2 * len(pieces[0]), seg)], [], [])

    running = check(store, Scope((folder,), ("default",)), Options(drop_missing=True, running=True))
    assert running.ok and not running.pending and running.fragments == 0  # being written: not read
    offline = check(store, Scope.device(data_of(store)), Options())
    assert offline.ok and offline.fragments == 2
    assert "300 bytes written after the last index commit" in offline.pending[0]
    repaired = check(store, Scope.device(data_of(store)), Options(repair=True))
    assert "recovered 1 unsealed segments: 0 fragments indexed, 300 torn bytes truncated" in repaired.repairs[0]
    assert repaired.ok and path.stat().st_size == len(INIT) + 2 * len(pieces[0])
    assert store.query("SELECT sealed, checksum FROM segments") == [(1, Checksum.of_file(path))]
    assert index.get_recording(store, "rec1")[5] == START + 2  # closed where its footage ends


def test_unindexed_footage_is_reported_and_removed_by_a_repair(store: Store) -> None:
    record(store, data_of(store) / "recordings")
    stray = data_of(store) / "recordings" / "c1" / "stray.mp4"
    stray.write_bytes(b"junk")
    other = data_of(store) / "recordings" / "notes.txt"  # not footage: none of the checker's business
    other.write_text("keep")
    report = check(store, Scope.device(data_of(store)), Options())
    assert report.ok and report.orphans == [str(stray)] and "1 unindexed file(s)" in report.summary()
    report = check(store, Scope.device(data_of(store)), Options(repair=True))
    assert report.repairs == ["unindexed file stray.mp4 removed"] and not stray.exists() and other.exists()


def test_one_volume_is_checked_and_repaired_alone(store: Store) -> None:
    onboard = data_of(store) / "recordings"
    spool = data_of(store) / "volumes" / "NetworkShare"
    record(store, onboard, "a", volume="default")
    shared = record(store, spool, "b", source="c2", volume="NetworkShare")
    shared[0].unlink()
    with store.transaction() as db:  # an ended recording left without footage, on each volume
        db.execute(index.INSERT_RECORDING, ("empty1", "c1", "RAID_DISK", "manual", START, "", 0, 0, "h264"))
        db.execute(index.INSERT_RECORDING, ("empty2", "c2", "NetworkShare", "manual", START, "", 0, 0, "h264"))
        db.execute(index.STOP_RECORDING, (START + 1, "empty1"))
        db.execute(index.STOP_RECORDING, (START + 1, "empty2"))
    report = check(store, Scope((onboard,), ("RAID_DISK", "default")), Options(repair=True, running=True))
    assert report.ok and report.segments == 2 and report.repairs == ["1 recordings without footage removed"]
    assert index.recording_exists(store, "empty2") and not index.recording_exists(store, "empty1")
    report = check(store, Scope.device(data_of(store)), Options())
    assert not report.ok and "file missing" in report.problems[0]  # the whole device: the share's too


def test_the_database_itself_is_checked(store: Store) -> None:
    record(store, data_of(store) / "recordings")
    store.db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")  # written by a newer Vigil
    report = check(store, Scope.device(data_of(store)), Options())
    assert report.problems == [f"database: schema version {SCHEMA_VERSION + 1}, this program knows version "
                               f"{SCHEMA_VERSION}"]
    store.db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
    (root,), = store.query("SELECT rootpage FROM sqlite_master WHERE name='fragments_start'")
    page = store.db.execute("PRAGMA page_size").fetchone()[0]
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    with open(store.path, "r+b") as f:  # a damaged page of an index of the footage tables
        f.seek((root - 1) * page + 8)
        f.write(b"\xee" * 64)
    report = check(store, Scope.device(data_of(store)), Options())
    assert report.problems and all(p.startswith("database: ") for p in report.problems), report.problems


def test_vigil_check_runs_the_same_checker(store: Store) -> None:
    files = record(store, data_of(store) / "recordings", segments=2)
    data = bytearray(files[0].read_bytes())
    data[-1] ^= 0xFF
    files[0].write_bytes(bytes(data))
    store.close()

    def vigil_check(*extra: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "vigil", "check", "--data", str(files[0].parents[2]), *extra],
                              capture_output=True, text=True, timeout=60)

    before = vigil_check("--no-repair")
    assert before.returncode == 1 and f"problem: segment 1: {files[0].name} does not match its checksum" in before.stdout
    after = vigil_check()
    assert after.returncode == 0, after.stdout
    assert "repaired: segment 1: " in after.stdout and "all 3 fragments are readable, checksum renewed" in after.stdout
    assert vigil_check("--no-repair").stdout.endswith("index and footage agree\n")
