"""Unpacking untrusted archives: traversal, links, special files, size limits, cut-short data."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from vigil.core.archives import ArchiveError, Limits, extract


def tar(*members: tuple[tarfile.TarInfo, bytes | None], gz: bool = True) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz" if gz else "w") as t:
        for info, content in members:
            t.addfile(info, io.BytesIO(content) if content is not None else None)
    return out.getvalue()


def file(name: str, content: bytes = b"x", mode: int = 0o644) -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(content), mode
    return info, content


def special(name: str, kind: bytes, link: str = "") -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    return info, None


def test_regular_files_and_folders_come_out_with_only_the_executable_bit(tmp_path: Path) -> None:
    folder = tarfile.TarInfo("html")
    folder.type = tarfile.DIRTYPE
    data = tar((folder, None), file("html/index.html", b"<p>"), file("run", b"#!/bin/sh", 0o4777), gz=False)
    assert extract(data, tmp_path) == ["html/index.html", "run"]
    assert (tmp_path / "html/index.html").read_bytes() == b"<p>"
    assert (tmp_path / "run").stat().st_mode & 0o7777 == 0o755  # no setuid, not world-writable


@pytest.mark.parametrize("name", ["../evil", "a/../../evil", "/etc/evil", "a\\..\\evil"])
def test_names_that_leave_the_folder_are_refused(tmp_path: Path, name: str) -> None:
    target = tmp_path / "t"
    target.mkdir()
    with pytest.raises(ArchiveError, match="path leaves|absolute|backslash"):
        extract(tar(file(name)), target)
    assert not (tmp_path / "evil").exists() and not Path("/etc/evil").exists()


@pytest.mark.parametrize("kind,what", [(tarfile.SYMTYPE, "links"), (tarfile.LNKTYPE, "links"),
                                       (tarfile.CHRTYPE, "special"), (tarfile.BLKTYPE, "special"),
                                       (tarfile.FIFOTYPE, "special")])
def test_links_and_special_files_are_refused(tmp_path: Path, kind: bytes, what: str) -> None:
    with pytest.raises(ArchiveError, match=what):
        extract(tar(special("dev", kind, "/etc/passwd")), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_a_cut_short_archive_is_refused(tmp_path: Path) -> None:
    data = tar(file("big", bytes(range(256)) * 4000))
    with pytest.raises(ArchiveError, match="cut-short|damaged"):
        extract(data[: len(data) // 2], tmp_path)


def test_garbage_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="not a tar archive"):
        extract(b"this is no archive", tmp_path)


def test_limits_on_members_and_sizes(tmp_path: Path) -> None:
    with pytest.raises(ArchiveError, match="more than 2 members"):
        extract(tar(file("a"), file("b"), file("c")), tmp_path, Limits(max_members=2))
    with pytest.raises(ArchiveError, match="larger than 10 bytes"):
        extract(tar(file("a", b"x" * 11)), tmp_path, Limits(max_member=10))
    with pytest.raises(ArchiveError, match="more than 15 bytes unpacked"):
        extract(tar(file("a", b"x" * 10), file("b", b"x" * 10)), tmp_path / "t2", Limits(max_total=15))
