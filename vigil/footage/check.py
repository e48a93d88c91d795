"""`vigil check`: verify the footage index against the files, repair what can be repaired.

For every segment: the file exists, its size matches the index, a sealed segment's checksum
matches, every indexed fragment lies inside the file and starts with a moof box. Unsealed
segments (an unclean stop) go through the same recovery as start-up; index entries whose
footage is gone are removed; footage files the index does not know are reported.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.store import Store
from vigil.footage import atrest
from vigil.footage.writer import Checksum, recover


@dataclass
class CheckReport:
    segments: int = 0
    fragments: int = 0
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)
    pending: list[str] = field(default_factory=list)  # footage not yet indexed: recoverable, not a fault

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        lines = [f"checked {self.segments} segments, {self.fragments} fragments"]
        lines += [f"repaired: {r}" for r in self.repairs]
        lines += [f"problem: {p}" for p in self.problems]
        lines += [f"unindexed file: {o}" for o in self.orphans]
        lines += [f"pending: {p}" for p in self.pending]
        lines.append("index and footage agree" if self.ok else f"{len(self.problems)} problem(s) remain")
        return "\n".join(lines)


def _drop_segment(store: Store, seg_id: int) -> None:
    with store.transaction() as db:
        db.execute("DELETE FROM fragments WHERE segment=?", (seg_id,))
        db.execute("DELETE FROM segments WHERE id=?", (seg_id,))


def _unlock_volumes(data: Path, password: str | None, report: CheckReport) -> list[Path]:
    """Encrypted volume folders under `data`, known to the keyring: unlocked with `password`
    when it is theirs, locked otherwise (their files' checksums can still be verified)."""
    volumes = data / "volumes"
    candidates = [data / "recordings", *(volumes.iterdir() if volumes.is_dir() else ())]
    folders = [folder for folder in candidates if atrest.is_encrypted(folder)]
    for folder in folders:
        key = None
        if password is not None:
            try:
                key = atrest.unlock(folder, password)
            except atrest.WrongPassword:
                report.problems.append(f"{folder}: wrong password for this encrypted volume")
        atrest.keyring.set(folder, key)
    return folders


def check(store: Store, data: Path, repair: bool = True, password: str | None = None) -> CheckReport:
    report = CheckReport()
    encrypted = _unlock_volumes(data, password, report)
    try:
        _check(store, data, repair, report)
    finally:
        for folder in encrypted:
            atrest.keyring.forget(folder)
    return report


def _check(store: Store, data: Path, repair: bool, report: CheckReport) -> None:
    if repair:
        recovered = recover(store, time.time())
        if recovered.indexed or recovered.truncated or recovered.sealed:
            report.repairs.append(f"recovered {recovered.sealed} unsealed segments: {recovered.indexed} fragments "
                                  f"indexed, {recovered.truncated} torn bytes truncated")
        if recovered.missing:
            report.repairs.append(f"removed {recovered.missing} unsealed segments whose file was gone")
    known: set[str] = set()
    for seg_id, path, size, checksum, sealed in store.query(
            "SELECT id, path, bytes, checksum, sealed FROM segments"):
        report.segments += 1
        known.add(str(Path(path).resolve()))
        file = Path(path)
        if not file.exists():
            if repair:
                _drop_segment(store, seg_id)
                report.repairs.append(f"segment {seg_id}: file {path} missing, index entries removed")
            else:
                report.problems.append(f"segment {seg_id}: file {path} missing")
            continue
        actual = file.stat().st_size
        if actual < size:
            report.problems.append(f"segment {seg_id}: {path} is {actual} bytes, shorter than the indexed {size}")
        elif actual > size and sealed:
            report.problems.append(f"segment {seg_id}: sealed {path} is {actual} bytes, index says {size}")
        elif actual > size:
            report.pending.append(f"segment {seg_id}: {actual - size} bytes written after the last index commit "
                                  "(recovered at start-up or by a repairing check)")
        if sealed and checksum and Checksum.of_file(file) != checksum:
            report.problems.append(f"segment {seg_id}: {path} does not match its recorded checksum")
        if atrest.keyring.locked(file):  # the checksum covers the stored bytes; the structure needs the key
            report.pending.append(f"segment {seg_id}: on a locked encrypted volume, fragments not read")
            continue
        fd = atrest.open_footage(file)
        try:
            for offset, length in store.query("SELECT offset, size FROM fragments WHERE segment=? ORDER BY offset",
                                              (seg_id,)):
                report.fragments += 1
                if offset + length > actual:
                    report.problems.append(f"segment {seg_id}: fragment at {offset} runs past the end of the file")
                    continue
                if atrest.pread(fd, 4, offset + 4) != b"moof":
                    report.problems.append(f"segment {seg_id}: no fragment starts at offset {offset}")
        finally:
            atrest.close_footage(fd)
    root = data / "recordings"
    if root.exists():
        for file in sorted(root.rglob("*")):
            if atrest.is_footage_name(file.name) and str(file.resolve()) not in known:
                report.orphans.append(str(file))
    if repair:
        with store.transaction() as db:
            gone = db.execute("DELETE FROM recordings WHERE stop IS NOT NULL AND id NOT IN "
                              "(SELECT DISTINCT recording FROM segments)").rowcount
        if gone:
            report.repairs.append(f"removed {gone} recordings left without footage")
