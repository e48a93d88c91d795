"""A simulated USB port: tests and the simulation API insert and pull drives.

Each simulated drive is a folder under `root` named after its label, kept when the drive is
pulled (its files stay "on the drive" and are there again when it is inserted again). While it
is in the port the folder is the drive's mount point. The capacity is the simulation's: the
free space is the capacity less the size of the files on it (at most the real free space), and
`fill` takes some of it. A drive can be write-protected (the switch on the stick).
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable
from pathlib import Path

from vigil.hal.usb import UsbDrive, UsbError

LABEL = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SimulatedUsb:
    absent = ""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._drive: UsbDrive | None = None
        self._watchers: list[Callable[[UsbDrive | None], None]] = []
        self._inserted = 0  # drives inserted so far: each insertion is a new id

    # -- the device's side -------------------------------------------------------------------
    def drive(self) -> UsbDrive | None:
        return self._drive

    def eject(self) -> None:
        drive = self._drive
        if drive is None:
            raise UsbError("there is no USB drive")
        if drive.mount is not None:
            self._drive = UsbDrive(drive.id, drive.label, drive.capacity, "ejected", None)

    def refresh(self) -> None:
        """(The simulation tells of changes as they happen.)"""

    def watch(self, callback: Callable[[UsbDrive | None], None]) -> None:
        self._watchers.append(callback)

    def free(self, drive: UsbDrive) -> int:
        """Free bytes on the simulated drive."""
        folder = self.root / drive.label
        used = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
        return max(0, min(drive.capacity - used, shutil.disk_usage(folder).free))

    # -- the outside world's side -------------------------------------------------------------
    def insert(self, label: str, capacity: int, read_only: bool = False) -> UsbDrive:
        if self._drive is not None:
            raise UsbError("a USB drive is in the port already: remove it first")
        if not LABEL.match(label):
            raise UsbError("the label must be 1 to 32 letters, digits, '-' or '_'")
        if capacity <= 0:
            raise UsbError("the capacity must be a positive number of bytes")
        folder = self.root / label
        folder.mkdir(parents=True, exist_ok=True)
        self._inserted += 1
        self._drive = UsbDrive(f"sim-{self._inserted}", label, capacity, "read-only" if read_only else "mounted",
                               folder)
        self._tell(self._drive)
        return self._drive

    def remove(self) -> None:
        """Pull the drive out, ejected or not."""
        if self._drive is None:
            raise UsbError("there is no USB drive to remove")
        self._drive = None
        self._tell(None)

    def _tell(self, drive: UsbDrive | None) -> None:
        for watcher in list(self._watchers):
            watcher(drive)
