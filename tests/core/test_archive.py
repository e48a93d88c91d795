"""Unpacking untrusted tar archives (vigil.core.archive): what is refused, and that a refusal
leaves nothing behind."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from vigil.core.archive import ArchiveError, extract


def tar_with(path: Path, *members: tuple[tarfile.TarInfo, bytes | None], mode: str = "w:gz") -> Path:
    with tarfile.open(path, mode) as tar:
        for info, data in members:
            if data is not None:
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return path


def entry(name: str, kind: bytes = tarfile.REGTYPE, mode: int = 0o644, **extra) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.mode = kind, mode
    for key, value in extra.items():
        setattr(info, key, value)
    return info


def test_a_good_archive_unpacks_with_safe_modes(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "a.tgz", (entry("dir", tarfile.DIRTYPE, 0o777), None),
                       (entry("dir/run.sh", mode=0o4777), b"#!/bin/sh\n"), (entry("./top.txt"), b"hello"))
    names = extract(archive, tmp_path / "out")
    assert sorted(names) == ["dir/run.sh", "top.txt"]
    assert (tmp_path / "out" / "top.txt").read_bytes() == b"hello"
    assert (tmp_path / "out" / "dir" / "run.sh").stat().st_mode & 0o7777 == 0o755  # no setuid, no world write
    assert (tmp_path / "out" / "top.txt").stat().st_mode & 0o7777 == 0o644


@pytest.mark.parametrize(("member", "why"), [
    ((entry("../escape.txt"), b"x"), "outside"),
    ((entry("/etc/passwd-copy"), b"x"), "outside"),
    ((entry("a/../../escape"), b"x"), "outside"),
    ((entry("link", tarfile.SYMTYPE, linkname="/etc/passwd"), None), "link"),
    ((entry("hard", tarfile.LNKTYPE, linkname="top.txt"), None), "link"),
    ((entry("dev", tarfile.CHRTYPE, devmajor=1, devminor=3), None), "special file"),
    ((entry("blk", tarfile.BLKTYPE, devmajor=8, devminor=0), None), "special file"),
    ((entry("fifo", tarfile.FIFOTYPE), None), "special file"),
    ((entry("bad\\name"), b"x"), "unusable"),
])
def test_unsafe_members_are_refused_and_nothing_stays(tmp_path: Path, member, why: str) -> None:
    archive = tar_with(tmp_path / "a.tgz", (entry("top.txt"), b"ok"), member)
    with pytest.raises(ArchiveError, match=why):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "escape.txt").exists()


def test_a_file_under_an_earlier_symlinked_folder_cannot_escape(tmp_path: Path) -> None:
    archive = tar_with(tmp_path / "a.tar", (entry("d", tarfile.SYMTYPE, linkname=str(tmp_path)), None),
                       (entry("d/escape.txt"), b"x"), mode="w")
    with pytest.raises(ArchiveError):
        extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.txt").exists()


def test_a_name_twice_too_many_files_and_too_many_bytes_are_refused(tmp_path: Path) -> None:
    twice = tar_with(tmp_path / "twice.tgz", (entry("a"), b"1"), (entry("./a"), b"2"))
    with pytest.raises(ArchiveError, match="twice"):
        extract(twice, tmp_path / "out1")
    many = tar_with(tmp_path / "many.tgz", *((entry(f"f{i}"), b"x") for i in range(5)))
    with pytest.raises(ArchiveError, match="more than 4 entries"):
        extract(many, tmp_path / "out2", max_files=4)
    big = tar_with(tmp_path / "big.tgz", (entry("big"), b"x" * 3 * 1024 * 1024))
    with pytest.raises(ArchiveError, match="more than 2 MiB"):
        extract(big, tmp_path / "out3", max_bytes=2 * 1024 * 1024)
    assert not any((tmp_path / f"out{i}").exists() for i in (1, 2, 3))


def test_truncated_and_garbage_archives_are_refused(tmp_path: Path) -> None:
    good = tar_with(tmp_path / "good.tgz", (entry("big.bin"), bytes(range(256)) * 4096))
    cut = tmp_path / "cut.tgz"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ArchiveError, match="damaged or truncated"):
        extract(cut, tmp_path / "out1")
    garbage = tmp_path / "garbage.tgz"
    garbage.write_bytes(b"not an archive at all" * 100)
    with pytest.raises(ArchiveError, match="damaged or truncated"):
        extract(garbage, tmp_path / "out2")
    assert not (tmp_path / "out1").exists() and not (tmp_path / "out2").exists()


def test_an_upload_held_in_memory_unpacks_and_is_refused_alike(tmp_path: Path) -> None:
    good = tar_with(tmp_path / "good.tgz", (entry("html/index.html"), b"<p>"), (entry("run", mode=0o755), b"#!"))
    assert extract(good.read_bytes(), tmp_path / "out") == ["html/index.html", "run"]
    assert (tmp_path / "out" / "html" / "index.html").read_bytes() == b"<p>"
    bad = tar_with(tmp_path / "bad.tgz", (entry("ok"), b"1"), (entry("../escape.txt"), b"x"))
    with pytest.raises(ArchiveError, match="outside"):
        extract(bad.read_bytes(), tmp_path / "out2")
    assert not (tmp_path / "out2").exists() and not (tmp_path / "escape.txt").exists()
    with pytest.raises(ArchiveError, match="damaged or truncated"):
        extract(b"this is no archive", tmp_path / "out3")
