"""Unpacking an uploaded tar archive (plain or gzip) without trusting it: only regular files and
folders, each under the target folder, within a file count and a total size.

Refused, with `ArchiveError` and nothing left behind: absolute names, `..`, names with NUL or
backslashes, symbolic and hard links, device files and FIFOs, a name given twice, a truncated or
corrupt archive, more than `max_files` entries or `max_bytes` unpacked. Unpacked files get mode
0644 (0755 when the archive marks them executable); owners and times are not taken over.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import zlib
from pathlib import Path, PurePosixPath

MAX_FILES = 20_000
MAX_BYTES = 512 * 1024 * 1024
_CHUNK = 1024 * 1024


class ArchiveError(ValueError):
    """The archive is unsafe or unreadable; the message says why, for the user."""


def check_name(name: str) -> PurePosixPath:
    """The member name as a relative path that stays inside the target; ArchiveError otherwise."""
    if not name or "\x00" in name or "\\" in name:
        raise ArchiveError(f"the archive has an unusable file name {name[:80]!r}")
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise ArchiveError(f"the archive names a file outside its folder: {name[:80]!r}")
    parts = [p for p in path.parts if p != "."]
    if not parts:
        raise ArchiveError(f"the archive has an unusable file name {name[:80]!r}")
    return PurePosixPath(*parts)


def extract(archive: Path | bytes, target: Path, max_files: int = MAX_FILES, max_bytes: int = MAX_BYTES) -> list[str]:
    """Unpack `archive` (a file, or an upload held in memory) into the new folder `target`; the
    relative names of the files unpacked.

    `target` must not exist: on any refusal it is removed again, so nothing half-unpacked stays.
    """
    target = Path(target)
    target.mkdir(parents=True)
    try:
        return _extract(archive if isinstance(archive, bytes) else Path(archive), target, max_files, max_bytes)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise


def _extract(archive: Path | bytes, target: Path, max_files: int, max_bytes: int) -> list[str]:
    seen: set[PurePosixPath] = set()
    files: list[str] = []
    total = 0
    try:
        source = {"fileobj": io.BytesIO(archive)} if isinstance(archive, bytes) else {"name": archive}
        with tarfile.open(mode="r:*", **source) as tar:
            for count, member in enumerate(tar, start=1):
                if count > max_files:
                    raise ArchiveError(f"the archive holds more than {max_files} entries")
                name = check_name(member.name)
                if name in seen:
                    raise ArchiveError(f"the archive names {str(name)[:80]!r} twice")
                seen.add(name)
                if member.issym() or member.islnk():
                    raise ArchiveError(f"the archive holds a link ({str(name)[:80]!r}); links are not allowed")
                if member.isdir():
                    (target / name).mkdir(parents=True, exist_ok=True)
                    continue
                if not member.isreg():
                    raise ArchiveError(f"the archive holds a special file ({str(name)[:80]!r}); "
                                       "only regular files and folders are allowed")
                total += member.size
                if total > max_bytes:
                    raise ArchiveError(f"the archive unpacks to more than {max_bytes // (1024 * 1024)} MiB")
                _write(tar, member, target / name, target)
                files.append(str(name))
    except (tarfile.TarError, EOFError, OSError, zlib.error) as err:
        raise ArchiveError(f"the archive is damaged or truncated ({err})") from None
    return files


def _write(tar: tarfile.TarFile, member: tarfile.TarInfo, path: Path, target: Path) -> None:
    parent = path.parent
    parent.mkdir(parents=True, exist_ok=True)
    # A folder of the path may be a file unpacked earlier; resolve() catches any way out of target.
    if not parent.resolve().is_relative_to(target.resolve()):
        raise ArchiveError(f"the archive names a file outside its folder: {member.name[:80]!r}")
    source = tar.extractfile(member)
    if source is None:
        raise ArchiveError(f"the archive's file {member.name[:80]!r} cannot be read")
    mode = 0o755 if member.mode & 0o100 else 0o644
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    with os.fdopen(fd, "wb") as out:
        written = 0
        while chunk := source.read(_CHUNK):
            out.write(chunk)
            written += len(chunk)
    if written != member.size:
        raise ArchiveError(f"the archive is truncated in {member.name[:80]!r}")
