"""Unpacking an uploaded tar archive (plain or gzip) without trusting it.

An archive from outside may hold names that climb out of the target folder (`../x`, `/etc/x`),
links (a symlink or hard link pointing anywhere), device files, FIFOs, more members or bytes
than any real package, or be cut short. `extract` refuses all of these with an `ArchiveError`
that says which member and why, and writes nothing outside the folder it is given; a refused
archive leaves that folder to the caller to throw away (extract into a fresh staging folder).
Only regular files and folders come out, with their executable bit and nothing else of their
mode (no setuid, no world-writable files), owned by whoever extracts.
"""

from __future__ import annotations

import io
import posixpath
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path


class ArchiveError(ValueError):
    """The archive cannot be unpacked safely; the message names the member and the reason."""


@dataclass(frozen=True)
class Limits:
    max_members: int = 2000
    max_total: int = 256 * 1024 * 1024  # bytes unpacked, all members together
    max_member: int = 128 * 1024 * 1024
    max_name: int = 255


def member_path(name: str, limits: Limits = Limits()) -> str:
    """The member's path relative to the archive root, normalised; refused if it could leave it."""
    if len(name) > limits.max_name:
        raise ArchiveError(f"member name longer than {limits.max_name} characters: {name[:60]!r}...")
    if "\x00" in name or "\\" in name:
        raise ArchiveError(f"member {name[:60]!r}: the name holds a NUL or a backslash")
    if name.startswith("/"):
        raise ArchiveError(f"member {name[:60]!r}: absolute path")
    clean = posixpath.normpath(name)
    if clean == ".." or clean.startswith("../") or "/../" in f"/{clean}/":
        raise ArchiveError(f"member {name[:60]!r}: the path leaves the archive's folder")
    return "" if clean == "." else clean


def extract(data: bytes, target: Path, limits: Limits = Limits()) -> list[str]:
    """Unpack the tar archive `data` (gzip or not) into the existing folder `target`; the
    regular files' relative paths, in archive order."""
    files: list[str] = []
    total = 0
    count = 0
    root = target.resolve()
    try:
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            for member in archive:  # reading on: a cut-short archive fails here, not silently
                count += 1
                if count > limits.max_members:
                    raise ArchiveError(f"more than {limits.max_members} members")
                path = member_path(member.name, limits)
                if member.issym() or member.islnk():
                    raise ArchiveError(f"member {member.name[:60]!r}: links are not allowed")
                if not (member.isfile() or member.isdir()):
                    raise ArchiveError(f"member {member.name[:60]!r}: only regular files and folders are allowed "
                                       "(a device file, FIFO or other special file)")
                if not path:
                    continue
                dest = root / path
                if member.isdir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                if member.size > limits.max_member:
                    raise ArchiveError(f"member {member.name[:60]!r}: larger than {limits.max_member} bytes")
                total += member.size
                if total > limits.max_total:
                    raise ArchiveError(f"more than {limits.max_total} bytes unpacked")
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.parent.resolve() != dest.parent or not dest.parent.resolve().is_relative_to(root):
                    raise ArchiveError(f"member {member.name[:60]!r}: the path leaves the archive's folder")
                source = archive.extractfile(member)
                if source is None:
                    raise ArchiveError(f"member {member.name[:60]!r}: cannot be read")
                content = source.read()
                if len(content) != member.size:
                    raise ArchiveError(f"member {member.name[:60]!r}: the archive is cut short")
                if dest.exists() and not dest.is_file():
                    raise ArchiveError(f"member {member.name[:60]!r}: a folder of that name exists")
                dest.write_bytes(content)
                dest.chmod(0o755 if member.mode & 0o111 else 0o644)
                files.append(path)
    except (tarfile.TarError, EOFError, zlib.error) as err:
        raise ArchiveError(f"not a tar archive, or a damaged or cut-short one: {err}") from None
    except OSError as err:
        raise ArchiveError(f"the archive cannot be unpacked: {err}") from None
    return files
