"""The storage service: volumes over the disk hardware and network shares, their tools (check,
repair, format, change RAID level, write protect, mount/unmount), retention settings, events,
and what the recorder asks of a volume (where its footage goes, whether it may be written).

Volumes (VAPIX disk ids):
- the onboard volume: `HDD_DISK` (S3008, one drive) or `RAID_DISK` (S3016/S4000, the RAID
  array over the bays). Its footage lives in `<data>/recordings`. "default" (a camera
  source's volume unless chosen otherwise) is this volume.
- `NetworkShare`: the bound SMB share. Footage is spooled in `<data>/volumes/NetworkShare`
  and copied to the share when each segment is sealed (see network.py).

The volumes' state, whether each may be written, and the `Volumes` port the recorder uses are
in volumes.py (`VolumeModel`, part of this service); when a volume changes the recorder is told
(`VolumeWriter.volume_changed`): recordings on it stop, and continuous recording starts again
when the volume is back. Encryption of the onboard volume is in encryption.py, network shares in
shares.py, the names and codes in const.py; the footage checker the Check and Repair tools run is
vigil.footage.check.
"""

from __future__ import annotations

import asyncio
import json
from contextlib import suppress
from pathlib import Path

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import Change, ParamDef, ParamTree, applied
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.features.storage import network, tools
from vigil.features.storage.const import (
    ALERT,
    ALERT_KELVIN,
    DISRUPTION,
    FAILURE,
    FAILURE_ONVIF,
    INVALID_PASSPHRASE,
    KV_VOLUMES,
    LOOP_SECONDS,
    NETWORK,
    RAID,
    RAID_API_STATE,
    RAID_STATE_TOPICS,
    RECORDER_STATE,
    RECORDING_ONGOING,
)
from vigil.features.storage.encryption import Encryption
from vigil.features.storage.shares import NetworkShares, ShareState
from vigil.features.storage.tool_jobs import Job, Jobs, StorageError
from vigil.features.storage.volumes import Volume, VolumeModel
from vigil.footage import check as footage_check
from vigil.footage import index
from vigil.footage.volumes import VolumeWriter
from vigil.hal.disks import FILESYSTEMS, DiskError, DiskHardware, Drive, level_problem


class StorageService(VolumeModel):
    def __init__(self, store: Store, params: ParamTree, bus: EventBus, logs: Logs, clock, vault: Vault, data: Path,
                 hardware: DiskHardware | None, raid_levels: tuple[int, ...], network_share: bool,
                 folder: str) -> None:
        self.store = store
        self.params = params
        self.bus = bus
        self.logs = logs
        self.clock = clock
        self.vault = vault
        self.data = data
        self.hw = hardware
        self.raid = bool(raid_levels)
        self.raid_levels = raid_levels
        self.folder = folder  # this device's folder on network shares
        self.jobs = Jobs(logs, clock)
        self._writers: list[VolumeWriter] = []  # the recorder, attached through the Volumes port
        self._write_errors: dict[str, str] = {}
        self.volumes: dict[str, Volume] = {}
        self.shares: dict[str, network.ShareConfig] = {}
        self.bound: str | None = None  # the share id bound to NetworkShare
        self.share = ShareState()
        self._writable: dict[str, bool] = {}
        self._usage: dict[str, tuple[float, int]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake = asyncio.Event()
        self._recording_now = False
        self.encryption = Encryption(self)
        self.network_shares = NetworkShares(self)
        stored = json.loads(store.get_kv(KV_VOLUMES) or "{}")
        n = 0
        if hardware is not None and hardware.slots:
            onboard = "RAID_DISK" if self.raid else "HDD_DISK"
            self.volumes[onboard] = Volume(onboard, "local", f"Storage.S{n}", data / "recordings")
            n += 1
        if network_share:
            self.volumes[NETWORK] = Volume(NETWORK, "network", f"Storage.S{n}", data / "volumes" / NETWORK,
                                           filesystem="cifs")
        for vol in self.volumes.values():
            saved = stored.get(vol.id)
            if saved:
                vol.filesystem = saved.get("filesystem", vol.filesystem)
                vol.formatted_on = saved.get("formatted_on", "")
            elif vol.kind == "local" and hardware is not None:
                array = hardware.array()  # factory state: the volume comes formatted
                vol.formatted_on = array.uuid if array else ""
            if vol.kind == "local":
                self.encryption.load(vol, saved or {})
        self.network_shares.load()
        if hardware is not None:
            hardware.watch(self._on_hardware)
        params.listeners.append(self._on_params)
        self.save()

    # -- persistence -------------------------------------------------------------------
    def save(self) -> None:
        self.store.set_kv(KV_VOLUMES, json.dumps({v.id: {"filesystem": v.filesystem, "formatted_on": v.formatted_on,
                                                         "encryption": v.encryption_enabled} for v in self.volumes.values()}))

    # -- parameters ----------------------------------------------------------------------
    def param_defs(self) -> list[ParamDef]:
        op, A = Role.OPERATOR, Role.ADMIN  # noqa: N806
        used, watched = applied("storage"), applied("storage", how="listener")  # read where used; refresh()
        defs = [ParamDef("Properties.LocalStorage.LocalStorage", "yes", read=Role.VIEWER, write=None),
                ParamDef("Properties.LocalStorage.Version", "1.00", read=Role.VIEWER, write=None),
                ParamDef("Properties.LocalStorage.SDCard", "no", read=Role.VIEWER, write=None),
                ParamDef("Properties.LocalStorage.DiskEncryption", "yes" if self.onboard() else "no", read=Role.VIEWER,
                         write=None),
                ParamDef("Properties.LocalStorage.RequiredFileSystem", "yes", read=Role.VIEWER, write=None),
                ParamDef("Storage.MountDir", str(self.data / "volumes"), read=op, write=None)]
        if NETWORK in self.volumes:
            defs += [ParamDef("Properties.NetworkShare.NetworkShare", "yes", read=Role.VIEWER, write=None),
                     ParamDef("Properties.NetworkShare.CIFS", "yes", read=Role.VIEWER, write=None)]
        for vol in self.volumes.values():
            g = vol.group + "."
            local = vol.kind == "local"
            defs += [
                ParamDef(g + "DiskID", vol.id, read=op, write=None),
                ParamDef(g + "FriendlyName", "Onboard storage" if local else "Network share", read=op, write=op,
                         maxlen=64, owner=used),
                ParamDef(g + "CleanupMaxAge", "0", "int", minimum=0, maximum=7000, read=op, write=A,
                         nice="Retention time in days (0: keep until the volume is full)", owner=used),
                ParamDef(g + "CleanupPolicyActive", "fifo", "enum", ("fifo", "none"), read=op, write=A, owner=used),
                ParamDef(g + "CleanupLevel", "95", "int", minimum=0, maximum=99, read=op, write=A,
                         nice="Clean up the oldest footage above this fill level (%)", owner=used),
                ParamDef(g + "FileSystem", vol.filesystem, read=op, write=None,
                         dynamic=lambda vol=vol: vol.filesystem),
                ParamDef(g + "Locked", "no", "bool", read=op, write=A, nice="Write protect", owner=watched),
                ParamDef(g + "MountOnBoot", "yes", "bool", read=op, write=A, owner=used),
                ParamDef(g + "Enabled", "yes", "bool", read=op, write=A, owner=watched),
                ParamDef(g + "RequiredFileSystem", "none", "enum", ("none", "ext4"), read=op, write=A,
                         nice="Autoformat", owner=used),
            ]
            if not local:
                defs.append(ParamDef(g + "OfflineBufferMB", "1024", "int", minimum=0, maximum=1_000_000, read=op,
                                     write=A, nice="Footage kept locally while the share is unreachable",
                                     owner=used))
        return defs

    def _on_params(self, changes: list[Change], actor: str) -> None:
        groups = {v.group for v in self.volumes.values()}
        if any(c.name.rsplit(".", 1)[0] in groups for c in changes):
            for change in changes:
                if change.name.endswith(".Locked"):
                    vol = next(v for v in self.volumes.values() if change.name.startswith(v.group + "."))
                    self.logs.system(f"write protection of {vol.id} turned {'on' if change.new == 'yes' else 'off'}")
            self.refresh()

    # -- the network share's state -------------------------------------------------------
    def share_config(self) -> network.ShareConfig | None:
        return self.shares.get(self.bound) if self.bound else None

    def backlog(self) -> int:
        """Bytes of NetworkShare footage not yet on the share."""
        vol = self.volumes.get(NETWORK)
        if vol is None:
            return 0
        rows = index.segments_on(self.store, (NETWORK,))
        return sum(size for seg_id, _path, size in rows if seg_id not in self.share.uploaded)

    # -- state changes -------------------------------------------------------------------
    def _on_hardware(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if self._loop is not None and running is not self._loop and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self.refresh)
        else:
            self.refresh()

    def declare(self) -> None:
        ids = tuple(self.volumes)
        disk = (Item("disk_id", "xsd:string", "Disk", ids),)
        self.bus.declare(Topic(DISRUPTION, "Storage disruption", True, disk,
                               (Item("disruption", "xsd:boolean", "Storage disruption", state=True),)))
        self.bus.declare(Topic(FAILURE, "Storage failure", True, disk,
                               (Item("disruption", "xsd:boolean", "Storage failure", state=True),)))
        self.bus.declare(Topic(FAILURE_ONVIF, "Storage failure", True, (Item("Token", "tt:ReferenceToken", "Disk", ids),),
                               (Item("Failed", "xsd:boolean", "Failed", state=True),)))
        self.bus.declare(Topic(ALERT, "Storage alert", True, disk,
                               (Item("overall_health", "xsd:int", "Overall health"),
                                Item("temperature", "xsd:int", "Temperature (K)"),
                                Item("wear", "xsd:int", "Wear"),
                                Item("alert", "xsd:boolean", "Alert", state=True))))
        self.bus.declare(Topic(RECORDING_ONGOING, "Recording ongoing", True, (),
                               (Item("recording", "xsd:boolean", "Recording ongoing", state=True),)))
        if self.raid and self.hw is not None:
            components = tuple(Item(f"component{s}status", "xsd:string", f"Connection status of RAID component {s}",
                                    ("connected", "missing", "spare")) for s in range(self.hw.slots))
            self.bus.declare(Topic(RAID, "RAID status", True, (),
                                   (Item("raidstate", "xsd:string", "RAID state",
                                         tuple(RAID_API_STATE.values()), state=True),
                                    Item("raidlevel", "xsd:string", "RAID level"), *components)))
            for name in RAID_STATE_TOPICS.values():
                self.bus.declare(Topic(f"{RAID}/{name}", name, True, (),
                                       (Item("state", "xsd:boolean", "state", state=True),)))
        self.bus.subscribe(self._on_event)

    def _on_event(self, event) -> None:
        if event.topic == RECORDER_STATE:
            ongoing = any(e.data.get("IsRecording") == "1" for e in self.bus.states(RECORDER_STATE))
            if ongoing != self._recording_now:
                self._recording_now = ongoing
                self.bus.publish(RECORDING_ONGOING, {}, {"recording": "1" if ongoing else "0"})

    def start(self) -> None:
        """At load: declare the events, mount what mounts at boot, publish the first states."""
        self.declare()
        self.bus.publish(RECORDING_ONGOING, {}, {"recording": "0"})
        for vol in self.volumes.values():
            if self._p(vol, "MountOnBoot") != "yes" or self._p(vol, "Enabled") != "yes":
                continue
            if vol.kind == "network":
                vol.mounted = self.share_config() is not None  # connected by the run loop
                continue
            if vol.encrypted:
                self.logs.system(f"{vol.id} is encrypted: it stays unmounted until it is mounted with its password")
                continue
            try:
                self.mount_local(vol, "system")
            except StorageError as err:
                self.logs.system(f"{vol.id} not mounted at start: {err}", "warning")
        self.refresh()

    def refresh(self) -> None:
        """Publish the storage state and tell the recorder about volumes that changed."""
        for vol in self.volumes.values():
            problem = self._obstacle(vol)
            writable = not problem
            src = {"disk_id": vol.id}
            self.bus.publish(DISRUPTION, src, {"disruption": "1" if self.disrupted(vol) else "0"})
            failed = self.failed(vol)
            self.bus.publish(FAILURE, src, {"disruption": "1" if failed else "0"})
            self.bus.publish(FAILURE_ONVIF, {"Token": vol.id}, {"Failed": "true" if failed else "false"})
            self.bus.publish(ALERT, src, self._alert(vol))
            if self._writable.get(vol.id) != writable:
                before = self._writable.get(vol.id)
                self._writable[vol.id] = writable
                if before is not None:
                    self.logs.system(f"{vol.id}: recording " + ("possible again" if writable else f"stopped: {problem}"),
                                     "info" if writable else "warning")
                    for writer in self._writers:
                        writer.volume_changed(vol.id)
        if self.raid and self.hw is not None:
            array = self.hw.array()
            state = array.state if array else "failed"
            data = {"raidstate": RAID_API_STATE[state], "raidlevel": f"raid{array.level}" if array else ""}
            for drive in self.hw.drives():
                data[f"component{drive.slot}status"] = self._component_status(drive)
            self.bus.publish(RAID, {}, data)
            for name, topic in RAID_STATE_TOPICS.items():
                self.bus.publish(f"{RAID}/{topic}", {}, {"state": "1" if name == state else "0"})

    def _alert(self, vol: Volume) -> dict[str, str]:
        if vol.kind != "local" or self.hw is None:
            return {"overall_health": "-1", "temperature": "-1", "wear": "-1", "alert": "0"}
        drives = [d for d in self.hw.drives() if d.present]
        if not drives:
            return {"overall_health": "-3", "temperature": "-3", "wear": "-3", "alert": "0"}
        temps = [d.temperature for d in drives if d.temperature is not None]
        kelvin = round(max(temps) + 273.15) if temps else -1
        healthy = all(d.health != "failed" and d.status != "failed" for d in drives)
        alert = not healthy or kelvin >= ALERT_KELVIN
        return {"overall_health": "1" if healthy else "0", "temperature": str(kelvin), "wear": "-1",
                "alert": "1" if alert else "0"}

    @staticmethod
    def _component_status(drive: Drive) -> str:
        if drive.status in ("online", "rebuilding"):
            return "connected"
        return "spare" if drive.status == "spare" else "missing"

    # -- tools -----------------------------------------------------------------------------
    def check(self, disk_id: str, actor: str) -> Job:
        vol = self.volume(disk_id)
        self.require_present(vol)

        async def work(job: Job) -> str:
            options = footage_check.Options(drop_missing=True, running=True, progress=job.step)
            report = await asyncio.to_thread(footage_check.check, self.store, self.scope(vol), options)
            text = report.summary()
            if vol.kind == "network" and self.share.online:
                missing = [rel for rel in self.share.uploaded.values() if rel not in self.share.remote]
                if missing:
                    text += f", {len(missing)} segment(s) missing on the share (copied again)"
                    self.share.uploaded = {k: v for k, v in self.share.uploaded.items() if v not in missing}
            self._usage.pop(vol.id, None)
            return text
        return self.jobs.start(vol.id, "checkdisk", actor, work)

    def repair(self, disk_id: str, actor: str) -> Job:
        vol = self.volume(disk_id)
        self.require_present(vol)
        self.refuse_if_write_protected(vol, "repair")
        if self.encryption.locked(vol):
            raise StorageError(f"{vol.id} is encrypted and locked: mount it with its password to repair it", 10)

        async def work(job: Job) -> str:
            async with self.held(vol, "repair"):
                job.step(5, "recording paused")
                options = footage_check.Options(repair=True, running=True,
                                                progress=lambda p, t: job.step(5 + p * 0.9, t))
                report = await asyncio.to_thread(footage_check.check, self.store, self.scope(vol), options)
            return report.summary() + "; recording resumed"
        return self.jobs.start(vol.id, "repair", actor, work)

    def format(self, disk_id: str, filesystem: str | None, actor: str) -> Job:
        vol = self.volume(disk_id)
        fs = filesystem or vol.filesystem
        self.refuse_if_write_protected(vol, "format")
        if fs not in self.capabilities(vol):
            raise StorageError(f"{vol.id} cannot be formatted with {fs!r}; choose "
                               f"{' or '.join(self.capabilities(vol))}", 30)
        if vol.kind == "local":
            self.require_present(vol)
        elif not (vol.mounted and self.share.online):
            raise StorageError("The network share must be bound, mounted and reachable to format it", 10)

        async def work(job: Job) -> str:
            async with self.held(vol, "format"):
                vol.mounted = False
                if vol.kind == "network":
                    async with self.network_shares.lock:
                        client = self.share.client
                        if client is None:
                            raise StorageError("The network share is not reachable", network.CONNECT_ERROR)
                        files = await asyncio.to_thread(client.clear, lambda p: job.step(p * 0.5, "clearing the share"))
                        self.share.remote.clear()
                        self.share.uploaded.clear()
                progress = lambda p, t: job.step(50 + p * 0.45, t)  # noqa: E731
                if vol.kind == "local":
                    recordings = await asyncio.to_thread(self.encryption.erase, vol, progress)
                    array = self.hw.array() if self.hw else None
                    vol.formatted_on = array.uuid if array else ""
                else:
                    recordings, _ = await asyncio.to_thread(tools.erase, self.store, vol.directory,
                                                            self.aliases(vol.id), progress)
                vol.filesystem = fs
                vol.mounted = True
                self.save()
            if vol.kind == "network":
                return f"Formatted: {recordings} recordings and {files} files on the share erased"
            return f"Formatted with {fs}: {recordings} recordings erased"
        return self.jobs.start(vol.id, "format", actor, work, f"format {vol.id} ({fs})")

    def change_raid(self, level: int, confirmed: bool, actor: str, filesystem: str = "ext4",
                    password: str | None = None) -> Job:
        """The manual's "Change RAID level" (also "Create a new RAID"): erases the volume, and
        with `password` ("Encrypt the disk") makes it encrypted."""
        vol = self.onboard()
        if not self.raid or vol is None or self.hw is None:
            raise StorageError("This device has no RAID", 1200)
        if level not in self.raid_levels:
            raise StorageError(f"RAID level raid{level} not supported; the levels are "
                               f"{', '.join(f'raid{n}' for n in self.raid_levels)}", 1201)
        working = [d.slot for d in self.hw.drives() if d.present and d.status != "failed"]
        problem = level_problem(level, len(working))
        if problem:
            raise StorageError(problem, 1201)
        self.refuse_if_write_protected(vol, "change the RAID level of")
        if filesystem not in FILESYSTEMS:
            raise StorageError(f"File system must be {' or '.join(FILESYSTEMS)}", 30)
        if password is not None:
            self.encryption.check_new(password)
        if not confirmed:
            raise StorageError("Changing the RAID level erases all recordings on the disks: confirm to go on", 1200)

        async def work(job: Job) -> str:
            assert self.hw is not None
            async with self.held(vol, "RAID change"):
                vol.mounted = False
                job.step(10, f"building RAID {level}")
                try:
                    array = await asyncio.to_thread(self.hw.create, level, working)
                except DiskError as err:
                    raise StorageError(str(err), 1202) from None
                recordings = await asyncio.to_thread(self.encryption.erase, vol,
                                                     lambda p, t: job.step(20 + p * 0.75, t), password)
                vol.formatted_on, vol.filesystem, vol.mounted = array.uuid, filesystem, True
                self.save()
            return (f"RAID configured: raid{level} over {len(working)} drives, {array.capacity // 10**9} GB, "
                    f"{'encrypted, ' if password is not None else ''}{recordings} recordings erased")
        return self.jobs.start(vol.id, "raid", actor, work, f"change RAID level of {vol.id} to raid{level}")

    def mount(self, disk_id: str, actor: str, password: str | None = None) -> Job:
        vol = self.volume(disk_id)
        if self._p(vol, "Enabled") != "yes":
            raise StorageError(f"{vol.id} is disabled", 10)
        if vol.kind == "local":
            self.require_present(vol)
        elif self.share_config() is None:
            raise StorageError("No network share is bound: bind one first", 300)

        if self.encryption.locked(vol) and not password:
            raise StorageError(f"{vol.id} is encrypted: mounting it needs its password", INVALID_PASSPHRASE)

        async def work(job: Job) -> str:
            if vol.kind == "local":
                if self.encryption.locked(vol):
                    await self.encryption.unlock(vol, password, job)
                self.mount_local(vol, actor)
            else:
                await self.network_shares.connect(raise_errors=True)
                vol.mounted = True
            self.refresh()
            return f"{vol.id} mounted"
        return self.jobs.start(vol.id, "mount", actor, work)

    def mount_local(self, vol: Volume, actor: str) -> None:
        array = self.hw.array() if self.hw else None
        if array is None:
            raise StorageError(f"{vol.id} has no drives", 10)
        if array.state == "failed":
            raise StorageError(f"The RAID of {vol.id} has failed; replace the broken drives and create a new RAID", 10)
        if vol.formatted_on != array.uuid:
            if self._p(vol, "RequiredFileSystem") != "ext4" or self.locked(vol):
                raise StorageError(f"{vol.id} is not formatted: format it first", 10)
            # Autoformat: a new drive is formatted with ext4 when it is mounted.
            self.encryption.erase(vol, lambda p, t: None)
            vol.formatted_on, vol.filesystem = array.uuid, "ext4"
            self.logs.audit(actor, f"autoformatted {vol.id} (ext4)", "storage")
            self.save()
        if self.encryption.locked(vol):
            raise StorageError(f"{vol.id} is encrypted: mounting it needs its password", INVALID_PASSPHRASE)
        vol.directory.mkdir(parents=True, exist_ok=True)
        vol.mounted = True

    def unmount(self, disk_id: str, actor: str) -> Job:
        vol = self.volume(disk_id)

        async def work(job: Job) -> str:
            async with self.held(vol, "unmount"):
                vol.mounted = False
                self.encryption.lock(vol)
            if vol.kind == "network":
                await self.network_shares.disconnect()
            return f"{vol.id} unmounted; recording to it has stopped"
        return self.jobs.start(vol.id, "unmount", actor, work)

    def set_write_protect(self, disk_id: str, on: bool, actor: str) -> None:
        vol = self.volume(disk_id)
        self.params.set_internal({f"{vol.group}.Locked": "yes" if on else "no"}, actor)

    def health_test(self, slot: int, actor: str) -> str:
        if self.hw is None:
            raise StorageError("This device has no drives", 10)
        try:
            result = self.hw.health_test(slot)
        except (DiskError, IndexError) as err:
            raise StorageError(str(err) or f"There is no bay {slot}", 20) from None
        self.logs.audit(actor, f"ran the health test of the drive in bay {slot + 1}: {result}", "storage")
        self.refresh()
        return result

    # -- running ---------------------------------------------------------------------------
    async def run(self) -> None:
        """Started with the device: resync progress, the network share's connection and copies."""
        self._loop = asyncio.get_running_loop()
        try:
            while True:
                await self.tick()
                with suppress(TimeoutError):
                    async with asyncio.timeout(LOOP_SECONDS):
                        await self._wake.wait()
                self._wake.clear()
        finally:
            await self.jobs.close()
            await self.network_shares.disconnect()

    async def tick(self) -> None:
        if self.hw is not None:
            await asyncio.to_thread(self.hw.poll)
        await self.network_shares.round()
        self.refresh()


STORAGE_SERVICE: Key[StorageService] = Key("storage")
