"""The USB port of a real Linux machine: a removable block device, mounted with mount(8)
read-write (no device files, no set-uid, nothing executed from it) in a mount point the device
owns, unmounted with umount(8) on eject.

Which block devices count: those named in VIGIL_USB_DEVICES (comma separated, e.g. `sdb` or
`loop7`: what tests and fixed installations use), else every disk whose
`/sys/block/<name>/removable` is 1 or that udev puts on the USB bus (`ID_BUS=usb` in
/run/udev/data). A device with media (size > 0) is a drive; its first partition is mounted when
it has partitions, else the whole device. A device whose `ro` flag is set (a write-protect
switch), or that the kernel mounts read-only, is `read-only`.

The port is polled (`refresh`, once a second from the service): a drive that appears is mounted,
one that disappears (pulled out; a loop device detached) is unmounted lazily (`umount -l`, its
mount point is useless by then) and reported gone.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from vigil.hal.usb import UsbDrive, UsbError

log = logging.getLogger("vigil.usb")
SYS_BLOCK = Path("/sys/block")
UDEV_DATA = Path("/run/udev/data")
MOUNT_OPTIONS = "nosuid,nodev,noexec"


def _read(path: Path, default: str = "") -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return default


def _on_usb_bus(name: str) -> bool:
    devnum = _read(SYS_BLOCK / name / "dev")
    return bool(devnum) and "E:ID_BUS=usb" in _read(UDEV_DATA / f"b{devnum}").splitlines()


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


class LinuxUsb:
    def __init__(self, mount_root: Path, devices: list[str] | None = None) -> None:
        self.mount_root = mount_root
        self.devices = devices  # None: any removable or USB disk
        missing = [tool for tool in ("mount", "umount") if shutil.which(tool) is None]
        self.absent = f"{' and '.join(missing)} not found: USB drives cannot be mounted" if missing else ""
        if not self.absent and os.geteuid() != 0:
            self.absent = "mounting USB drives needs root"
        if self.absent:
            log.warning("USB: %s", self.absent)
        self._drive: UsbDrive | None = None
        self._block = ""  # the block device of the drive in the port
        self._ejected = ""  # a block device ejected and not yet pulled out
        self._watchers: list[Callable[[UsbDrive | None], None]] = []

    def drive(self) -> UsbDrive | None:
        return self._drive

    def free(self, drive: UsbDrive) -> int:
        if drive.mount is None:
            return 0
        return shutil.disk_usage(drive.mount).free

    def watch(self, callback: Callable[[UsbDrive | None], None]) -> None:
        self._watchers.append(callback)

    # -- finding the drive ------------------------------------------------------------------
    def _candidates(self) -> list[str]:
        if self.devices is not None:
            names = self.devices
        else:
            names = sorted(p.name for p in SYS_BLOCK.iterdir()
                           if _read(p / "removable") == "1" or _on_usb_bus(p.name))
        return [n for n in names if int(_read(SYS_BLOCK / n / "size", "0") or 0) > 0]

    def _partition(self, name: str) -> str:
        parts = sorted(p.name for p in (SYS_BLOCK / name).iterdir() if p.name.startswith(name) and (p / "partition").exists())
        return parts[0] if parts else name

    def refresh(self) -> None:
        if self.absent:
            return
        present = self._candidates()
        if self._block and self._block not in present:  # pulled out
            gone = self._drive
            self._drive, self._block = None, ""
            if gone is not None and gone.mount is not None:
                _run("umount", "-l", str(gone.mount))
            log.info("USB drive %s removed", gone.label if gone else "")
            self._tell(None)
        if self._ejected and self._ejected not in present:
            self._ejected = ""
        if self._block or not present:
            return
        name = next((n for n in present if n != self._ejected), None)
        if name is None:
            return
        try:
            drive = self._mount(name)
        except UsbError as err:
            log.warning("USB drive %s: %s", name, err)
            self._ejected = name  # not again until it is pulled out and back
            return
        self._drive, self._block = drive, name
        self._tell(drive)

    def _mount(self, name: str) -> UsbDrive:
        source = self._partition(name)
        device = f"/dev/{source}"
        mount = self.mount_root / source
        mount.mkdir(parents=True, exist_ok=True)
        read_only = _read(SYS_BLOCK / name / "ro") == "1"
        done = _run("mount", "-o", ("ro," if read_only else "rw,") + MOUNT_OPTIONS, device, str(mount))
        if done.returncode != 0 and not read_only:  # a file system the kernel will only read
            retry = _run("mount", "-o", "ro," + MOUNT_OPTIONS, device, str(mount))
            read_only = retry.returncode == 0
            if read_only:
                done = retry
        if done.returncode != 0:
            raise UsbError(f"cannot mount {device}: {(done.stderr or done.stdout).strip()}")
        if os.statvfs(mount).f_flag & os.ST_RDONLY:
            read_only = True
        label = _blkid_label(device) or name
        capacity = int(_read(SYS_BLOCK / name / "size", "0") or 0) * 512
        serial = _read(SYS_BLOCK / name / "device" / "serial") or name
        log.info("USB drive %s (%s) mounted %s at %s", label, device, "read-only" if read_only else "read-write",
                 mount)
        return UsbDrive(serial, label, capacity, "read-only" if read_only else "mounted", mount)

    # -- eject ----------------------------------------------------------------------------
    def eject(self) -> None:
        drive = self._drive
        if drive is None:
            raise UsbError("there is no USB drive")
        if drive.mount is None:
            return
        os.sync()
        done = _run("umount", str(drive.mount))
        if done.returncode != 0:
            raise UsbError(f"the drive cannot be ejected: {(done.stderr or done.stdout).strip()}")
        self._drive = UsbDrive(drive.id, drive.label, drive.capacity, "ejected", None)

    def _tell(self, drive: UsbDrive | None) -> None:
        for watcher in list(self._watchers):
            watcher(drive)


def _blkid_label(device: str) -> str:
    if shutil.which("blkid") is None:
        return ""
    return _run("blkid", "-o", "value", "-s", "LABEL", device).stdout.strip()
