"""Crash traces of the device process, kept in the data folder (`crash/`) for the debug archive:
the Python traceback of an exception that ended the program, and the thread stacks
faulthandler writes on a fatal signal (SIGSEGV, SIGABRT ...). The newest `KEEP` are kept."""

from __future__ import annotations

import contextlib
import faulthandler
import os
import time
import traceback
from collections.abc import Iterator
from pathlib import Path

FOLDER = "crash"
KEEP = 5
MAX_READ = 256 * 1024


@contextlib.contextmanager
def recorded(data: Path) -> Iterator[None]:
    """Record a crash of the code run inside into `data`/crash."""
    folder = Path(data) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    for empty in folder.glob("fatal_*.txt"):  # left by processes that ended without a fatal error
        if empty.stat().st_size == 0:
            empty.unlink(missing_ok=True)
    _prune(folder)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    fatal = folder / f"fatal_{stamp}_{os.getpid()}.txt"
    with fatal.open("w") as sink:
        faulthandler.enable(sink)
        try:
            yield
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException:
            (folder / f"crash_{stamp}_{os.getpid()}.txt").write_text(traceback.format_exc())
            raise
        finally:
            faulthandler.disable()
    if fatal.stat().st_size == 0:
        fatal.unlink()
    _prune(folder)


def note(data: Path, text: str) -> None:
    """Keep `text` as a crash trace (the launcher's word on a device process that died)."""
    folder = Path(data) / FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d_%H%M%S", time.gmtime())
    (folder / f"launcher_{stamp}_{os.getpid()}.txt").write_text(text + "\n")
    _prune(folder)


def _prune(folder: Path) -> None:
    files = sorted(folder.glob("*.txt"), key=lambda p: p.stat().st_mtime)
    for old in files[:-KEEP]:
        old.unlink(missing_ok=True)


def recent(data: Path) -> dict[str, str]:
    """The crash traces kept, by file name (each at most MAX_READ bytes, the end kept)."""
    folder = Path(data) / FOLDER
    out = {}
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else ():
        if path.stat().st_size == 0:
            continue  # the running process's own fault log, empty while it lives
        with path.open("rb") as f:
            f.seek(max(0, path.stat().st_size - MAX_READ))
            out[path.name] = f.read().decode(errors="replace")
    return out
