"""File-level work on one volume's footage: what it holds on disk, check and repair against
the footage index, and erasing it (format, RAID change). Blocking: run in a thread.

The index lives in the main store (recordings / segments / fragments); a volume's rows are
those whose `recordings.volume` is one of the volume's aliases ("default" is the onboard one).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.store import Store
from vigil.footage import atrest
from vigil.footage.writer import Checksum

Progress = Callable[[float, str], None]


def disk_usage(root: Path) -> tuple[int, int]:
    """(bytes, files) of everything under `root`: the bytes the volume really holds."""
    total = files = 0
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(Path(entry.path))
                elif entry.is_file(follow_symlinks=False):
                    total += entry.stat(follow_symlinks=False).st_size
                    files += 1
            except OSError:
                continue
    return total, files


def _in(aliases: Sequence[str]) -> str:
    return f"r.volume IN ({','.join('?' * len(aliases))})"


def indexed_bytes(store: Store, aliases: Sequence[str]) -> int:
    return store.query(f"SELECT COALESCE(SUM(s.bytes), 0) FROM segments s JOIN recordings r ON r.id = s.recording "
                       f"WHERE {_in(aliases)}", tuple(aliases))[0][0]


def recordings_on(store: Store, aliases: Sequence[str]) -> list[str]:
    return [r for (r,) in store.query(f"SELECT r.id FROM recordings r WHERE {_in(aliases)}", tuple(aliases))]


@dataclass
class CheckReport:
    segments: int = 0
    bytes: int = 0
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [f"checked {self.segments} segments ({self.bytes} bytes)"]
        if self.repairs:
            parts.append(f"{len(self.repairs)} repaired: " + "; ".join(self.repairs[:5]))
        if self.problems:
            parts.append(f"{len(self.problems)} problem(s): " + "; ".join(self.problems[:5]))
        if self.orphans:
            parts.append(f"{len(self.orphans)} unindexed file(s)")
        if not self.problems and not self.orphans:
            parts.append("no errors found")
        return ", ".join(parts)


def _drop_segment(store: Store, seg_id: int) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM fragments WHERE segment=?", (seg_id,))
        db.execute("DELETE FROM segments WHERE id=?", (seg_id,))


def _valid_prefix(path: Path, store: Store, seg_id: int) -> tuple[int, int]:
    """(bytes, fragments) of the leading fragments of a segment file that are whole moof boxes."""
    rows = store.query("SELECT offset, size FROM fragments WHERE segment=? ORDER BY offset", (seg_id,))
    size = path.stat().st_size
    good_end, good = 0, 0
    fd = atrest.open_footage(path)
    try:
        for offset, length in rows:
            if offset + length > size or atrest.pread(fd, 4, offset + 4) != b"moof":
                break
            good_end, good = offset + length, good + 1
    finally:
        atrest.close_footage(fd)
    return good_end, good


def check(store: Store, root: Path, aliases: Sequence[str], repair: bool, progress: Progress) -> CheckReport:
    """Compare the volume's files with its index and verify sealed segments' checksums.

    A check also repairs what loses nothing (index entries whose file is gone). A repair goes
    further and may lose footage: a segment that fails its checksum is cut back to its last
    whole fragment (or removed when none is left), unindexed files are deleted, recordings left
    without footage are removed.
    """
    report = CheckReport()
    rows = store.query("SELECT s.id, s.path, s.bytes, s.sealed, s.checksum, s.init_size FROM segments s "
                       f"JOIN recordings r ON r.id = s.recording WHERE {_in(aliases)} ORDER BY s.id", tuple(aliases))
    total = sum(r[2] for r in rows) or 1
    done = 0
    known: set[str] = set()
    for seg_id, path, size, sealed, checksum, _init_size in rows:
        file = Path(path)
        known.add(os.path.abspath(path))
        report.segments += 1
        done += size
        progress(90 * done / total, f"checking segment {report.segments} of {len(rows)}")
        if not file.exists():
            _drop_segment(store, seg_id)
            report.repairs.append(f"segment {seg_id}: file missing, index entry removed")
            continue
        actual = file.stat().st_size
        report.bytes += actual
        if not sealed:
            continue  # being written (or recovered at the next start)
        bad = ""
        if actual < size:
            bad = f"{file.name} is {actual} bytes, the index says {size}"
        elif checksum and Checksum.of_file(file) != checksum:
            bad = f"{file.name} does not match its checksum"
        if not bad:
            continue
        if not repair:
            report.problems.append(f"segment {seg_id}: {bad}")
            continue
        end, kept = _valid_prefix(file, store, seg_id)
        total_fragments = store.query("SELECT COUNT(*) FROM fragments WHERE segment=?", (seg_id,))[0][0]
        if kept == 0:
            file.unlink(missing_ok=True)
            _drop_segment(store, seg_id)
            report.repairs.append(f"segment {seg_id}: {bad}; nothing readable, removed")
            continue
        with open(file, "r+b") as f:
            f.truncate(end)
            os.fsync(f.fileno())
        digest = Checksum.of_file(file)
        with store.transaction() as db:
            db.execute("DELETE FROM fragments WHERE segment=? AND offset >= ?", (seg_id, end))
            db.execute("UPDATE segments SET bytes=?, checksum=?, stop=(SELECT MAX(start + duration) FROM fragments "
                       "WHERE segment=?) WHERE id=?", (end, digest, seg_id, seg_id))
        report.repairs.append(f"segment {seg_id}: {bad}; " + (
            f"cut back to {kept} whole fragments" if kept < total_fragments
            else f"all {kept} fragments are readable, checksum renewed"))
    if root.exists():
        for file in sorted(root.rglob("*")):
            if file.is_file() and not atrest.is_key_name(file.name) and os.path.abspath(file) not in known:
                if repair:
                    file.unlink(missing_ok=True)
                    report.repairs.append(f"unindexed file {file.name} removed")
                else:
                    report.orphans.append(str(file))
    if repair:
        with store.transaction() as db:
            gone = db.execute(f"DELETE FROM recordings WHERE stop IS NOT NULL AND {_in(aliases).replace('r.', '')} "
                              "AND id NOT IN (SELECT DISTINCT recording FROM segments)", tuple(aliases)).rowcount
        if gone:
            report.repairs.append(f"{gone} recordings without footage removed")
    progress(100, "done")
    return report


def erase(store: Store, root: Path, aliases: Sequence[str], progress: Progress,
          keep: Sequence[str] = ()) -> tuple[int, int]:
    """Remove every recording of the volume from the index, then its files (but those at its
    top named in `keep`). Returns (recordings, files) removed."""
    recordings = recordings_on(store, aliases)
    with store.transaction() as db:
        for n in range(0, len(recordings), 500):
            chunk = recordings[n:n + 500]
            marks = ",".join("?" * len(chunk))
            db.execute(f"DELETE FROM fragments WHERE segment IN (SELECT id FROM segments WHERE recording IN ({marks}))",
                       chunk)
            db.execute(f"DELETE FROM segments WHERE recording IN ({marks})", chunk)
            db.execute(f"DELETE FROM recordings WHERE id IN ({marks})", chunk)
    progress(30, f"{len(recordings)} recordings removed from the index")
    files = 0
    if root.exists():
        entries = [e for e in root.iterdir() if e.name not in keep]
        for n, entry in enumerate(entries, 1):
            if entry.is_dir() and not entry.is_symlink():
                files += sum(1 for _ in entry.rglob("*"))
                shutil.rmtree(entry, ignore_errors=True)
            else:
                files += 1
                entry.unlink(missing_ok=True)
            progress(30 + 70 * n / len(entries), f"erasing {n} of {len(entries)}")
    root.mkdir(parents=True, exist_ok=True)
    return len(recordings), files
