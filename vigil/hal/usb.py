"""The USB port interface: the drive in the recorder's USB port (the manuals' "USB 3.0 port for
easy export"), mounted read-write in a mount point the device owns, and ejected safely.

A drive is `mounted` (exports may be written to `mount`), `ejected` (unmounted, safe to pull,
still in the port) or `read-only` (mounted, but nothing can be written: a write-protect switch
or a file system the kernel mounted read-only). A drive pulled out is simply gone: `drive()`
is None, and what was being written to it is lost with it.

Backends: `vigil.hal.sim.usb` (default: a folder per simulated drive, inserted and removed by
tests and the simulation API) and `vigil.hal.linux.usb` (a removable block device, mounted
with mount(8)).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vigil.core.registry import Key

DRIVE_STATES = ("mounted", "ejected", "read-only")


class UsbError(RuntimeError):
    """A drive operation that cannot be done; `str()` is the text the user sees."""


@dataclass(frozen=True)
class UsbDrive:
    id: str  # names this drive while it is in the port (its serial, or the block device)
    label: str  # the file system's label, or the model
    capacity: int  # bytes
    state: str  # one of DRIVE_STATES
    mount: Path | None  # where its file system is mounted (None: ejected)

    @property
    def writable(self) -> bool:
        return self.state == "mounted" and self.mount is not None


class UsbHardware(Protocol):
    absent: str  # why the device has no usable USB port; empty when it has one

    def drive(self) -> UsbDrive | None:
        """The drive in the port, or None."""

    def free(self, drive: UsbDrive) -> int:
        """Free bytes on the mounted drive."""

    def eject(self) -> None:
        """Write out what is cached and unmount the drive (UsbError if it cannot be)."""

    def refresh(self) -> None:
        """Look at the port again (a backend that is not told of changes polls here): a drive
        that came is mounted, one that went is let go of; watchers are told."""

    def watch(self, callback: Callable[[UsbDrive | None], None]) -> None:
        """`callback(drive)` when a drive is inserted (the drive) or removed (None)."""


USB_HARDWARE: Key[UsbHardware] = Key("usb")
