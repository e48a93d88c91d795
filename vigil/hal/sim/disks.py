"""Simulated drive bays and RAID: drives fail, are pulled and replaced, and a replacement
resyncs into the array over time (the injectable clock's monotonic time, or `step()`).

The bays' state lives in a JSON file under the data folder (like real drives, it survives a
restart and a factory reset). Capacities are simulated; the footage of the volume lives in a
directory the storage service picks. Every number set from outside is checked to be finite and
plausible (a drive at Infinity degrees would end up in JSON no client reads); a state file that
holds such a number anyway (written before this check) reads it as "no reading".
"""

from __future__ import annotations

import json
import math
import secrets
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from vigil.core.atomic import atomic_write
from vigil.hal.disks import (
    Array,
    DiskError,
    Drive,
    array_state,
    level_problem,
    raid_capacity,
)

TB = 1_000_000_000_000
DEFAULT_RESYNC_SECONDS = 600.0  # a full member rebuild, simulated (a real one takes hours)
CELSIUS = (-60.0, 150.0)  # the temperatures a drive can report
MAX_CAPACITY = 1_000_000 * 1_000_000_000  # bytes: 1 PB per drive
MAX_SECONDS = 10 * 365 * 86400.0  # a resync time or a step of ten years at most


def _checked(value: float, low: float, high: float, what: str) -> float:
    """`value` when it is a finite number from `low` to `high`; DiskError saying so otherwise."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
        raise DiskError(f"{what} must be a number from {low:g} to {high:g}")
    return float(value)  # an int in range converts exactly enough; NaN and infinities fail the range


def _finite_or_none(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else None


def _serial() -> str:
    return "VS" + secrets.token_hex(5).upper()


class SimulatedDisks:
    def __init__(self, slots: int, capacity: int, raid_levels: Sequence[int], clock, state_file: Path | None = None,
                 default_level: int | None = None, resync_seconds: float = DEFAULT_RESYNC_SECONDS,
                 model: str = "Vigil SimDrive") -> None:
        self.slots = slots
        self.raid_levels = tuple(raid_levels)
        self.clock = clock
        self.state_file = state_file
        self.model = model
        self._lock = threading.RLock()
        self._watchers: list[Callable[[], None]] = []
        self._last = clock.monotonic()
        loaded = self._load()
        if loaded is None:
            self.resync_seconds = resync_seconds
            self._bays = [{"present": True, "failed": False, "serial": _serial(), "capacity": capacity,
                           "temperature": 34.0 + slot, "health": "passed", "hours": 1200 + 37 * slot}
                          for slot in range(slots)]
            level = default_level if default_level in self.raid_levels else (
                self.raid_levels[0] if self.raid_levels else None)
            if not self.raid_levels:
                level = None
            # Factory state: the array is built and synced.
            self._array: dict | None = None
            if slots:
                self._array = self._new_array(level, list(range(slots)) if level is not None else [0], synced=True)
            self._save()

    # -- persistence -------------------------------------------------------------------
    def _load(self) -> dict | None:
        if self.state_file is None or not self.state_file.exists():
            return None
        try:
            state = json.loads(self.state_file.read_text())
            bays = state["bays"]
        except (ValueError, KeyError, OSError):
            return None
        if len(bays) != self.slots:
            return None
        for bay in bays:
            bay["temperature"] = _finite_or_none(bay.get("temperature"))
        self._bays = bays
        self._array = state.get("array")
        if self._array is not None:
            self._array["rebuilding"] = {int(k): v for k, v in self._array.get("rebuilding", {}).items()}
        self.resync_seconds = _finite_or_none(state.get("resync_seconds")) or DEFAULT_RESYNC_SECONDS
        return state

    def _save(self) -> None:
        if self.state_file is None:
            return
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        state = {"bays": self._bays, "array": self._array, "resync_seconds": self.resync_seconds}
        atomic_write(self.state_file, json.dumps(state, indent=1).encode())

    def _new_array(self, level: int | None, members: list[int], synced: bool) -> dict:
        # A new array with redundancy starts with an initial sync (it is usable at once).
        resync = None if synced or level not in (1, 5, 6, 10) else 0.0
        return {"uuid": secrets.token_hex(8), "level": level, "members": members, "resync": resync,
                "serials": {str(s): self._bays[s]["serial"] for s in members}, "rebuilding": {}}

    # -- the device's side ---------------------------------------------------------------
    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.append(callback)

    def _status(self, slot: int) -> str:
        bay = self._bays[slot]
        if not bay["present"]:
            return "absent"
        if bay["failed"]:
            return "failed"
        array = self._array
        if array is None or slot not in array["members"] or array["serials"].get(str(slot)) != bay["serial"]:
            return "spare"  # a drive that is not (or no longer) a member of the array
        if slot in array["rebuilding"]:
            return "rebuilding"
        return "online"

    def drives(self) -> list[Drive]:
        with self._lock:
            out = []
            for slot, bay in enumerate(self._bays):
                status = self._status(slot)
                if status == "absent":
                    out.append(Drive(slot, "absent"))
                    continue
                out.append(Drive(slot, status, bay["serial"], self.model, bay["capacity"], bay["temperature"],
                                 bay["health"], bay["hours"]))
            return out

    def array(self) -> Array | None:
        with self._lock:
            a = self._array
            if a is None:
                return None
            statuses = [self._status(s) for s in a["members"]]
            state = array_state(a["level"], statuses)
            sizes = [self._bays[s]["capacity"] for s in a["members"]]
            progress, remaining = 100.0, 0.0
            work = list(a["rebuilding"].values()) + ([a["resync"]] if a.get("resync") is not None else [])
            if work and state != "failed":
                if state == "online":
                    state = "syncing"  # the initial sync of a new array
                done = min(work)
                progress = round(done * 100, 1)
                remaining = round((1 - done) * self.resync_seconds, 1)
            return Array(a["uuid"], a["level"], state, tuple(a["members"]), raid_capacity(a["level"], sizes),
                         progress, remaining)

    def create(self, level: int | None, slots: Sequence[int]) -> Array:
        with self._lock:
            slots = sorted(set(slots))
            if level is not None and level not in self.raid_levels:
                raise DiskError(f"RAID {level} is not supported on this device")
            usable = [s for s in slots if 0 <= s < self.slots and self._bays[s]["present"]
                      and not self._bays[s]["failed"]]
            if usable != slots:
                raise DiskError("Only working drives can be part of an array")
            problem = level_problem(level, len(slots)) if level is not None else (
                None if len(slots) == 1 else "A single-drive volume uses exactly one drive")
            if problem:
                raise DiskError(problem)
            self._array = self._new_array(level, slots, synced=False)
            self._last = self.clock.monotonic()
            self._save()
        self._notify()
        array = self.array()
        assert array is not None
        return array

    def health_test(self, slot: int) -> str:
        with self._lock:
            bay = self._bays[slot]
            if not bay["present"]:
                raise DiskError(f"There is no drive in bay {slot + 1}")
            return "failed" if bay["failed"] else bay["health"]

    def poll(self) -> None:
        now = self.clock.monotonic()
        self._advance(max(0.0, now - self._last))
        self._last = now

    def step(self, seconds: float) -> None:
        """Advance a running resync by `seconds` without waiting for the clock."""
        self._advance(_checked(seconds, 0, MAX_SECONDS, "seconds"))

    def _advance(self, seconds: float) -> None:
        changed = False
        with self._lock:
            a = self._array
            if a is None or not (a["rebuilding"] or a.get("resync") is not None) or seconds <= 0:
                return
            if self.array().state == "failed":  # type: ignore[union-attr]
                return
            if a.get("resync") is not None:
                a["resync"] += seconds / self.resync_seconds
                if a["resync"] >= 1.0:
                    a["resync"] = None
                    changed = True
            for slot in list(a["rebuilding"]):
                if self._bays[slot]["failed"] or not self._bays[slot]["present"]:
                    continue
                done = a["rebuilding"][slot] + seconds / self.resync_seconds
                if done >= 1.0:
                    del a["rebuilding"][slot]
                    changed = True
                else:
                    a["rebuilding"][slot] = done
            self._save()
        if changed:
            self._notify()

    def _notify(self) -> None:
        for watcher in list(self._watchers):
            watcher()

    # -- the outside world's side ----------------------------------------------------------
    def _bay(self, slot: int) -> dict:
        if not 0 <= slot < self.slots:
            raise DiskError(f"There is no bay {slot}; bays are 0 to {self.slots - 1}")
        return self._bays[slot]

    def fail(self, slot: int) -> None:
        """The drive in `slot` breaks (it stays in its bay, its LED turns red)."""
        with self._lock:
            bay = self._bay(slot)
            if not bay["present"]:
                raise DiskError(f"There is no drive in bay {slot}")
            bay["failed"] = True
            bay["health"] = "failed"
            if self._array is not None:
                self._array["rebuilding"].pop(slot, None)
            self._save()
        self._notify()

    def remove(self, slot: int) -> None:
        """The drive is pulled out of its bay."""
        with self._lock:
            bay = self._bay(slot)
            bay["present"] = False
            if self._array is not None:
                self._array["rebuilding"].pop(slot, None)
            self._save()
        self._notify()

    def insert(self, slot: int, capacity: int | None = None, serial: str | None = None) -> None:
        """A new, working drive goes into `slot` (replacing whatever was there). A member bay of an
        array that still has its data starts to resync; otherwise the drive is a spare."""
        if capacity is not None:
            _checked(capacity, 1, MAX_CAPACITY, "capacity (bytes)")
        if serial is not None and (not isinstance(serial, str) or not serial.isprintable() or len(serial) > 64):
            raise DiskError("serial must be up to 64 printable characters")
        with self._lock:
            bay = self._bay(slot)
            old_capacity = bay["capacity"] or (self._bays[0]["capacity"] if self._bays else TB)
            self._bays[slot] = {"present": True, "failed": False, "serial": serial or _serial(),
                                "capacity": int(capacity or old_capacity), "temperature": 33.0 + slot,
                                "health": "passed", "hours": 0}
            a = self._array
            if a is not None and slot in a["members"]:
                if a["level"] is None:  # the single drive: a new, empty volume
                    self._array = self._new_array(None, [slot], synced=True)
                elif a["serials"].get(str(slot)) == self._bays[slot]["serial"]:
                    pass  # the member drive put back in its bay
                else:
                    statuses = [self._status(s) for s in a["members"]]
                    if array_state(a["level"], statuses) != "failed" and a["level"] != 0:
                        # The array still has its data: the new drive is rebuilt from the others.
                        a["serials"][str(slot)] = self._bays[slot]["serial"]
                        a["rebuilding"][slot] = 0.0
                        self._last = self.clock.monotonic()
                    # Otherwise the drive stays a spare: the data is gone, build a new array.
            self._save()
        self._notify()

    def set_temperature(self, slot: int, celsius: float) -> None:
        celsius = _checked(celsius, *CELSIUS, "celsius")
        with self._lock:
            bay = self._bay(slot)
            bay["temperature"] = celsius
            self._save()
        self._notify()

    def set_health(self, slot: int, health: str) -> None:
        if health not in ("passed", "failed"):
            raise DiskError("health is passed or failed")
        with self._lock:
            self._bay(slot)["health"] = health
            self._save()
        self._notify()

    def set_capacity(self, capacity: int) -> None:
        """Give every drive `capacity` bytes (tests: a small volume fills up quickly)."""
        _checked(capacity, 1, MAX_CAPACITY, "capacity (bytes)")
        with self._lock:
            for bay in self._bays:
                bay["capacity"] = int(capacity)
            self._save()
        self._notify()

    def set_resync_seconds(self, seconds: float) -> None:
        seconds = _checked(seconds, 0, MAX_SECONDS, "the resync time (seconds)")
        if seconds <= 0:
            raise DiskError("the resync time must be positive")
        with self._lock:
            self.resync_seconds = seconds
            self._save()

    def state(self) -> dict:
        """What the simulation API shows."""
        array = self.array()
        return {
            "resyncSeconds": self.resync_seconds,
            "bays": [{"slot": d.slot, "status": d.status, "serial": d.serial, "capacity": d.capacity,
                      "temperature": d.temperature, "health": d.health} for d in self.drives()],
            "array": None if array is None else {
                "level": array.level, "state": array.state, "members": list(array.members),
                "capacity": array.capacity, "syncProgress": array.sync_progress,
                "syncRemaining": array.sync_remaining},
        }
