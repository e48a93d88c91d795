"""The USB port as exports see it: the drive in it (vigil/hal/usb.py), checked before an
export is written to it, its insertion and removal as an event and in the system log, and a
safe eject.

An export to the drive is written under a partial name (`.<file>.vigil-part`) and renamed when
complete, so a file with the export's name is always a whole export. A drive pulled out during
an export keeps the partial file; it is removed when the drive is inserted again, and nothing
else on the drive is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.features.recording.const import NO_USB_DRIVE, USB_DRIVE_TOPIC, USB_FULL, USB_READ_ONLY
from vigil.features.recording.errors import ApiError
from vigil.hal.usb import UsbDrive, UsbError, UsbHardware

log = logging.getLogger("vigil.usb")
PARTIAL_SUFFIX = ".vigil-part"
POLL_SECONDS = 1.0


def partial_name(filename: str) -> str:
    return f".{filename}{PARTIAL_SUFFIX}"


class UsbPort:
    def __init__(self, hardware: UsbHardware, events: EventBus, logs: Logs) -> None:
        self.hardware = hardware
        self.events = events
        self.logs = logs
        self._removal_watchers: list[Callable[[], None]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        hardware.watch(self._told)

    def when_removed(self, callback: Callable[[], None]) -> None:
        """`callback()` when the drive is pulled out (the export jobs stop what they write to it)."""
        self._removal_watchers.append(callback)

    def declare(self) -> None:
        self.events.declare(Topic(USB_DRIVE_TOPIC, "USB drive", True, (),
                                  (Item("Active", "xsd:boolean", "Inserted", state=True),
                                   Item("Label", "xsd:string", "Label"))))
        self._publish(self.hardware.drive())

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            await asyncio.to_thread(self.hardware.refresh)
            await asyncio.sleep(POLL_SECONDS)

    # -- what the page and the API read ----------------------------------------------------------
    def status(self) -> dict[str, Any]:
        drive = self.hardware.drive()
        if drive is None:
            return {"drive": None, "unavailable": self.hardware.absent}
        free = self.hardware.free(drive) if drive.mount is not None else 0
        return {"drive": {"label": drive.label, "state": drive.state, "capacity": drive.capacity, "free": free},
                "unavailable": self.hardware.absent}

    def target(self, size: int) -> tuple[UsbDrive, Path]:
        """The drive an export of `size` bytes can be written to, and its folder; else the
        export API's error saying why not."""
        if self.hardware.absent:
            raise ApiError(NO_USB_DRIVE, f"no USB drive can be used: {self.hardware.absent}")
        drive = self.hardware.drive()
        if drive is None:
            raise ApiError(NO_USB_DRIVE, "there is no USB drive in the USB port")
        if drive.mount is None:
            raise ApiError(NO_USB_DRIVE, f"the USB drive {drive.label} is ejected: pull it out and insert it again")
        if drive.state == "read-only":
            raise ApiError(USB_READ_ONLY, f"the USB drive {drive.label} is read-only (write-protected)")
        free = self.hardware.free(drive)
        if free < size:
            raise ApiError(USB_FULL, f"not enough space on the USB drive {drive.label}: the export needs "
                           f"{_mb(size)} MB, {_mb(free)} MB are free")
        return drive, drive.mount

    def present(self, drive: UsbDrive) -> bool:
        """Whether `drive` is still in the port, mounted."""
        current = self.hardware.drive()
        return current is not None and current.id == drive.id and current.mount is not None

    def eject(self) -> UsbDrive:
        drive = self.hardware.drive()
        if drive is None:
            raise UsbError("there is no USB drive in the USB port")
        self.hardware.eject()
        self.logs.system(f"USB drive {drive.label} ejected: it can be pulled out", "info")
        return drive

    # -- changes ---------------------------------------------------------------------------------
    def _told(self, drive: UsbDrive | None) -> None:
        """The hardware's news, on the event loop (a backend that polls tells from a worker thread)."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._changed, drive)
                return
        self._changed(drive)

    def _changed(self, drive: UsbDrive | None) -> None:
        self._publish(drive)
        if drive is None:
            self.logs.system("USB drive removed", "info")
            for callback in list(self._removal_watchers):
                callback()
            return
        self.logs.system(f"USB drive {drive.label} inserted ({_mb(drive.capacity)} MB"
                         + (", read-only)" if drive.state == "read-only" else ")"), "info")
        if drive.writable and drive.mount is not None:
            self._remove_partial_files(drive, drive.mount)

    def _remove_partial_files(self, drive: UsbDrive, folder: Path) -> None:
        for leftover in folder.glob(f".*{PARTIAL_SUFFIX}"):
            with contextlib.suppress(OSError):
                leftover.unlink()
                self.logs.system(f"removed the incomplete export {leftover.name} from the USB drive {drive.label} "
                                 "(the drive was pulled out while it was written)", "notice")

    def _publish(self, drive: UsbDrive | None) -> None:
        self.events.publish(USB_DRIVE_TOPIC, {}, {"Active": "1" if drive is not None else "0",
                                                  "Label": drive.label if drive is not None else ""})


def _mb(size: int) -> int:
    return -(-size // 1_000_000)
