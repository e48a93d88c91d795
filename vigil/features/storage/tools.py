"""File-level work on one volume's footage: what it holds on disk, and erasing it (format,
RAID change). Blocking: run in a thread. The index side is vigil.footage.index; checking and
repairing a volume against it is vigil.footage.check.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from vigil.core.store import Store
from vigil.footage import index
from vigil.footage.check import Progress


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


def erase(store: Store, root: Path, aliases: Sequence[str], progress: Progress,
          keep: Sequence[str] = ()) -> tuple[int, int]:
    """Remove every recording of the volume from the index, then its files (but those at its
    top named in `keep`). Returns (recordings, files) removed."""
    recordings = index.erase_volume(store, aliases)
    progress(30, f"{recordings} recordings removed from the index")
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
    return recordings, files
