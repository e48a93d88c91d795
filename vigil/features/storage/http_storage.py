"""`POST /axis-cgi/storage.cgi` (JSON, Vigil's own): everything the Storage page shows and does,
in one API an integrator can use as well, and how its volumes and drives are presented.

Methods: getStatus, getJob, check, repair, format, changeRaidLevel (needs `confirm: true`;
`password` also encrypts), mount (`password` for an encrypted volume), unmount, encrypt and
decrypt (both erase the volume; `password`), changePassword (`oldPassword`, `newPassword`),
setWriteProtect, setRetention, healthTest, listNetworkShares,
addNetworkShare (tests the share first unless `addWithoutTesting`), modifyNetworkShare,
removeNetworkShare (unmounts, unbinds and removes), bindNetworkShare, unbindNetworkShare,
testNetworkShare. Tools return a job to poll with getJob.

testNetworkShare with `shareId` tests that stored share as stored (an operator may); with a
`share` object that gives any connection setting (address, share, user, password, version) it
is an administrator's, and the stored password goes only to the stored server (see
shares.settings_to_test).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.storage import network, tools
from vigil.features.storage.const import (
    CLEANUP_MAX_AGE,
    CLEANUP_POLICY,
    FRIENDLY_NAME,
    MAX_AGE_DAYS,
    NETWORK,
    OFFLINE_BUFFER_MB,
    RECORDING_ONGOING,
    REFUSED,
)
from vigil.features.storage.routes import Method, json_methods
from vigil.features.storage.shares import changes_connection, settings_to_test
from vigil.features.storage.tool_jobs import Job, StorageError
from vigil.footage import index
from vigil.hal.disks import drive_leds
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors

if TYPE_CHECKING:
    from vigil.device import Device
    from vigil.features.storage.service import StorageService
    from vigil.features.storage.volumes import Volume

PATH = "/axis-cgi/storage.cgi"
ERRORS = JsonErrors()
SHARE_FIELDS = ("id", "nicename", "address", "share", "user", "password", "version")
RAID_LEVEL = re.compile(r"(?:raid)?([0-9]{1,2})")


# -- presentation ------------------------------------------------------------------------------------
def drives_view(service: StorageService) -> list[dict]:
    if service.hw is None:
        return []
    drives = service.hw.drives()
    onboard = service.onboard()
    disrupted = service.disrupted(onboard) if onboard else False
    recording = (service.bus.state(RECORDING_ONGOING, {}) or {}).get("recording") == "1"
    leds = drive_leds(drives, service.hw.array(), service.raid, recording, disrupted)
    out = []
    for d in drives:
        led = leds[d.slot]
        out.append({"slot": d.slot, "bay": d.slot + 1, "status": d.status, "serialNumber": d.serial,
                    "model": d.model, "capacity": d.capacity, "temperature": d.temperature, "health": d.health,
                    "powerOnHours": d.power_on_hours,
                    "led": {"color": led.color, "blink": led.blink, "meaning": led.meaning}})
    return out


def volume_view(service: StorageService, vol: Volume) -> dict:
    def p(name: str) -> str:
        return service.params.get(f"{vol.group}.{name}")

    total, used, free = service.sizes(vol)
    problem = service.problem(vol)
    view = {"diskId": vol.id, "name": p(FRIENDLY_NAME), "group": vol.group.split(".")[-1],
            "kind": vol.kind, "status": service.status(vol), "mounted": vol.mounted, "fileSystem": vol.filesystem,
            "encrypted": vol.encrypted, "writeProtected": service.locked(vol), "busy": vol.paused,
            "recordingPossible": not problem, "problem": problem,
            "disruption": service.disrupted(vol), "totalBytes": total, "usedBytes": used, "freeBytes": free,
            "indexedBytes": index.used_bytes(service.store, service.aliases(vol.id)),
            "retentionDays": int(p(CLEANUP_MAX_AGE)),
            "cleanupPolicy": p(CLEANUP_POLICY),
            "fileSystems": list(service.capabilities(vol))}
    if vol.kind == "local" and service.hw is not None:
        array = service.hw.array()
        if array is not None:
            view["raid"] = {"level": array.level, "state": array.state, "members": list(array.members),
                            "syncProgress": array.sync_progress, "syncTimeRemaining": array.sync_remaining}
    if vol.kind == "network":
        s = service.share
        config = service.share_config()
        view["network"] = {
            "shareId": config.id if config else None, "online": s.online, "error": s.error, "smbVersion": s.dialect,
            "backlogBytes": service.backlog(), "localBytes": tools.disk_usage(vol.directory)[0],
            "offlineBufferMB": int(p(OFFLINE_BUFFER_MB)),
            "copiedBytes": s.uploaded_bytes,
            "copyMBps": round(s.uploaded_bytes / s.upload_seconds / 1e6, 1) if s.upload_seconds else None,
            "lastCopyLagSeconds": None if s.last_lag is None else round(s.last_lag, 2)}
    return view


def _share_view(service: StorageService, config: network.ShareConfig) -> dict:
    return config.public() | {"bound": config.id == service.bound}


# -- reading the parameters ------------------------------------------------------------------------
def _text(call: JsonCall, key: str, default: str | None = None) -> str:
    value = call.params.get(key, default)
    if value is None:
        raise JsonApiError(ERRORS.bad_params, f"Required parameter '{key}' missing")
    if not isinstance(value, str):
        raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be a string")
    return value


def _optional_text(call: JsonCall, key: str) -> str | None:
    return _text(call, key) if call.params.get(key) is not None else None


def _flag(call: JsonCall, key: str, default: bool | None = None) -> bool:
    value = call.params.get(key, default)
    if not isinstance(value, bool):
        raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be true or false")
    return value


def _integer(call: JsonCall, key: str, low: int, high: int, what: str) -> int:
    value = call.params.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be {what}")
    return value


def _share_fields(call: JsonCall) -> dict[str, str]:
    body = call.params.get("share")
    if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
        raise JsonApiError(ERRORS.bad_params, "Parameter 'share' must be an object of strings")
    unknown = set(body) - set(SHARE_FIELDS)
    if unknown:
        raise JsonApiError(ERRORS.bad_params, f"Unknown share fields: {', '.join(sorted(unknown))}")
    return body


def _share_from(service: StorageService, call: JsonCall) -> network.ShareConfig:
    """The `share` object over the stored share of its id (add): a password sent back masked is
    the stored one."""
    body = _share_fields(call)
    base = service.shares.get(body.get("id", ""))
    merged = {**(base.__dict__ if base else {}), **body}
    if merged.get("password") == network.MASKED and base is not None:
        merged["password"] = base.password
    merged.setdefault("nicename", merged.get("share", ""))
    return network.ShareConfig(**{k: merged.get(k, "") for k in SHARE_FIELDS} | {"version": merged.get("version")
                                                                                  or "auto"})


def _job_reply(start: Callable[[], Job]) -> dict[str, Any]:
    try:
        job = start()
    except StorageError as err:
        raise JsonApiError(REFUSED, str(err)) from None
    return {"job": job.public()}


def _refused(err: StorageError | ParamError) -> JsonApiError:
    return JsonApiError(REFUSED, str(err))


# -- methods -----------------------------------------------------------------------------------------
async def get_status(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {
        "volumes": [volume_view(service, v) for v in service.volumes.values()],
        "drives": drives_view(service),
        "raidLevels": list(service.raid_levels),
        "bays": service.hw.slots if service.hw else 0,
        "jobs": [j.public() for j in service.jobs.recent()[-10:]],
        "networkShares": [_share_view(service, s) for s in service.shares.values()]
        if NETWORK in service.volumes else None,
        "smbVersions": list(network.VERSIONS),
    }


async def get_job(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    job_id = call.params.get("jobId")
    job = service.jobs.get(job_id) if isinstance(job_id, int) and not isinstance(job_id, bool) else None
    if job is None:
        raise JsonApiError(REFUSED, f"No job {job_id!r}")
    return {"job": job.public()}


async def check(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk = _text(call, "diskId")
    return _job_reply(lambda: service.check(disk, who.name))


async def repair(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk = _text(call, "diskId")
    return _job_reply(lambda: service.repair(disk, who.name))


async def format_volume(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk, fs = _text(call, "diskId"), _text(call, "fileSystem", "") or None
    return _job_reply(lambda: service.format(disk, fs, who.name))


async def change_raid_level(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    raw = call.params.get("raidLevel")
    match = RAID_LEVEL.fullmatch(raw) if isinstance(raw, str) else None
    level = int(match[1]) if match else raw
    if not isinstance(level, int) or isinstance(level, bool):
        raise JsonApiError(ERRORS.bad_params, "Parameter 'raidLevel' must be 0, 1, 5, 6 or 10")
    confirm = _flag(call, "confirm", False)
    fs = _text(call, "fileSystem", "ext4")
    password = _text(call, "password", "") or None
    return _job_reply(lambda: service.change_raid(level, confirm, who.name, fs, password))


async def encrypt(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk, password = _text(call, "diskId"), _text(call, "password")
    return _job_reply(lambda: service.encryption.encrypt(disk, password, who.name))


async def decrypt(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk, password = _text(call, "diskId"), _text(call, "password")
    return _job_reply(lambda: service.encryption.decrypt(disk, password, who.name))


async def change_password(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk, old, new = _text(call, "diskId"), _text(call, "oldPassword"), _text(call, "newPassword")
    return _job_reply(lambda: service.encryption.change_password(disk, old, new, who.name))


async def mount(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk, password = _text(call, "diskId"), _optional_text(call, "password")
    return _job_reply(lambda: service.mount(disk, who.name, password))


async def unmount(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk = _text(call, "diskId")
    return _job_reply(lambda: service.unmount(disk, who.name))


async def set_write_protect(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk, on = _text(call, "diskId"), _flag(call, "enabled")
    try:
        service.set_write_protect(disk, on, who.name)
    except StorageError as err:
        raise _refused(err) from None
    return {"writeProtected": on}


async def set_retention(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    disk = _text(call, "diskId")
    days = _integer(call, "maxAgeDays", 0, MAX_AGE_DAYS, f"0 (until full) to {MAX_AGE_DAYS}")
    try:
        vol = service.volume(disk)
        service.params.set_internal({f"{vol.group}.{CLEANUP_MAX_AGE}": str(days),
                                     f"{vol.group}.{CLEANUP_POLICY}": "fifo"}, who.name)
    except (StorageError, ParamError) as err:
        raise _refused(err) from None
    return {"maxAgeDays": days}


async def health_test(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    slot = call.params.get("slot")
    if not isinstance(slot, int) or isinstance(slot, bool):
        raise JsonApiError(ERRORS.bad_params, "Parameter 'slot' must be a bay number (0-based)")
    bays = service.hw.slots if service.hw else 0
    if bays and not 0 <= slot < bays:  # (a negative index would name a bay from the end)
        raise JsonApiError(REFUSED, f"There is no bay {slot}; the bays are 0 to {bays - 1}")
    try:
        return {"slot": slot, "health": service.health_test(slot, who.name)}
    except StorageError as err:
        raise _refused(err) from None


async def list_network_shares(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"shares": [_share_view(service, s) for s in service.shares.values()]}


async def add_network_share(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    config = _share_from(service, call)
    without_test = _flag(call, "addWithoutTesting", False)
    bind = _flag(call, "bind", False)
    try:
        saved = await service.network_shares.add(config, who.name, test=not without_test)
        if bind:
            service.network_shares.bind(saved.id, who.name)
    except StorageError as err:
        raise _refused(err) from None
    return {"share": _share_view(service, saved)}


async def modify_network_share(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    changes = _share_fields(call)
    share_id = changes.pop("id", "")
    if changes.get("version") == "":
        changes["version"] = "auto"
    try:
        saved = service.network_shares.modify(share_id, changes, who.name)
    except StorageError as err:
        raise _refused(err) from None
    return {"share": saved.public()}


async def remove_network_share(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    share_id = _text(call, "shareId")
    try:
        if service.bound == share_id:
            if service.volumes[NETWORK].mounted:
                await service.jobs.wait(service.unmount(NETWORK, who.name))
            await service.network_shares.unbind(share_id, who.name)
        service.network_shares.remove([share_id], who.name)
    except StorageError as err:
        raise _refused(err) from None
    return {}


async def bind_network_share(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    share_id = _text(call, "shareId")
    try:
        return {"diskId": service.network_shares.bind(share_id, who.name)}
    except StorageError as err:
        raise _refused(err) from None


async def unbind_network_share(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    share_id = _text(call, "shareId")
    try:
        await service.network_shares.unbind(share_id, who.name)
    except StorageError as err:
        raise _refused(err) from None
    return {}


async def test_network_share(service: StorageService, call: JsonCall, who: Principal) -> dict[str, Any]:
    if "share" in call.params:
        given = _share_fields(call)
        if changes_connection(given) and who.role < Role.ADMIN:
            service.logs.access(f"{who.name} refused testNetworkShare with connection settings: needs "
                                f"{Role.ADMIN.label}")
            raise JsonApiError(REFUSED, "Testing a network share with other settings than the stored ones needs an "
                                        "administrator; test a stored share with 'shareId'")
        config = settings_to_test(service.shares.get(given.get("id", "")), given)
    else:
        stored = service.shares.get(_text(call, "shareId"))
        if stored is None:
            raise JsonApiError(REFUSED, "No such network share")
        config = settings_to_test(stored, {})
    return _job_reply(lambda: service.network_shares.test(config, who.name))


METHODS = {
    "getStatus": Method(get_status, Role.OPERATOR),
    "getJob": Method(get_job, Role.OPERATOR),
    "check": Method(check, Role.OPERATOR),
    "repair": Method(repair, Role.ADMIN),
    "format": Method(format_volume, Role.ADMIN),
    "mount": Method(mount, Role.ADMIN),
    "encrypt": Method(encrypt, Role.ADMIN),
    "decrypt": Method(decrypt, Role.ADMIN),
    "changePassword": Method(change_password, Role.ADMIN),
    "unmount": Method(unmount, Role.ADMIN),
    "setWriteProtect": Method(set_write_protect, Role.ADMIN),
    "setRetention": Method(set_retention, Role.ADMIN),
    "healthTest": Method(health_test, Role.OPERATOR),
}
RAID_METHODS = {  # where the device has a RAID
    "changeRaidLevel": Method(change_raid_level, Role.ADMIN),
}
SHARE_METHODS = {  # where the device has a NetworkShare volume
    "listNetworkShares": Method(list_network_shares, Role.OPERATOR),
    "addNetworkShare": Method(add_network_share, Role.ADMIN),
    "modifyNetworkShare": Method(modify_network_share, Role.ADMIN),
    "removeNetworkShare": Method(remove_network_share, Role.ADMIN),
    "bindNetworkShare": Method(bind_network_share, Role.ADMIN),
    "unbindNetworkShare": Method(unbind_network_share, Role.ADMIN),
    "testNetworkShare": Method(test_network_share, Role.OPERATOR),  # with connection settings: ADMIN (above)
}


def register(device: Device, service: StorageService) -> None:
    methods = dict(METHODS)
    if service.raid:
        methods |= RAID_METHODS
    if NETWORK in service.volumes:
        methods |= SHARE_METHODS
    device.router.json_api(PATH, ["1.0"], json_methods(service, PATH, methods), ERRORS)
    device.apis.append(Api("storage", "1.0", "Vigil storage: volumes, RAID, tools, network shares"))
