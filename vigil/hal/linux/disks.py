"""Disks on a real Linux machine: block devices from /sys/block, the md RAID array from
`mdadm --detail` and /proc/mdstat, drive health from `smartctl`.

The bays are the block devices named in `bays` (e.g. /dev/sdb ... /dev/sde); without them the
drives are listed read-only (every whole disk the kernel shows) and no array can be created,
so that Vigil never builds a RAID over a disk nobody gave it. The parsers are plain functions
over the tools' text output and are tested with captured fixtures.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vigil.hal.disks import Array, DiskError, Drive, array_state, level_problem

Runner = Callable[[list[str]], tuple[int, str, str]]
SMART_SECONDS = 60.0  # smartctl is asked about a drive at most this often
DETAIL_SECONDS = 1.0  # mdadm --detail at most this often
SKIP = re.compile(r"^(loop|ram|zram|md|dm-|sr|fd|nbd)")


def run_command(args: list[str]) -> tuple[int, str, str]:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=60)
    except FileNotFoundError:
        return 127, "", f"{args[0]}: not installed"
    except subprocess.TimeoutExpired:
        return 124, "", f"{args[0]}: timed out"
    return done.returncode, done.stdout, done.stderr


# -- /sys/block ------------------------------------------------------------------------
@dataclass(frozen=True)
class BlockDevice:
    name: str  # sdb
    size: int  # bytes
    model: str = ""
    serial: str = ""
    rotational: bool = False


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def block_devices(sys_block: Path = Path("/sys/block")) -> list[BlockDevice]:
    """Whole disks the kernel shows (no loop, RAM, md or optical devices)."""
    out = []
    if not sys_block.is_dir():
        return out
    for entry in sorted(sys_block.iterdir()):
        if SKIP.match(entry.name):
            continue
        sectors = _read(entry / "size")
        size = int(sectors) * 512 if sectors.isdigit() else 0
        serial = _read(entry / "serial") or _read(entry / "device" / "serial") or _read(entry / "device" / "wwid")
        out.append(BlockDevice(entry.name, size, _read(entry / "device" / "model"), serial,
                               _read(entry / "queue" / "rotational") == "1"))
    return out


# -- mdadm --detail ----------------------------------------------------------------------
@dataclass
class MdMember:
    number: str  # "0", or "-" for a removed slot
    raid_device: int | None  # position in the array, None for faulty/spare outside it
    state: str  # "active sync", "spare rebuilding", "faulty", "removed", "spare"
    device: str  # /dev/sdb, or "" when removed


@dataclass
class MdDetail:
    device: str = ""
    level: int | None = None
    array_size: int = 0  # bytes
    raid_devices: int = 0
    state: str = ""  # "clean, degraded, recovering"
    rebuild_percent: float | None = None
    uuid: str = ""
    members: list[MdMember] = field(default_factory=list)


_LEVEL = re.compile(r"raid(\d+)")


def parse_mdadm_detail(text: str) -> MdDetail:
    detail = MdDetail()
    lines = text.splitlines()
    if lines and lines[0].rstrip().endswith(":") and lines[0].startswith("/dev/"):
        detail.device = lines[0].rstrip()[:-1]
    in_table = False
    for line in lines:
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("Number") and "RaidDevice" in stripped:
            in_table = True
            continue
        if in_table:
            parts = stripped.split()
            if len(parts) < 5:
                continue
            number, raid_device = parts[0], parts[3]
            rest = parts[4:]
            device = rest[-1] if rest[-1].startswith("/dev/") else ""
            state = " ".join(rest[:-1] if device else rest)
            detail.members.append(MdMember(number, int(raid_device) if raid_device.isdigit() else None, state, device))
            continue
        key, sep, value = stripped.partition(" : ")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Raid Level":
            match = _LEVEL.fullmatch(value)
            detail.level = int(match.group(1)) if match else None
        elif key == "Array Size":
            detail.array_size = int(value.split()[0]) * 1024  # 1 KiB blocks
        elif key == "Raid Devices":
            detail.raid_devices = int(value)
        elif key == "State":
            detail.state = value
        elif key in ("Rebuild Status", "Resync Status", "Reshape Status"):
            number = re.match(r"([\d.]+)%", value)
            detail.rebuild_percent = float(number.group(1)) if number else None
        elif key == "UUID":
            detail.uuid = value
    return detail


# -- /proc/mdstat ----------------------------------------------------------------------
@dataclass
class MdStat:
    name: str  # md0
    active: bool
    level: int | None
    devices: list[str]  # sdb, sdc ...
    progress: float | None = None  # percent of a resync or recovery
    finish_seconds: float | None = None


def parse_mdstat(text: str) -> list[MdStat]:
    arrays: list[MdStat] = []
    current: MdStat | None = None
    for line in text.splitlines():
        head = re.match(r"^(md\w+)\s*:\s*(\w+)\s+(.*)$", line)
        if head:
            words = head.group(3).split()
            level = None
            if words and _LEVEL.fullmatch(words[0]):
                level = int(_LEVEL.fullmatch(words[0]).group(1))  # type: ignore[union-attr]
                words = words[1:]
            devices = [re.sub(r"\[\d+\](\(\w\))?$", "", w) for w in words if re.search(r"\[\d+\]", w)]
            current = MdStat(head.group(1), head.group(2) == "active", level, devices)
            arrays.append(current)
            continue
        if current is None:
            continue
        progress = re.search(r"(?:recovery|resync|reshape|check)\s*=\s*([\d.]+)%", line)
        if progress:
            current.progress = float(progress.group(1))
            finish = re.search(r"finish=([\d.]+)min", line)
            current.finish_seconds = float(finish.group(1)) * 60 if finish else None
    return arrays


# -- smartctl ----------------------------------------------------------------------------
@dataclass
class SmartInfo:
    model: str = ""
    serial: str = ""
    capacity: int = 0
    health: str = "unknown"  # passed | failed | unknown
    temperature: float | None = None
    power_on_hours: int | None = None


def _digits(text: str) -> int | None:
    match = re.match(r"[\d,]+", text.strip())
    return int(match.group(0).replace(",", "")) if match else None


def parse_smartctl(text: str) -> SmartInfo:
    """`smartctl -i -H -A` text for ATA, NVMe and SCSI/SAS drives."""
    info = SmartInfo()
    in_ata_table = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("ID#") and "ATTRIBUTE_NAME" in stripped:
            in_ata_table = True
            continue
        if in_ata_table:
            parts = stripped.split()
            if len(parts) >= 10 and parts[0].isdigit():
                name, raw = parts[1], " ".join(parts[9:])
                if name in ("Temperature_Celsius", "Airflow_Temperature_Cel") and info.temperature is None:
                    value = _digits(raw)
                    info.temperature = float(value) if value is not None else None
                elif name == "Power_On_Hours":
                    info.power_on_hours = _digits(raw)
                continue
            if not stripped:
                in_ata_table = False
            continue
        key, sep, value = stripped.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key in ("Device Model", "Model Number", "Product"):
            info.model = value
        elif key == "Serial Number" or key == "Serial number":
            info.serial = value
        elif key in ("User Capacity", "Total NVM Capacity", "Namespace 1 Size/Capacity"):
            if not info.capacity:
                info.capacity = _digits(value) or 0
        elif key == "SMART overall-health self-assessment test result":
            info.health = "passed" if value.startswith("PASSED") else "failed"
        elif key == "SMART Health Status":
            info.health = "passed" if value.startswith("OK") else "failed"
        elif key == "Temperature" and value.endswith("Celsius"):
            info.temperature = float(_digits(value) or 0)
        elif key == "Current Drive Temperature":
            number = _digits(value)
            info.temperature = float(number) if number is not None else None
        elif key == "Power On Hours":
            info.power_on_hours = _digits(value)
        elif key == "Accumulated power on time, hours":  # SCSI: "hours:minutes 12000:30"
            info.power_on_hours = _digits(value.split()[-1])
    return info


# -- the backend -------------------------------------------------------------------------
class LinuxDisks:
    def __init__(self, bays: Sequence[str] = (), md_device: str = "/dev/md/vigil", raid_levels: Sequence[int] = (),
                 runner: Runner = run_command, sys_block: Path = Path("/sys/block"),
                 mdstat: Path = Path("/proc/mdstat")) -> None:
        self.bays = [os.path.basename(b) for b in bays]
        self.md_device = md_device
        self.raid_levels = tuple(raid_levels)
        self.run = runner
        self.sys_block = sys_block
        self.mdstat = mdstat
        self._watchers: list[Callable[[], None]] = []
        self._last_seen: tuple | None = None
        # The storage service asks often; the tools are asked at most this often.
        self._smart_cache: dict[str, tuple[float, SmartInfo]] = {}
        self._detail_cache: tuple[float, MdDetail | None] | None = None

    @property
    def slots(self) -> int:
        return len(self.bays) or len(block_devices(self.sys_block))

    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.append(callback)

    def smart(self, name: str) -> SmartInfo:
        cached = self._smart_cache.get(name)
        if cached is not None and time.monotonic() - cached[0] < SMART_SECONDS:
            return cached[1]
        rc, out, _err = self.run(["smartctl", "-i", "-H", "-A", f"/dev/{name}"])
        # smartctl's exit status is a bit mask; output is still worth reading unless it
        # could not open the device (bit 1) or parse the command line (bit 0).
        info = SmartInfo() if rc & 0b11 or not out else parse_smartctl(out)
        self._smart_cache[name] = (time.monotonic(), info)
        return info

    def _detail(self) -> MdDetail | None:
        if self._detail_cache is not None and time.monotonic() - self._detail_cache[0] < DETAIL_SECONDS:
            return self._detail_cache[1]
        rc, out, _err = self.run(["mdadm", "--detail", self.md_device])
        detail = parse_mdadm_detail(out) if rc == 0 and out else None
        self._detail_cache = (time.monotonic(), detail)
        return detail

    def forget(self) -> None:
        """Drop cached tool output (after a change Vigil made itself)."""
        self._smart_cache.clear()
        self._detail_cache = None

    def drives(self) -> list[Drive]:
        devices = {d.name: d for d in block_devices(self.sys_block)}
        names = self.bays or sorted(devices)
        detail = self._detail()
        member_state = {}
        if detail is not None:
            for m in detail.members:
                if m.device:
                    member_state[os.path.basename(m.device)] = m.state
        out = []
        for slot, name in enumerate(names):
            device = devices.get(name)
            if device is None:
                out.append(Drive(slot, "absent"))
                continue
            smart = self.smart(name)
            state = member_state.get(name)
            if state is None:
                status = "spare" if detail is not None else "online"
            elif "faulty" in state:
                status = "failed"
            elif "rebuilding" in state:
                status = "rebuilding"
            elif state.startswith("active"):
                status = "online"
            else:
                status = "spare"
            if smart.health == "failed" and status == "online":
                status = "online"  # SMART predicts a failure; the array still uses the drive
            out.append(Drive(slot, status, smart.serial or device.serial, smart.model or device.model,
                             smart.capacity or device.size, smart.temperature, smart.health, smart.power_on_hours))
        return out

    def array(self) -> Array | None:
        detail = self._detail()
        if detail is None:
            return None
        slot_of = {name: i for i, name in enumerate(self.bays)}
        positions: dict[int, str] = {}
        members: dict[int, int] = {}
        for m in detail.members:
            if m.raid_device is None:
                continue
            name = os.path.basename(m.device)
            if "rebuilding" in m.state:
                positions[m.raid_device] = "rebuilding"
            elif m.state.startswith("active"):
                positions[m.raid_device] = "online"
            else:
                positions[m.raid_device] = "absent"
            if name in slot_of:
                members[m.raid_device] = slot_of[name]
        statuses = [positions.get(i, "absent") for i in range(detail.raid_devices)]
        state = array_state(detail.level, statuses)
        if "FAILED" in detail.state.upper().split(", ") or "inactive" in detail.state:
            state = "failed"
        elif state == "online" and ("resyncing" in detail.state or "recovering" in detail.state):
            state = "syncing"
        progress, remaining = 100.0, 0.0
        if state == "syncing" or detail.rebuild_percent is not None:
            progress = detail.rebuild_percent if detail.rebuild_percent is not None else 0.0
            for stat in parse_mdstat(_read(self.mdstat)):
                if stat.progress is not None and self.md_device.endswith(stat.name):
                    progress, remaining = stat.progress, stat.finish_seconds or 0.0
        return Array(detail.uuid, detail.level, state, tuple(members[i] for i in sorted(members)), detail.array_size,
                     progress, remaining, detail.device or self.md_device)

    def create(self, level: int | None, slots: Sequence[int]) -> Array:
        if not self.bays:
            raise DiskError("No drive bays are configured for this machine (VIGIL_DISK_BAYS); "
                            "Vigil does not build arrays over disks it was not given")
        if level is None or level not in self.raid_levels:
            raise DiskError(f"RAID {level} is not supported on this device")
        problem = level_problem(level, len(slots))
        if problem:
            raise DiskError(problem)
        devices = [f"/dev/{self.bays[s]}" for s in slots]
        self.forget()
        self.run(["mdadm", "--stop", self.md_device])
        rc, _out, err = self.run(["mdadm", "--create", self.md_device, "--run", "--force", f"--level={level}",
                                  f"--raid-devices={len(devices)}", *devices])
        if rc != 0:
            raise DiskError(f"mdadm could not create the array: {err.strip() or rc}")
        self.forget()
        array = self.array()
        if array is None:
            raise DiskError("the new array does not answer to mdadm --detail")
        self._notify()
        return array

    def health_test(self, slot: int) -> str:
        names = self.bays or [d.name for d in block_devices(self.sys_block)]
        if not 0 <= slot < len(names):
            raise DiskError(f"There is no drive in bay {slot}")
        self._smart_cache.pop(names[slot], None)
        rc, out, err = self.run(["smartctl", "-H", f"/dev/{names[slot]}"])
        if rc & 0b11:
            raise DiskError(f"smartctl could not read the drive: {(err or out).strip()[:200]}")
        return parse_smartctl(out).health

    def poll(self) -> None:
        self._detail_cache = None
        array = self.array()
        seen = (array.state, array.members) if array else None
        if seen != self._last_seen:
            self._last_seen = seen
            self._notify()

    def _notify(self) -> None:
        for watcher in list(self._watchers):
            watcher()
