"""The footage checker: verify the index against the files, and repair what can be repaired.

One checker serves `vigil check` (a stopped device, every volume) and the Storage page's Check
and Repair (a running device, one volume). It verifies:
- the database: SQLite's `PRAGMA integrity_check`, and that its schema version is this program's;
- each segment in scope: its file exists; a sealed one has the indexed size and its recorded
  checksum; every indexed fragment lies inside the file and starts with a moof box (read
  through the key on an encrypted volume; a locked volume's files are checked by checksum only);
- the footage files in the volumes' folders that the index does not know.

`Options` say how far it goes, as Moonfire's check::Options do:
- `repair`: fix what may lose footage: a damaged segment is cut back to its last whole fragment
  (removed when none is left), unindexed footage files are deleted, ended recordings without
  footage are removed, and unsealed segments first go through the start-up recovery (on a
  running device only where the caller holds the volume, so that nothing writes there);
- `drop_missing`: remove index entries whose file is gone (this loses nothing; repair does it too);
- `running`: the device is running: unsealed segments are being written and left alone, and
  the volumes the storage service unlocked stay as they are;
- `password`: on a stopped device, the password of the encrypted volumes, so that their
  footage is read as well;
- `progress(percent, text)`: called as the check goes.
A `Scope` is where to look: the volumes' folders, and the `recordings.volume` aliases of their
index rows (None: all rows).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.store import SCHEMA_VERSION, Store
from vigil.footage import atrest, index
from vigil.footage.writer import Checksum, RecoveryReport, recover

Progress = Callable[[float, str], None]  # (percent done, what is being done)
MAX_DATABASE_PROBLEMS = 20


def no_progress(percent: float, text: str) -> None:
    """A `Progress` that shows nothing."""


@dataclass(frozen=True)
class Scope:
    roots: tuple[Path, ...]  # the volumes' folders
    aliases: tuple[str, ...] | None = None  # the `recordings.volume` values of their rows; None: all

    @classmethod
    def device(cls, data: Path) -> Scope:
        """Every volume of a device's data folder: the onboard one and the spools under volumes/."""
        volumes = data / "volumes"
        spools = sorted(p for p in volumes.iterdir() if p.is_dir()) if volumes.is_dir() else []
        return cls((data / "recordings", *spools))


@dataclass
class Options:
    repair: bool = False
    drop_missing: bool = False
    running: bool = False
    password: str | None = None
    progress: Progress = no_progress


@dataclass
class CheckReport:
    segments: int = 0
    fragments: int = 0
    bytes: int = 0  # of the segment files found
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)  # footage files the index does not know
    pending: list[str] = field(default_factory=list)  # footage not yet indexed or not readable now: not a fault

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        """The report line by line (`vigil check`)."""
        lines = [f"checked {self.segments} segments, {self.fragments} fragments"]
        lines += [f"repaired: {r}" for r in self.repairs]
        lines += [f"problem: {p}" for p in self.problems]
        lines += [f"unindexed file: {o}" for o in self.orphans]
        lines += [f"pending: {p}" for p in self.pending]
        lines.append("index and footage agree" if self.ok else f"{len(self.problems)} problem(s) remain")
        return "\n".join(lines)

    def summary(self) -> str:
        """The report in one line (a storage job's description)."""
        parts = [f"checked {self.segments} segments ({self.bytes} bytes)"]
        if self.repairs:
            parts.append(f"{len(self.repairs)} repaired: " + "; ".join(self.repairs[:5]))
        if self.problems:
            parts.append(f"{len(self.problems)} problem(s): " + "; ".join(self.problems[:5]))
        if self.orphans:
            parts.append(f"{len(self.orphans)} unindexed file(s)")
        if self.pending:
            parts.append(f"{len(self.pending)} pending: " + "; ".join(self.pending[:2]))
        if not self.problems and not self.orphans:
            parts.append("no errors found")
        return ", ".join(parts)


def check(store: Store, scope: Scope, options: Options) -> CheckReport:
    """Check (and with `options.repair`, repair) the footage in `scope` against the index."""
    report = CheckReport()
    _check_database(store, report)
    unlocked = [] if options.running else _unlock_volumes(scope, options.password, report)
    try:
        if options.repair:
            _recover(store, scope, options, report)
        _check_segments(store, scope, options, report)
    finally:
        for folder in unlocked:
            atrest.keyring.forget(folder)
    options.progress(100, "done")
    return report


def _check_database(store: Store, report: CheckReport) -> None:
    problems = store.integrity_problems()
    report.problems += [f"database: {p}" for p in problems[:MAX_DATABASE_PROBLEMS]]
    if store.schema_version != SCHEMA_VERSION:
        report.problems.append(f"database: schema version {store.schema_version}, this program knows "
                               f"version {SCHEMA_VERSION}")


def _unlock_volumes(scope: Scope, password: str | None, report: CheckReport) -> list[Path]:
    """A stopped device's encrypted volume folders, told to the keyring: unlocked with
    `password` when it is theirs, locked otherwise (their files' checksums can still be verified)."""
    folders = [folder for folder in scope.roots if atrest.is_encrypted(folder)]
    for folder in folders:
        key = None
        if password is not None:
            try:
                key = atrest.unlock(folder, password)
            except atrest.WrongPassword:
                report.problems.append(f"{folder}: wrong password for this encrypted volume")
        atrest.keyring.set(folder, key)
    return folders


def _recover(store: Store, scope: Scope, options: Options, report: CheckReport) -> None:
    if scope.aliases is None and not options.running:
        recovered = recover(store, time.time())
    else:  # only the unsealed segments in these folders: elsewhere they may be being written
        recovered = RecoveryReport()
        for root in scope.roots:
            part = recover(store, time.time(), root)
            recovered.indexed += part.indexed
            recovered.truncated += part.truncated
            recovered.missing += part.missing
            recovered.sealed += part.sealed
    if recovered.indexed or recovered.truncated or recovered.sealed:
        report.repairs.append(f"recovered {recovered.sealed} unsealed segments: {recovered.indexed} fragments "
                              f"indexed, {recovered.truncated} torn bytes truncated")
    if recovered.missing:
        report.repairs.append(f"removed {recovered.missing} unsealed segments whose file was gone")


def _footage_files(roots: Sequence[Path]) -> list[Path]:
    return [file for root in roots if root.exists() for file in sorted(root.rglob("*"))
            if atrest.is_footage_name(file.name) and file.is_file()]


def _check_segments(store: Store, scope: Scope, options: Options, report: CheckReport) -> None:
    # The files are listed before the index is read: one the writer creates meanwhile is indexed
    # by the time unindexed files are looked for.
    files = _footage_files(scope.roots)
    rows = index.segments_to_check(store, scope.aliases)
    total = sum(row[2] for row in rows) or 1
    done = 0
    for seg_id, path, size, checksum, sealed in rows:
        report.segments += 1
        done += size
        options.progress(90 * done / total, f"checking segment {report.segments} of {len(rows)}")
        _check_segment(store, seg_id, Path(path), size, checksum, bool(sealed), options, report)
    known = {os.path.realpath(p) for p in index.segment_paths(store, None)}
    options.progress(95, "looking for unindexed files")
    for file in files:
        if os.path.realpath(file) in known or not file.exists():
            continue
        if options.repair:
            file.unlink(missing_ok=True)
            report.repairs.append(f"unindexed file {file.name} removed")
        else:
            report.orphans.append(str(file))
    if options.repair:
        gone = index.drop_recordings_without_footage(store, scope.aliases)
        if gone:
            report.repairs.append(f"{gone} recordings without footage removed")


def _check_segment(store: Store, seg_id: int, file: Path, size: int, checksum: str | None, sealed: bool,
                   options: Options, report: CheckReport) -> None:
    if not sealed and options.running:
        return  # being written
    try:
        actual = file.stat().st_size
    except FileNotFoundError:
        _missing(store, seg_id, file, options, report)
        return
    report.bytes += actual
    faults = []
    if actual < size:
        faults.append(f"{file.name} is {actual} bytes, shorter than the indexed {size}")
    elif actual > size and sealed:
        faults.append(f"sealed {file.name} is {actual} bytes, the index says {size}")
    elif actual > size:
        report.pending.append(f"segment {seg_id}: {actual - size} bytes written after the last index commit "
                              "(recovered at start-up or by a repairing check)")
    if sealed and checksum and Checksum.of_file(file) != checksum:
        faults.append(f"{file.name} does not match its checksum")
    spans = index.fragment_spans(store, seg_id)
    if atrest.keyring.locked(file):  # the checksum covers the stored bytes; the structure needs the key
        report.pending.append(f"segment {seg_id}: on a locked encrypted volume, fragments not read")
    else:
        report.fragments += len(spans)
        end, whole = _whole_fragments(file, spans, actual)
        if whole < len(spans):
            offset, length = spans[whole]
            faults.append(f"fragment at {offset} runs past the end of the file" if offset + length > actual
                          else f"no fragment starts at offset {offset}")
    if not faults:
        return
    fault = "; ".join(faults)
    if not (options.repair and sealed) or atrest.keyring.locked(file):
        report.problems.append(f"segment {seg_id}: {fault}")
        return
    _cut_back(store, seg_id, file, fault, spans, report)


def _missing(store: Store, seg_id: int, file: Path, options: Options, report: CheckReport) -> None:
    if index.segment_file(store, seg_id) is None:
        return  # retention removed it since the index was read
    if options.repair or options.drop_missing:
        index.delete_segment(store, seg_id)
        report.repairs.append(f"segment {seg_id}: file missing, index entry removed ({file})")
    else:
        report.problems.append(f"segment {seg_id}: file missing ({file})")


def _whole_fragments(file: Path, spans: Sequence[tuple[int, int]], size: int) -> tuple[int, int]:
    """(bytes, count) of the leading indexed fragments that are whole moof boxes in the file."""
    good_end, good = 0, 0
    fd = atrest.open_footage(file)
    try:
        for offset, length in spans:
            if offset + length > size or atrest.pread(fd, 4, offset + 4) != b"moof":
                break
            good_end, good = offset + length, good + 1
    finally:
        atrest.close_footage(fd)
    return good_end, good


def _cut_back(store: Store, seg_id: int, file: Path, fault: str, spans: Sequence[tuple[int, int]],
              report: CheckReport) -> None:
    """Cut a damaged segment back to its last whole fragment (remove it when none is left)."""
    end, kept = _whole_fragments(file, spans, file.stat().st_size)
    if kept == 0:
        index.delete_segment(store, seg_id)
        report.repairs.append(f"segment {seg_id}: {fault}; nothing readable, removed")
        return
    with open(file, "r+b") as f:
        f.truncate(end)
        os.fsync(f.fileno())
    index.cut_segment(store, seg_id, end, Checksum.of_file(file))
    report.repairs.append(f"segment {seg_id}: {fault}; " + (
        f"cut back to {kept} whole fragments" if kept < len(spans)
        else f"all {kept} fragments are readable, checksum renewed"))
