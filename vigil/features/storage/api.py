"""`POST /axis-cgi/storage.cgi` (JSON, Vigil's own): everything the Storage page shows and does,
in one API an integrator can use as well.

Methods: getStatus, getJob, check, repair, format, changeRaidLevel (needs `confirm: true`;
`password` also encrypts), mount (`password` for an encrypted volume), unmount, encrypt and
decrypt (both erase the volume; `password`), changePassword (`oldPassword`, `newPassword`),
setWriteProtect, setRetention, healthTest, listNetworkShares,
addNetworkShare (tests the share first unless `addWithoutTesting`), modifyNetworkShare,
removeNetworkShare (unmounts, unbinds and removes), bindNetworkShare, unbindNetworkShare,
testNetworkShare. Tools return a job to poll with getJob.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.storage import network
from vigil.features.storage.service import NETWORK, StorageService
from vigil.features.storage.tool_jobs import Job, StorageError
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors()
REFUSED = 1000  # the request is understood but refused: the message says why


def register(device: Device, service: StorageService) -> None:

    def text(call: JsonCall, key: str, default: str | None = None) -> str:
        value = call.params.get(key, default)
        if value is None:
            raise JsonApiError(ERRORS.bad_params, f"Required parameter '{key}' missing")
        if not isinstance(value, str):
            raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be a string")
        return value

    def flag(call: JsonCall, key: str, default: bool | None = None) -> bool:
        value = call.params.get(key, default)
        if not isinstance(value, bool):
            raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be true or false")
        return value

    def job_reply(start) -> dict[str, Any]:
        try:
            job: Job = start()
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None
        return {"job": job.public()}

    async def status(call: JsonCall, who: Principal) -> dict[str, Any]:
        return {
            "volumes": [service.volume_view(v) for v in service.volumes.values()],
            "drives": service.drives_view(),
            "raidLevels": list(service.raid_levels),
            "bays": service.hw.slots if service.hw else 0,
            "jobs": [j.public() for j in service.jobs.recent()[-10:]],
            "networkShares": [s.public() | {"bound": s.id == service.bound} for s in service.shares.values()]
            if NETWORK in service.volumes else None,
            "smbVersions": list(network.VERSIONS),
        }

    async def get_job(call: JsonCall, who: Principal) -> dict[str, Any]:
        job_id = call.params.get("jobId")
        job = service.jobs.get(job_id) if isinstance(job_id, int) else None
        if job is None:
            raise JsonApiError(REFUSED, f"No job {job_id!r}")
        return {"job": job.public()}

    async def check(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk = text(call, "diskId")
        return job_reply(lambda: service.check(disk, who.name))

    async def repair(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk = text(call, "diskId")
        return job_reply(lambda: service.repair(disk, who.name))

    async def format_(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk, fs = text(call, "diskId"), text(call, "fileSystem", "") or None
        return job_reply(lambda: service.format(disk, fs, who.name))

    async def change_raid(call: JsonCall, who: Principal) -> dict[str, Any]:
        level = call.params.get("raidLevel")
        if isinstance(level, str) and level.removeprefix("raid").isdigit():
            level = int(level.removeprefix("raid"))
        if not isinstance(level, int):
            raise JsonApiError(ERRORS.bad_params, "Parameter 'raidLevel' must be 0, 1, 5, 6 or 10")
        confirm = flag(call, "confirm", False)
        fs = text(call, "fileSystem", "ext4")
        password = text(call, "password", "") or None
        return job_reply(lambda: service.change_raid(level, confirm, who.name, fs, password))

    async def encrypt(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk, password = text(call, "diskId"), text(call, "password")
        return job_reply(lambda: service.encryption.encrypt(disk, password, who.name))

    async def decrypt(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk, password = text(call, "diskId"), text(call, "password")
        return job_reply(lambda: service.encryption.decrypt(disk, password, who.name))

    async def change_password(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk, old, new = text(call, "diskId"), text(call, "oldPassword"), text(call, "newPassword")
        return job_reply(lambda: service.encryption.change_password(disk, old, new, who.name))

    async def mount(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk = text(call, "diskId")
        password = call.params.get("password")
        return job_reply(lambda: service.mount(disk, who.name, password if isinstance(password, str) else None))

    async def unmount(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk = text(call, "diskId")
        return job_reply(lambda: service.unmount(disk, who.name))

    async def write_protect(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk, on = text(call, "diskId"), flag(call, "enabled")
        try:
            service.set_write_protect(disk, on, who.name)
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None
        return {"writeProtected": on}

    async def retention(call: JsonCall, who: Principal) -> dict[str, Any]:
        disk = text(call, "diskId")
        days = call.params.get("maxAgeDays")
        if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 7000:
            raise JsonApiError(ERRORS.bad_params, "Parameter 'maxAgeDays' must be 0 (until full) to 7000")
        try:
            vol = service.volume(disk)
            device.params.set_internal({f"{vol.group}.CleanupMaxAge": str(days),
                                        f"{vol.group}.CleanupPolicyActive": "fifo"}, who.name)
        except (StorageError, ParamError) as err:
            raise JsonApiError(REFUSED, str(err)) from None
        return {"maxAgeDays": days}

    async def health(call: JsonCall, who: Principal) -> dict[str, Any]:
        slot = call.params.get("slot")
        if not isinstance(slot, int) or isinstance(slot, bool):
            raise JsonApiError(ERRORS.bad_params, "Parameter 'slot' must be a bay number (0-based)")
        try:
            return {"slot": slot, "health": service.health_test(slot, who.name)}
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None

    def share_from(call: JsonCall) -> network.ShareConfig:
        body = call.params.get("share")
        if not isinstance(body, dict) or not all(isinstance(v, str) for v in body.values()):
            raise JsonApiError(ERRORS.bad_params, "Parameter 'share' must be an object of strings")
        known = {"id", "nicename", "address", "share", "user", "password", "version"}
        if set(body) - known:
            raise JsonApiError(ERRORS.bad_params, f"Unknown share fields: {', '.join(sorted(set(body) - known))}")
        base = service.shares.get(body.get("id", ""))
        merged = {**(base.__dict__ if base else {}), **body}
        if merged.get("password") == "******" and base is not None:
            merged["password"] = base.password
        merged.setdefault("nicename", merged.get("share", ""))
        return network.ShareConfig(**{k: merged.get(k, "") for k in known} | {"version": merged.get("version") or
                                                                               "auto"})

    async def list_shares(call: JsonCall, who: Principal) -> dict[str, Any]:
        return {"shares": [s.public() | {"bound": s.id == service.bound} for s in service.shares.values()]}

    async def add_share(call: JsonCall, who: Principal) -> dict[str, Any]:
        config = share_from(call)
        without_test = flag(call, "addWithoutTesting", False)
        bind = flag(call, "bind", False)
        try:
            saved = await service.add_share(config, who.name, test=not without_test)
            if bind:
                service.bind(saved.id, who.name)
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None
        return {"share": saved.public() | {"bound": saved.id == service.bound}}

    async def modify_share(call: JsonCall, who: Principal) -> dict[str, Any]:
        config = share_from(call)
        try:
            saved = service.modify_share(config.id, {k: v for k, v in config.__dict__.items() if k != "id"}, who.name)
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None
        return {"share": saved.public()}

    async def remove_share(call: JsonCall, who: Principal) -> dict[str, Any]:
        share_id = text(call, "shareId")
        try:
            if service.bound == share_id:
                vol = service.volumes[NETWORK]
                if vol.mounted:
                    await service.jobs.wait(service.unmount(NETWORK, who.name))
                await service.unbind(share_id, who.name)
            service.remove_share(share_id, who.name)
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None
        return {}

    async def bind_share(call: JsonCall, who: Principal) -> dict[str, Any]:
        share_id = text(call, "shareId")
        try:
            return {"diskId": service.bind(share_id, who.name)}
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None

    async def unbind_share(call: JsonCall, who: Principal) -> dict[str, Any]:
        share_id = text(call, "shareId")
        try:
            await service.unbind(share_id, who.name)
        except StorageError as err:
            raise JsonApiError(REFUSED, str(err)) from None
        return {}

    async def test_share(call: JsonCall, who: Principal) -> dict[str, Any]:
        if "share" in call.params:
            config = share_from(call)
        else:
            config = service.shares.get(text(call, "shareId"))  # type: ignore[assignment]
            if config is None:
                raise JsonApiError(REFUSED, "No such network share")
        return job_reply(lambda: service.test_share(config, who.name))

    methods = {
        "getStatus": JsonMethod(Role.OPERATOR, status),
        "getJob": JsonMethod(Role.OPERATOR, get_job),
        "check": JsonMethod(Role.OPERATOR, check),
        "repair": JsonMethod(Role.ADMIN, repair),
        "format": JsonMethod(Role.ADMIN, format_),
        "mount": JsonMethod(Role.ADMIN, mount),
        "encrypt": JsonMethod(Role.ADMIN, encrypt),
        "decrypt": JsonMethod(Role.ADMIN, decrypt),
        "changePassword": JsonMethod(Role.ADMIN, change_password),
        "unmount": JsonMethod(Role.ADMIN, unmount),
        "setWriteProtect": JsonMethod(Role.ADMIN, write_protect),
        "setRetention": JsonMethod(Role.ADMIN, retention),
        "healthTest": JsonMethod(Role.OPERATOR, health),
    }
    if service.raid:
        methods["changeRaidLevel"] = JsonMethod(Role.ADMIN, change_raid)
    if NETWORK in service.volumes:
        methods |= {
            "listNetworkShares": JsonMethod(Role.OPERATOR, list_shares),
            "addNetworkShare": JsonMethod(Role.ADMIN, add_share),
            "modifyNetworkShare": JsonMethod(Role.ADMIN, modify_share),
            "removeNetworkShare": JsonMethod(Role.ADMIN, remove_share),
            "bindNetworkShare": JsonMethod(Role.ADMIN, bind_share),
            "unbindNetworkShare": JsonMethod(Role.ADMIN, unbind_share),
            "testNetworkShare": JsonMethod(Role.OPERATOR, test_share),
        }
    device.router.json_api("/axis-cgi/storage.cgi", ["1.0"], methods, ERRORS)
    device.apis.append(Api("storage", "1.0", "Vigil storage: volumes, RAID, tools, network shares"))
