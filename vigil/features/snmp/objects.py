"""What the agent serves, as branches of the object tree (mib.py), each from what the device
knows now:

- MIB-II system group: sysDescr, sysObjectID (an Axis video product), sysUpTime (since the
  agent started), sysContact and sysLocation (writable; kept as parameters), sysName (the
  host name, read-only here: the network settings own it), sysServices.
- MIB-II interfaces: ifNumber and ifTable for the device's interfaces (eth0 with the device's
  MAC address, and any interface the network feature reports on the bus); the operational
  status follows `tns1:Device/tnsaxis:Network/Lost`.
- SNMPv2-MIB snmp group: the engine's counters (packets, bad versions, bad community names
  and uses, parse errors, silent drops) and snmpEnableAuthenTraps (writable: it is the
  authentication-failure trap switch, SNMP.Trap.T0.AuthFail.Enabled).
- HOST-RESOURCES-MIB: hrStorageTable (each storage volume's size and use), hrDeviceTable (the
  drives and the RAID array, with running/warning/down status).
- AXIS-VIDEO-MIB (enterprise 368): tempSensorTable (the drives' temperatures, out of bounds
  above the storage alert limit) and storageTable (each disk's storage disruption state).

The tables of devices without disks are simply empty. Nothing here imports the storage
feature: disks come from the disk hardware interface (vigil.hal.disks), volumes from the
`Volumes` port (vigil.footage.volumes), states from the event bus.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from pysnmp.proto import rfc1902
from pysnmp.smi import error as smi

from vigil import __version__
from vigil.core.events import EventBus
from vigil.core.params import ParamTree
from vigil.core.store import Store
from vigil.features.snmp.const import (
    AXIS_PRODUCT,
    AXIS_VIDEO,
    CONTACT,
    DISRUPTION,
    HOST,
    HOSTNAME,
    INTERFACES,
    LOCATION,
    NETWORK_LOST,
    SNMP_GROUP,
    SYSTEM,
    TRAP_AUTH_FAIL,
)
from vigil.features.snmp.mib import Instance, Mib, SetRefused
from vigil.footage import index
from vigil.footage.volumes import Volumes
from vigil.hal.disks import DiskHardware
from vigil.profiles import Profile

HOT_CELSIUS = 60  # the storage alert limit (333 K): hotter drives are out of bounds
OCTETS, INTEGER, TICKS, OID = rfc1902.OctetString, rfc1902.Integer32, rfc1902.TimeTicks, rfc1902.ObjectIdentifier
HR_FIXED_DISK, HR_NETWORK_DISK = (1, 3, 6, 1, 2, 1, 25, 2, 1, 4), (1, 3, 6, 1, 2, 1, 25, 2, 1, 10)
HR_DEVICE_OTHER, HR_DEVICE_DISK = (1, 3, 6, 1, 2, 1, 25, 3, 1, 1), (1, 3, 6, 1, 2, 1, 25, 3, 1, 6)
RUNNING, WARNING, DOWN = 2, 3, 5  # hrDeviceStatus
DRIVE_STATUS = {"online": RUNNING, "spare": RUNNING, "rebuilding": WARNING, "failed": DOWN}
ARRAY_STATUS = {"online": RUNNING, "degraded": WARNING, "syncing": WARNING, "failed": DOWN}
MIB_UNIT = 1024 * 1024  # hrStorageAllocationUnits: sizes in MiB fit Integer32 up to 2 PiB
SIZES_SECONDS = 1.0  # how long a volume's sizes are reused (a walk reads each column once)


@dataclass
class Sources:
    """What the objects are read from. `volumes` and `disks` are None on a device without them."""

    profile: Profile
    mac: str
    params: ParamTree
    bus: EventBus
    store: Store
    volumes: Volumes | None
    disks: DiskHardware | None
    uptime: Callable[[], int]  # centiseconds since the agent started
    counter: Callable[[str], int]  # an SNMPv2-MIB counter of the running engine, by name
    set_param: Callable[[str, str, str], None]  # (name, value, actor): validated and audited


def text(value: str) -> OCTETS:
    return OCTETS(value.encode())


# -- MIB-II system group -----------------------------------------------------------------------
def system_group(src: Sources) -> Callable[[], Iterable[Instance]]:
    descr = f"{src.profile.full_name}, Vigil {__version__}"

    def writable(name: str):
        def check(value) -> None:
            reason = src.params.defs[name].validate(bytes(value).decode("utf-8", "replace"))
            if reason:
                raise SetRefused(smi.WrongValueError, reason)

        def write(value, actor: str) -> None:
            src.set_param(name, bytes(value).decode(), actor)

        return check, write

    contact_check, contact_write = writable(CONTACT)
    location_check, location_write = writable(LOCATION)

    def branch() -> Iterable[Instance]:
        yield Instance(SYSTEM + (1, 0), lambda: text(descr))
        yield Instance(SYSTEM + (2, 0), lambda: OID(AXIS_PRODUCT))
        yield Instance(SYSTEM + (3, 0), lambda: TICKS(src.uptime()))
        yield Instance(SYSTEM + (4, 0), lambda: text(src.params.get(CONTACT)), OCTETS, contact_write, contact_check)
        yield Instance(SYSTEM + (5, 0), lambda: text(src.params.get(HOSTNAME)))
        yield Instance(SYSTEM + (6, 0), lambda: text(src.params.get(LOCATION)), OCTETS, location_write,
                       location_check)
        yield Instance(SYSTEM + (7, 0), lambda: INTEGER(72))  # applications (64) + end-to-end (8)

    return branch


# -- MIB-II interfaces ---------------------------------------------------------------------------
@dataclass
class Interface:
    index: int
    name: str
    mac: bytes
    up: bool = True
    changed: int = 0  # sysUpTime of the last change of the operational status


class Interfaces:
    """The device's interfaces: eth0, and those the network feature reports as lost or back."""

    def __init__(self, src: Sources, mib: Mib) -> None:
        self.src = src
        self.mib = mib
        self.by_name: dict[str, Interface] = {"eth0": Interface(1, "eth0", bytes.fromhex(src.mac.replace(":", "")))}
        for event in src.bus.states(NETWORK_LOST):
            self.update(event.source.get("interface", "eth0"), event.data.get("lost") not in ("1", "true"))

    def update(self, name: str, up: bool) -> tuple[Interface, bool]:
        """Record an interface's link state; returns it and whether the state changed."""
        found = self.by_name.get(name)
        if found is None:
            found = self.by_name[name] = Interface(len(self.by_name) + 1, name, b"")
            self.mib.changed()
        if found.up == up:
            return found, False
        found.up, found.changed = up, self.src.uptime()
        return found, True

    def branch(self) -> Iterable[Instance]:
        table = INTERFACES + (2, 1)
        yield Instance(INTERFACES + (1, 0), lambda: INTEGER(len(self.by_name)))
        rows = sorted(self.by_name.values(), key=lambda i: i.index)
        columns: list[tuple[int, Callable[[Interface], object]]] = [
            (1, lambda i: INTEGER(i.index)),
            (2, lambda i: text(i.name)),
            (3, lambda i: INTEGER(6)),  # ethernetCsmacd
            (4, lambda i: INTEGER(1500)),
            (5, lambda i: rfc1902.Gauge32(1_000_000_000)),
            (6, lambda i: OCTETS(i.mac)),
            (7, lambda i: INTEGER(1)),  # administratively up
            (8, lambda i: INTEGER(1 if i.up else 2)),
            (9, lambda i: TICKS(i.changed)),
        ]
        for column, read in columns:
            for row in rows:
                yield Instance(table + (column, row.index), lambda read=read, row=row: read(row))


# -- SNMPv2-MIB snmp group -------------------------------------------------------------------------
SNMP_COUNTERS = {1: "snmpInPkts", 3: "snmpInBadVersions", 4: "snmpInBadCommunityNames",
                 5: "snmpInBadCommunityUses", 6: "snmpInASNParseErrs", 31: "snmpSilentDrops", 32: "snmpProxyDrops"}


def snmp_group(src: Sources) -> Callable[[], Iterable[Instance]]:
    def check(value) -> None:
        if int(value) not in (1, 2):
            raise SetRefused(smi.WrongValueError, "snmpEnableAuthenTraps is enabled(1) or disabled(2)")

    def write(value, actor: str) -> None:
        src.set_param(TRAP_AUTH_FAIL, "yes" if int(value) == 1 else "no", actor)

    def branch() -> Iterable[Instance]:
        for number, name in sorted(SNMP_COUNTERS.items()):
            if number == 31:
                yield Instance(SNMP_GROUP + (30, 0),
                               lambda: INTEGER(1 if src.params.get_bool(TRAP_AUTH_FAIL) else 2), INTEGER, write, check)
            yield Instance(SNMP_GROUP + (number, 0), lambda name=name: rfc1902.Counter32(src.counter(name)))

    return branch


# -- HOST-RESOURCES-MIB ----------------------------------------------------------------------------
class Storage:
    """hrStorageTable over the volumes, hrDeviceTable over the drives and the array."""

    def __init__(self, src: Sources) -> None:
        self.src = src
        self._sizes: dict[str, tuple[float, int, int]] = {}  # volume -> (read at, size, used) in bytes

    def sizes(self, volume: str) -> tuple[int, int]:
        """(size, used) bytes of a volume: the array's capacity for the onboard one; for a network
        share, its free space plus the footage it holds."""
        now = time.monotonic()
        cached = self._sizes.get(volume)
        if cached is not None and now - cached[0] < SIZES_SECONDS:
            return cached[1], cached[2]
        volumes, disks = self.src.volumes, self.src.disks
        assert volumes is not None
        free = volumes.free_bytes(volume) or 0
        array = disks.array() if disks is not None else None
        if volume == volumes.resolve("default") and array is not None:
            size = array.capacity
        else:
            size = free + index.used_bytes(self.src.store, volumes.aliases(volume))
        size, used = max(size, 0), max(size - free, 0)
        self._sizes[volume] = (now, size, used)
        return size, used

    def volume_ids(self) -> list[str]:
        return self.src.volumes.ids() if self.src.volumes is not None else []

    def storage_branch(self) -> Iterable[Instance]:
        table = HOST + (2, 3, 1)
        ids = self.volume_ids()
        if not ids:
            return
        volumes = self.src.volumes
        assert volumes is not None
        onboard = volumes.resolve("default")
        columns: list[tuple[int, Callable[[str, int], object]]] = [
            (1, lambda v, n: INTEGER(n)),
            (2, lambda v, n: OID(HR_FIXED_DISK if v == onboard else HR_NETWORK_DISK)),
            (3, lambda v, n: text(v)),
            (4, lambda v, n: INTEGER(MIB_UNIT)),
            (5, lambda v, n: INTEGER(min(self.sizes(v)[0] // MIB_UNIT, 2**31 - 1))),
            (6, lambda v, n: INTEGER(min(self.sizes(v)[1] // MIB_UNIT, 2**31 - 1))),
        ]
        for column, read in columns:
            for number, volume in enumerate(ids, 1):
                yield Instance(table + (column, number), lambda read=read, v=volume, n=number: read(v, n))

    def devices(self) -> list[tuple[int, int, str, Callable[[], int]]]:
        """(index, hrDeviceType, description, status) of the array and each present drive."""
        disks = self.src.disks
        if disks is None:
            return []
        out: list[tuple[int, int, str, Callable[[], int]]] = []
        array = disks.array()
        if array is not None and array.level is not None:
            out.append((1, 0, f"RAID {array.level} array",
                        lambda: ARRAY_STATUS.get((disks.array() or array).state, DOWN)))
        for drive in disks.drives():
            if drive.present:
                slot = drive.slot

                def status(slot: int = slot) -> int:
                    now = next((d for d in disks.drives() if d.slot == slot), None)
                    return DRIVE_STATUS.get(now.status, DOWN) if now is not None else DOWN

                out.append((10 + slot, 1, f"Bay {slot + 1}: {drive.model} {drive.serial}".strip(), status))
        return out

    def device_branch(self) -> Iterable[Instance]:
        table = HOST + (3, 2, 1)
        rows = self.devices()
        kinds = (HR_DEVICE_OTHER, HR_DEVICE_DISK)
        columns: list[tuple[int, Callable[[tuple], object]]] = [
            (1, lambda r: INTEGER(r[0])),
            (2, lambda r: OID(kinds[r[1]])),
            (3, lambda r: text(r[2])),
            (4, lambda r: OID((0, 0))),
            (5, lambda r: INTEGER(r[3]())),
        ]
        for column, read in columns:
            for row in rows:
                yield Instance(table + (column, row[0]), lambda read=read, row=row: read(row))


# -- AXIS-VIDEO-MIB ---------------------------------------------------------------------------------
def axis_branch(src: Sources, storage: Storage) -> Callable[[], Iterable[Instance]]:
    def temperature(slot: int) -> float | None:
        disks = src.disks
        drive = next((d for d in disks.drives() if d.slot == slot), None) if disks else None
        return drive.temperature if drive is not None and drive.present else None

    def branch() -> Iterable[Instance]:
        sensors = AXIS_VIDEO + (1, 3, 1)
        slots = [d.slot for d in src.disks.drives() if d.present and d.temperature is not None] if src.disks else []
        for slot in slots:  # tempSensorStatus, index (type common(1), id slot + 1)

            def status(slot: int = slot) -> INTEGER:
                celsius = temperature(slot)
                return INTEGER(2 if celsius is None else 3 if celsius >= HOT_CELSIUS else 1)

            yield Instance(sensors + (3, 1, slot + 1), status)
        for slot in slots:  # tempSensorValue, degrees Celsius
            yield Instance(sensors + (4, 1, slot + 1),
                           lambda slot=slot: INTEGER(max(-176, min(150, round(temperature(slot) or 0)))))
        disks = AXIS_VIDEO + (1, 8, 1)
        ids = storage.volume_ids() or sorted(e.source.get("disk_id", "") for e in src.bus.states(DISRUPTION))
        for number, disk in enumerate(ids, 1):  # storageName
            yield Instance(disks + (2, number), lambda disk=disk: text(disk))
        for number, disk in enumerate(ids, 1):  # storageDisruptionDetected: no(1) yes(2)
            yield Instance(disks + (3, number), lambda disk=disk: INTEGER(
                2 if (src.bus.state(DISRUPTION, {"disk_id": disk}) or {}).get("disruption") == "1" else 1))

    return branch


def build(src: Sources) -> tuple[Mib, Interfaces]:
    mib = Mib()
    interfaces = Interfaces(src, mib)
    storage = Storage(src)
    mib.add(system_group(src))
    mib.add(interfaces.branch)
    mib.add(snmp_group(src))
    mib.add(storage.storage_branch)
    mib.add(storage.device_branch)
    mib.add(axis_branch(src, storage))
    return mib, interfaces
