"""The disk hardware interface: drive bays, the drives in them and the array built over them.

A recorder has one to four bays. The S3008 keeps its footage on one drive; the S3016 and
S4000 build one RAID array (level 0, 1, 5, 6 or 10) over their four drives. The storage
service sees the array as one volume and the drives through `drives()`.

Drive status: `online` (a working member), `rebuilding` (a replacement being synced into the
array), `failed` (present but broken), `absent` (empty bay), `spare` (present, working, not a
member: a drive inserted into a failed array, or one left out when the array was created).

Array state, as the manuals name it: `online`, `degraded` (working but without redundancy),
`syncing` (being built or rebuilt; recording is possible, redundancy is not yet there),
`failed` (data lost: the system does not record).

Backends: `vigil.hal.sim.disks` (default, driven by tests and the simulation API) and
`vigil.hal.linux.disks` (block devices, mdadm, smartctl).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from vigil.core.registry import Key

RAID_LEVELS = (0, 1, 5, 6, 10)
MIN_DRIVES = {0: 2, 1: 2, 5: 3, 6: 4, 10: 4}
FILESYSTEMS = ("ext4", "xfs")  # what an onboard volume can be formatted with
ARRAY_STATES = ("online", "degraded", "syncing", "failed")
DRIVE_STATES = ("online", "rebuilding", "failed", "absent", "spare")


class DiskError(RuntimeError):
    """A hardware operation that cannot be done; `str()` is the text the user sees."""


@dataclass(frozen=True)
class Drive:
    slot: int  # bay number, 0-based (the RAID API's componentId)
    status: str  # one of DRIVE_STATES
    serial: str = ""
    model: str = ""
    capacity: int = 0  # bytes
    temperature: float | None = None  # degrees Celsius
    health: str = "unknown"  # SMART overall health: passed | failed | unknown
    power_on_hours: int | None = None

    @property
    def present(self) -> bool:
        return self.status != "absent"


@dataclass(frozen=True)
class Array:
    """The logical device over the drives: a RAID array, or one plain drive (level None)."""

    uuid: str  # changes when the array is created anew (its data is then gone)
    level: int | None
    state: str  # one of ARRAY_STATES
    members: tuple[int, ...]  # slots, in array order
    capacity: int  # bytes
    sync_progress: float = 100.0  # percent, while syncing
    sync_remaining: float = 0.0  # seconds, while syncing
    device: str = ""  # /dev/md0 and the like (Linux)


class DiskHardware(Protocol):
    slots: int
    raid_levels: tuple[int, ...]

    def drives(self) -> list[Drive]: ...

    def array(self) -> Array | None:
        """The array, or None when there is none (no drives, or not created yet)."""
        ...

    def create(self, level: int | None, slots: Sequence[int]) -> Array:
        """Build a new array over `slots` (erases what the drives held)."""
        ...

    def health_test(self, slot: int) -> str:
        """Run the drive's overall health test: passed | failed | unknown."""
        ...

    def poll(self) -> None:
        """Advance time-based work (a resync) and report changes to the watchers."""
        ...

    def watch(self, callback: Callable[[], None]) -> None: ...


# -- RAID arithmetic ------------------------------------------------------------------
def level_problem(level: int | None, count: int) -> str | None:
    """Why `count` drives cannot hold RAID `level`, or None."""
    if level is None:
        return None if count >= 1 else "There is no drive to use"
    if level not in RAID_LEVELS:
        return f"RAID level {level} is not supported; the levels are {', '.join(map(str, RAID_LEVELS))}"
    need = MIN_DRIVES[level]
    if count < need:
        return f"RAID {level} needs at least {need} drives; {count} working drive{'s' if count != 1 else ''} available"
    if level == 10 and count % 2:
        return f"RAID 10 needs an even number of drives; {count} working drives available"
    return None


def raid_capacity(level: int | None, sizes: Sequence[int]) -> int:
    """Usable bytes of an array over drives of `sizes` (each member counts as the smallest)."""
    if not sizes:
        return 0
    n, smallest = len(sizes), min(sizes)
    if level is None:
        return sizes[0]
    return {0: n * smallest, 1: smallest, 5: (n - 1) * smallest, 6: (n - 2) * smallest,
            10: (n // 2) * smallest}[level]


def fault_tolerance(level: int | None, count: int) -> int:
    """How many members may be lost in the worst case without losing data."""
    if level is None or level == 0:
        return 0
    return {1: count - 1, 5: 1, 6: 2, 10: 1}[level]


def data_lost(level: int | None, usable: Sequence[bool]) -> bool:
    """Whether an array whose members are `usable` (in array order) has lost its data.

    RAID 10 mirrors adjacent members (mdadm's near-2 layout): it survives one loss per pair.
    """
    lost = usable.count(False)
    if level is None or level == 0:
        return lost > 0
    if level == 1:
        return lost == len(usable)
    if level == 5:
        return lost > 1
    if level == 6:
        return lost > 2
    return any(not usable[i] and not usable[i + 1] for i in range(0, len(usable) - 1, 2))


def array_state(level: int | None, statuses: Sequence[str]) -> str:
    """The array state from its members' statuses (in array order)."""
    usable = [s == "online" for s in statuses]
    if data_lost(level, usable):
        return "failed"
    if all(usable):
        return "online"
    if any(s in ("failed", "absent", "spare") for s in statuses):
        return "degraded"
    return "syncing"


# -- LEDs -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Led:
    color: str  # green | amber | red | off
    blink: bool
    meaning: str


def drive_leds(drives: Sequence[Drive], array: Array | None, raid: bool, writing: bool = False,
               disrupted: bool = False) -> dict[int, Led]:
    """The hard drive status LEDs as the manuals' LED tables describe them.

    RAID recorders (S3016, S4000): green online; blinks green alternately while syncing; amber
    when this drive is online but another is broken; red for a broken drive; all red when the
    RAID has failed; off for an empty bay. The single-drive S3008: green (flashing while data
    is written), red on a recording disruption.
    """
    out: dict[int, Led] = {}
    state = array.state if array else None
    for drive in drives:
        if not drive.present:
            out[drive.slot] = Led("off", False, "No hard drive.")
        elif not raid:
            if drive.status == "failed" or disrupted:
                out[drive.slot] = Led("red", False, "A recording disruption has occurred. Go to System > Storage "
                                                    "for more information.")
            else:
                out[drive.slot] = Led("green", writing, "Data is written to the hard drive." if writing
                                      else "The drive is online.")
        elif state == "failed":
            out[drive.slot] = Led("red", False, "The RAID has failed. System is not recording.")
        elif drive.status == "failed":
            out[drive.slot] = Led("red", False, "The drive is broken.")
        elif state == "syncing" or drive.status == "rebuilding":
            out[drive.slot] = Led("green", True, "The RAID is syncing. Recording is possible but redundancy is "
                                                 "not yet achieved.")
        elif state == "degraded" and drive.status == "online":
            out[drive.slot] = Led("amber", False, "This drive is online, but another drive is broken. The RAID is "
                                                  "missing redundancy.")
        elif drive.status == "spare":
            out[drive.slot] = Led("green", False, "The drive is online but not part of the RAID.")
        else:
            out[drive.slot] = Led("green", False, "The drive is online.")
    return out


DISK_HARDWARE: Key[DiskHardware] = Key("disks")
