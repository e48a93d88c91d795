"""The volumes' state, the volume half of the storage service: what each volume is (the
onboard one over the drives, the network share's spool), whether recording may go to it now
and why not, what it holds, and the `Volumes` port the recorder uses (vigil.footage.volumes):
where footage goes, what may be deleted, write failures the recorder reports, and holding a
volume for a tool while its writers release it.

A volume may be written when it is mounted, not write-protected, not held by a tool, and its
array holds data (or its share is reachable, or the local buffer still has room). When that
changes the writers are told (`VolumeWriter.volume_changed`, from the service's `refresh`).
A writer that cannot write (a full disk) says so through `write_failed`: the volume stays
writable, so that recording goes on as soon as space returns, but shows the problem and
counts as disrupted (the tnsaxis:Storage/Disruption event).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.core.params import ParamTree
from vigil.core.store import Store
from vigil.features.storage import tools
from vigil.features.storage.const import CLEANUP_LEVEL, CLEANUP_MAX_AGE, CLEANUP_POLICY, NETWORK
from vigil.features.storage.tool_jobs import StorageError
from vigil.footage import index
from vigil.footage.check import Scope
from vigil.footage.volumes import VolumeWriter
from vigil.hal.disks import FILESYSTEMS, DiskHardware

if TYPE_CHECKING:
    from vigil.features.storage import network
    from vigil.features.storage.encryption import Encryption
    from vigil.features.storage.shares import ShareState

@dataclass
class Volume:
    id: str
    kind: str  # local | network
    group: str  # its parameter group, e.g. Storage.S0
    directory: Path
    filesystem: str = "ext4"
    formatted_on: str = ""  # the array uuid (or share id) whose file system holds this volume's footage
    encrypted: bool = False  # it holds a key file: its footage is encrypted
    encryption_enabled: bool = False  # the next format encrypts it
    wrong_password: bool = False  # the last mount was given a password that is not the volume's
    mounted: bool = False  # for the share: meant to be mounted (it may be unreachable)
    paused: str = ""  # a tool holds the volume (repair, format ...): no recording meanwhile


class VolumeModel:
    """Mixed into `StorageService`, which provides the attributes declared here (and refreshes
    the published state in `refresh`)."""

    store: Store
    params: ParamTree
    hw: DiskHardware | None
    raid: bool
    data: Path
    volumes: dict[str, Volume]
    encryption: Encryption
    share: ShareState  # the bound network share's connection
    share_config: Callable[[], network.ShareConfig | None]
    backlog: Callable[[], int]  # bytes of NetworkShare footage not yet on the share
    refresh: Callable[[], None]
    _writers: list[VolumeWriter]
    _write_errors: dict[str, str]  # by disk id: what the writer reports
    _usage: dict[str, tuple[float, int]]  # by disk id: (monotonic time, bytes in its folder)

    def _p(self, vol: Volume, name: str) -> str:
        return self.params.get(f"{vol.group}.{name}")

    def locked(self, vol: Volume) -> bool:
        return self._p(vol, "Locked") == "yes"

    # -- the volume model ----------------------------------------------------------------
    def volume(self, disk_id: str) -> Volume:
        vol = self.volumes.get(self.resolve(disk_id))
        if vol is None:
            raise StorageError(f"There is no disk {disk_id!r}; the disks are {', '.join(self.volumes) or 'none'}", 50)
        return vol

    def onboard(self) -> Volume | None:
        return next((v for v in self.volumes.values() if v.kind == "local"), None)

    def status(self, vol: Volume) -> str:
        """The list.cgi status: OK | connected (present, not mounted) | disconnected | failed."""
        if vol.kind == "local":
            array = self.hw.array() if self.hw else None
            if array is None:
                return "disconnected"
            if array.state == "failed":
                return "failed"
            encryption = self.encryption.status(vol)
            if encryption is not None:
                return encryption
            if not vol.mounted or vol.formatted_on != array.uuid:
                return "connected"
            return "OK"
        if self.share_config() is None:
            return "disconnected"
        if not vol.mounted:
            return "connected"
        return "OK" if self.share.online else "disconnected"

    def problem(self, vol: Volume) -> str:
        """Why recording to `vol` does not work now ("" when it does): what keeps the recorder
        from it, or the writer's report that its footage cannot be written."""
        return self._obstacle(vol) or self._write_errors.get(vol.id, "")

    def _obstacle(self, vol: Volume) -> str:
        """Why recording cannot go to `vol` now ("" when it can)."""
        if vol.paused:
            return f"{vol.id} is busy ({vol.paused}); recording resumes when it is done"
        if self._p(vol, "Enabled") != "yes":
            return f"{vol.id} is disabled"
        if vol.kind == "local":
            array = self.hw.array() if self.hw else None
            if array is None:
                return f"{vol.id} has no drives"
            if array.state == "failed":
                return f"The RAID of {vol.id} has failed; the system is not recording" if self.raid else \
                    f"The drive of {vol.id} has failed"
            if vol.formatted_on != array.uuid:
                return f"{vol.id} is not formatted"
        elif self.share_config() is None:
            return "No network share is bound"
        if not vol.mounted:
            if vol.encrypted:
                return f"{vol.id} is encrypted and not mounted: mount it with its password"
            return f"{vol.id} is not mounted"
        if self.locked(vol):
            return f"{vol.id} is write-protected"
        if vol.kind == "network" and not self.share.online:
            limit = int(self._p(vol, "OfflineBufferMB")) * 1_000_000
            if self.backlog() >= limit:
                return (f"The network share is not reachable ({self.share.error or 'lost'}) and the local buffer "
                        f"of {limit // 1_000_000} MB is full")
        return ""

    def disrupted(self, vol: Volume) -> bool:
        return (self.status(vol) != "OK" or self.locked(vol) or bool(vol.paused) or self._p(vol, "Enabled") != "yes"
                or vol.id in self._write_errors)

    def failed(self, vol: Volume) -> bool:
        return vol.kind == "local" and self.status(vol) == "failed"

    def capabilities(self, vol: Volume) -> tuple[str, ...]:
        return FILESYSTEMS if vol.kind == "local" else ("cifs",)

    # -- the Volumes port (vigil.footage.volumes): what the recorder asks --------------------
    def resolve(self, volume: str) -> str:
        if volume == "default":
            onboard = self.onboard()
            return onboard.id if onboard else NETWORK
        return volume

    def ids(self) -> list[str]:
        return list(self.volumes)

    def aliases(self, volume: str) -> tuple[str, ...]:
        vol_id = self.resolve(volume)
        onboard = self.onboard()
        return (vol_id, "default") if onboard is not None and vol_id == onboard.id else (vol_id,)

    def directory(self, volume: str) -> Path:
        vol = self.volumes.get(self.resolve(volume))
        return vol.directory if vol is not None else self.data / "volumes" / "unknown"

    def writable(self, volume: str) -> bool:
        vol = self.volumes.get(self.resolve(volume))
        return vol is not None and not self._obstacle(vol)

    def why_not_writable(self, volume: str) -> str:
        vol = self.volumes.get(self.resolve(volume))
        return f"There is no volume {volume!r}" if vol is None else self._obstacle(vol)

    def deletable(self, volume: str) -> bool:
        vol = self.volumes.get(self.resolve(volume))
        return vol is not None and vol.mounted and not self.locked(vol) and not self.failed(vol)

    def capacity(self, vol: Volume) -> int:
        """Bytes the volume holds when full: the disk array's (0: no array) or the share's."""
        if vol.kind == "local":
            array = self.hw.array() if self.hw else None
            return array.capacity if array else 0
        return self.share.total

    def free_bytes(self, volume: str) -> int | None:
        vol = self.volumes.get(self.resolve(volume))
        if vol is None:
            return None
        vol.directory.mkdir(parents=True, exist_ok=True)
        host = shutil.disk_usage(vol.directory).free
        if vol.kind == "local":
            return min(self.capacity(vol) - index.used_bytes(self.store, self.aliases(vol.id)), host)
        return host if self.share.free is None else min(self.share.free, host)

    def max_age_days(self, volume: str) -> int:
        vol = self.volumes.get(self.resolve(volume))
        if vol is None or self._p(vol, CLEANUP_POLICY) != "fifo":
            return 0
        return int(self._p(vol, CLEANUP_MAX_AGE))

    def over_cleanup_level(self, volume: str) -> int:
        """Bytes to delete so that footage fills no more than the volume's cleanup level, a
        percentage of the room footage has (what it uses plus what is free: the array's capacity,
        or the filesystem's where that is smaller); 0 when the cleanup policy is not FIFO."""
        vol = self.volumes.get(self.resolve(volume))
        free = self.free_bytes(volume)
        if vol is None or free is None or self._p(vol, CLEANUP_POLICY) != "fifo":
            return 0
        room = index.used_bytes(self.store, self.aliases(vol.id)) + free
        if room <= 0:
            return 0
        keep_free = room * (100 - int(self._p(vol, CLEANUP_LEVEL))) // 100
        return max(0, keep_free - free)

    def attach(self, writer: VolumeWriter) -> None:
        self._writers.append(writer)

    def write_failed(self, volume: str, error: str) -> None:
        vol_id = self.resolve(volume)
        if error:
            self._write_errors[vol_id] = error
        else:
            self._write_errors.pop(vol_id, None)
        self.refresh()

    def scope(self, vol: Volume) -> Scope:
        """Where the footage checker looks for this volume's footage."""
        return Scope((vol.directory,), self.aliases(vol.id))

    # -- usage -----------------------------------------------------------------------------
    def used_on_disk(self, vol: Volume, fresh: bool = False) -> int:
        """Bytes the volume really holds: the files in its folder (the share's for NetworkShare)."""
        if vol.kind == "network":
            return sum(self.share.remote.values())
        now = time.monotonic()
        cached = self._usage.get(vol.id)
        if fresh or cached is None or now - cached[0] > 2.0:
            cached = (now, tools.disk_usage(vol.directory)[0])
            self._usage[vol.id] = cached
        return cached[1]

    def sizes(self, vol: Volume) -> tuple[int, int, int]:
        """(total, used, free) bytes as list.cgi reports them."""
        used, total = self.used_on_disk(vol), self.capacity(vol)
        if vol.kind == "local":
            vol.directory.mkdir(parents=True, exist_ok=True)
            free = max(0, min(total - used, shutil.disk_usage(vol.directory).free))
            return total, used, free
        return total, used, self.share.free or 0

    # -- tools -----------------------------------------------------------------------------
    @asynccontextmanager
    async def held(self, vol: Volume, what: str) -> AsyncIterator[None]:
        """Hold the volume for a tool: recording there stops and each writer seals its files
        (`VolumeWriter.release`); when the tool is done recording resumes."""
        vol.paused = what
        self.refresh()
        try:
            async with AsyncExitStack() as released:
                for writer in self._writers:
                    await released.enter_async_context(writer.release(vol.id))
                yield
        finally:
            vol.paused = ""
            self._usage.pop(vol.id, None)
            self.refresh()

    def refuse_if_write_protected(self, vol: Volume, what: str) -> None:
        if self.locked(vol):
            raise StorageError(f"{vol.id} is write-protected: turn off write protection to {what} it", 20)

    def require_present(self, vol: Volume) -> None:
        if vol.kind == "local":
            array = self.hw.array() if self.hw else None
            if array is None:
                raise StorageError(f"{vol.id} has no drives", 10)
            if array.state == "failed":
                raise StorageError(f"The RAID of {vol.id} has failed: replace the broken drives and create a new "
                                   "RAID (Change RAID level)", 10)
        elif self.share_config() is None:
            raise StorageError("No network share is bound", 10)
