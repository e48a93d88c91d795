"""The Linux USB port against a real block device: a loop device over an ext4 image stands for the
drive (VIGIL_USB_DEVICES names it, as removable USB disks are found by /sys/block). Inserted:
mounted read-write in the device's mount point; ejected: unmounted, still in the port; detached
(pulled out): gone, watchers told; a write-protected device: mounted read-only. Needs root,
losetup and mkfs.ext4 (skipped otherwise, saying which)."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.hal.linux.usb import LinuxUsb
from vigil.hal.usb import UsbDrive


def _why_not() -> str:
    if os.geteuid() != 0:
        return "needs root to attach a loop device and mount it"
    missing = [t for t in ("losetup", "mkfs.ext4", "mount", "umount") if shutil.which(t) is None]
    if missing:
        return f"needs {', '.join(missing)}"
    if not Path("/dev/loop-control").exists():
        return "no /dev/loop-control: this machine cannot make loop devices"
    return ""


pytestmark = pytest.mark.skipif(bool(_why_not()), reason=_why_not() or "runs")


class Loop:
    """An ext4 image, attached as a loop device while the test wants the drive in the port."""

    def __init__(self, image: Path) -> None:
        self.image = image
        self.device = ""

    def attach(self, read_only: bool = False) -> str:
        done = subprocess.run(["losetup", "-f", "--show", *(["-r"] if read_only else []), str(self.image)],
                              capture_output=True, text=True)
        if done.returncode != 0:
            pytest.skip(f"losetup cannot attach a loop device here: {done.stderr.strip()}")
        self.device = done.stdout.strip()
        return Path(self.device).name

    def detach(self) -> None:
        if self.device:
            subprocess.run(["losetup", "-d", self.device], capture_output=True)
            self.device = ""


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[Loop]:
    image = tmp_path / "stick.img"
    with image.open("wb") as f:
        f.truncate(32 << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", "-L", "VIGILSTICK", str(image)], check=True, capture_output=True)
    drive = Loop(image)
    try:
        yield drive
    finally:
        for mount in (tmp_path / "media").glob("*"):
            subprocess.run(["umount", "-l", str(mount)], capture_output=True)
        drive.detach()


def test_a_drive_is_mounted_ejected_and_pulled_out(loop: Loop, tmp_path: Path) -> None:
    name = loop.attach()
    usb = LinuxUsb(tmp_path / "media", [name])
    assert usb.absent == ""
    seen: list[UsbDrive | None] = []
    usb.watch(seen.append)
    usb.refresh()
    drive = usb.drive()
    assert drive is not None and drive.state == "mounted" and drive.mount == tmp_path / "media" / name
    assert drive.capacity == 32 << 20 and seen == [drive]
    assert drive.label in ("VIGILSTICK", name)  # (blkid names it where installed)
    (drive.mount / "export.mp4").write_bytes(b"footage")
    assert usb.free(drive) > 0
    usb.eject()
    ejected = usb.drive()
    assert ejected is not None and ejected.state == "ejected" and ejected.mount is None
    assert not os.path.ismount(drive.mount)
    usb.refresh()  # still in the port: not mounted again behind the user's back
    assert usb.drive() == ejected
    loop.detach()
    usb.refresh()
    assert usb.drive() is None and seen == [drive, None]
    # What was written is on the drive: attached again, it is there.
    name = loop.attach()
    usb = LinuxUsb(tmp_path / "media", [name])
    usb.refresh()
    again = usb.drive()
    assert again is not None and again.mount is not None
    assert (again.mount / "export.mp4").read_bytes() == b"footage"
    usb.eject()


def test_a_write_protected_drive_is_mounted_read_only(loop: Loop, tmp_path: Path) -> None:
    name = loop.attach(read_only=True)
    usb = LinuxUsb(tmp_path / "media", [name])
    usb.refresh()
    drive = usb.drive()
    assert drive is not None and drive.state == "read-only" and not drive.writable
    assert drive.mount is not None and os.statvfs(drive.mount).f_flag & os.ST_RDONLY
    usb.eject()


def test_a_drive_pulled_out_without_eject_is_let_go_of(loop: Loop, tmp_path: Path) -> None:
    name = loop.attach()
    usb = LinuxUsb(tmp_path / "media", [name])
    usb.refresh()
    drive = usb.drive()
    assert drive is not None and drive.mount is not None
    subprocess.run(["umount", "-l", str(drive.mount)], check=True)  # the kernel lets go of a pulled-out disk's files
    loop.detach()
    usb.refresh()
    assert usb.drive() is None and not os.path.ismount(drive.mount)
