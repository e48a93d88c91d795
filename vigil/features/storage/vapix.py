"""The VAPIX storage APIs (edge storage: disk management, disk properties, network share) and
RAID management (`/axis-cgi/disks/raid.cgi`), over the storage service.

Form-style CGIs answer HTTP 200 with XML, errors included, as the VAPIX pages show. Sizes in
list.cgi are kB. Jobs (format, checkdisk, repair, mount, unmount) return a job id to poll
with job.cgi.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.storage import network
from vigil.features.storage.service import NETWORK, RAID_API_STATE, StorageService
from vigil.features.storage.tool_jobs import Job, StorageError
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, first, form_args

if TYPE_CHECKING:
    from vigil.device import Device

XML = "text/xml; charset=utf-8"
HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
XSI = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
RAID_ERRORS = JsonErrors(wrong_http_method=2107, bad_version=2104, unknown_method=2102, bad_json=2101,
                         bad_params=2103, internal=1100)


def _xml(body: str) -> Response:
    return Response(HEAD + body + "\n", media_type=XML)


def _root(schema: str, inner: str) -> Response:
    return _xml(f'<root {XSI} xsi:noNamespaceSchemaLocation="http://www.axis.com/vapix/http_cgi/disk/{schema}">'
                f"{inner}</root>")


def _attrs(**values: Any) -> str:
    return " ".join(f"{k}={quoteattr(str(v))}" for k, v in values.items())


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


def _job_started(action: str, disk_id: str, start) -> Response:
    try:
        job: Job = start()
    except StorageError as err:
        return _root("startjob1.xsd", f"<job {_attrs(action=action, diskid=disk_id, result='ERROR', description=str(err))}/>")
    return _root("startjob1.xsd", f"<job {_attrs(action=action, diskid=job.disk_id, result='OK', jobid=job.id)}/>")


def _share_reply(inner: str) -> Response:
    return _xml(f'<NetworkShareResponse SchemaVersion="1.0" {XSI} '
                f'xsi:noNamespaceSchemaLocation="http://www.axis.com/vapix/http_cgi/networkshare1.xsd">{inner}'
                "</NetworkShareResponse>")


def _share_error(code: int, description: str) -> Response:
    return _share_reply(f"<GeneralError><ErrorCode>{code}</ErrorCode><ErrorDescription>{_text(description)}"
                        "</ErrorDescription></GeneralError>")


def _properties_reply(inner: str) -> Response:
    return _xml('<DiskPropertiesResponse xmlns="http://www.axis.com/vapix/http_cgi/disks/properties1" '
                f'{XSI} SchemaVersion="1.0">{inner}</DiskPropertiesResponse>')


def _properties_error(code: int, description: str) -> Response:
    return _properties_reply(f"<Error><GeneralError><ErrorCode>{code}</ErrorCode><ErrorDescription>"
                             f"{_text(description)}</ErrorDescription></GeneralError></Error>")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _schema_ok(args: list[tuple[str, str]], required: bool = True) -> bool:
    version = first(args, "schemaversion")
    if version is None:
        return not required
    return version.split(".")[0] == "1"


def register(device: Device, service: StorageService) -> None:

    params = device.params

    def disk_xml(disk_id: str) -> str:
        vol = service.volume(disk_id)
        total, _used, free = service.sizes(vol)
        p = lambda name: params.get(f"{vol.group}.{name}")  # noqa: E731
        return "<disk " + _attrs(
            diskid=vol.id, name=p("FriendlyName"), totalsize=total // 1024, freesize=free // 1024,
            cleanuplevel=p("CleanupLevel"), cleanupmaxage=p("CleanupMaxAge"), cleanuppolicy=p("CleanupPolicyActive"),
            locked=_yes(service.locked(vol)), full=_yes(bool(total) and free <= 0), readonly="no",
            filesystem=vol.filesystem, status=service.status(vol), group=vol.group.split(".")[-1],
            requiredfilesystem=p("RequiredFileSystem"), diskencryptionenabled=str(vol.encryption_enabled).lower(),
            diskencrypted=str(vol.encrypted).lower()) + "/>"

    # -- disk management -----------------------------------------------------------------
    async def list_cgi(request: Request, who: Principal) -> Response:
        wanted = (first(await form_args(request), "diskid", "all") or "all").split(",")
        ids = list(service.volumes) if "all" in wanted else [d for d in wanted if service.resolve(d) in service.volumes]
        disks = "".join(disk_xml(d) for d in ids)
        return _root("list1.xsd", f'<disks numberofdisks="{len(ids)}">{disks}</disks>')

    async def format_cgi(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        disk_id = first(args, "diskid", "") or ""
        return _job_started("format", disk_id, lambda: service.format(disk_id, first(args, "filesystem"), who.name))

    async def checkdisk_cgi(request: Request, who: Principal) -> Response:
        disk_id = first(await form_args(request), "diskid", "") or ""
        return _job_started("checkdisk", disk_id, lambda: service.check(disk_id, who.name))

    async def repair_cgi(request: Request, who: Principal) -> Response:
        disk_id = first(await form_args(request), "diskid", "") or ""
        return _job_started("repair", disk_id, lambda: service.repair(disk_id, who.name))

    async def mount_cgi(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        disk_id, action = first(args, "diskid", "") or "", first(args, "action", "") or ""
        if action == "mount":
            # The password of an encrypted volume (Vigil's: VAPIX has no way to give it).
            password = first(args, "pwd") or first(args, "passphrase")
            return _job_started(action, disk_id, lambda: service.mount(disk_id, who.name, password))
        if action == "unmount":
            return _job_started(action, disk_id, lambda: service.unmount(disk_id, who.name))
        return _job_started(action or "N/A", disk_id, lambda: _refuse("action must be mount or unmount"))

    async def job_cgi(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        raw = first(args, "jobid", "") or ""
        job = service.jobs.get(int(raw)) if raw.isdigit() else None
        if job is None or job.action == "test":
            return _root("checkjob1.xsd", "<job " + _attrs(jobid=raw, diskid=first(args, "diskid", "") or "",
                                                          action="N/A", progress=100, result="ERROR",
                                                          description="No such job") + "/>")
        return _root("checkjob1.xsd", "<job " + _attrs(jobid=job.id, diskid=job.disk_id, action=job.action,
                                                      result=job.result, progress=job.progress,
                                                      description=job.description) + "/>")

    async def lock_cgi(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        disk_id, action = first(args, "diskid", "") or "", first(args, "action", "") or ""
        if action not in ("lock", "unlock"):
            return _root("lock1.xsd", f"<{action or 'lock'} {_attrs(diskid=disk_id, result='ERROR')} "
                                      'description="action must be lock or unlock"/>')
        try:
            service.set_write_protect(disk_id, action == "lock", who.name)
        except StorageError as err:
            return _root("lock1.xsd", f"<{action} {_attrs(diskid=disk_id, result='ERROR', description=str(err))}/>")
        return _root("lock1.xsd", f"<{action} {_attrs(diskid=service.resolve(disk_id), result='OK')}/>")

    async def capabilities_cgi(request: Request, who: Principal) -> Response:
        disk_id = first(await form_args(request), "diskid", "") or ""
        try:
            vol = service.volume(disk_id)
        except StorageError as err:
            return _root("capabilities1.xsd", f"<error {_attrs(code=err.code, description=str(err))}/>")
        systems = "".join(f"<filesystem {_attrs(name=fs, nicename=fs, requiredfssupported=str(fs == 'ext4').lower())}/>"
                          for fs in service.capabilities(vol))
        local = str(vol.kind == "local").lower()
        return _root("capabilities1.xsd", f"<disk {_attrs(diskid=vol.id, requiredfssupported=local)} "
                                          f'encryptionsupported="{local}"><filesystems>{systems}</filesystems></disk>')

    async def health_cgi(request: Request, who: Principal) -> Response:
        items = []
        for vol in service.volumes.values():
            alert = service._alert(vol)
            if vol.kind == "local":
                items.append("<HealthStatus " + _attrs(diskid=vol.id, wear=alert["wear"],
                                                       temperature=alert["temperature"],
                                                       overallhealth=alert["overall_health"]) + " />")
            else:
                items.append(f"<HealthStatus {_attrs(diskid=vol.id, wear=-1)} />")
        return _xml(f'<HealthStatusResponse {XSI} xsi:noNamespaceSchemaLocation='
                    f'"http://www.axis.com/vapix/http_cgi/disk/gethealth1.xsd"><HealthStatusSuccess>{"".join(items)}'
                    "</HealthStatusSuccess></HealthStatusResponse>")

    # -- disk properties -----------------------------------------------------------------
    def property_setter(param: str, arg: str, check):
        async def handler(request: Request, who: Principal) -> Response:
            args = await form_args(request)
            if not _schema_ok(args):
                return _properties_error(40, "Specified version is not supported")
            try:
                vol = service.volume(first(args, "diskid", "") or "")
            except StorageError as err:
                return _properties_error(50, str(err))
            value = first(args, arg)
            problem = check(value)
            if problem:
                return _properties_error(20, problem)
            params.set_internal({f"{vol.group}.{param}": value}, who.name)  # type: ignore[dict-item]
            return _properties_reply("<Success><GeneralSuccess /></Success>")
        return handler

    def _age(value: str | None) -> str | None:
        return None if value is not None and value.isdigit() and int(value) <= 7000 else "maxage is 0 to 7000 days"

    def _policy(value: str | None) -> str | None:
        return None if value in ("fifo", "none") else "cleanuppolicy is fifo or none"

    def _requiredfs(value: str | None) -> str | None:
        return None if value in ("none", "ext4") else "filesystem is none or ext4"

    # Disk encryption (disks/properties/*diskencryption.cgi, changediskpassphrase.cgi).
    def encryption_endpoint(act):
        """A handler that checks the schema version and disk, then runs `act(args, volume, who)`;
        a StorageError it raises is the reply's error code."""
        async def handler(request: Request, who: Principal) -> Response:
            args = await form_args(request)
            if not _schema_ok(args):
                return _properties_error(40, "Specified version is not supported")
            try:
                vol = service.encryption.volume(first(args, "diskid", "") or "")
            except StorageError as err:
                return _properties_error(err.code if err.code == 100 else 50, str(err))
            try:
                await act(args, vol, who)
            except StorageError as err:
                return _properties_error(err.code, str(err))
            return _properties_reply("<Success><GeneralSuccess /></Success>")
        return handler

    async def enable_encryption(args, vol, who: Principal) -> None:
        await service.encryption.enable(vol.id, first(args, "passphrase"), who.name)

    async def disable_encryption(args, vol, who: Principal) -> None:
        service.encryption.disable(vol.id, who.name)

    async def change_passphrase(args, vol, who: Principal) -> None:
        job = service.encryption.change_password(vol.id, first(args, "oldpassphrase"), first(args, "newpassphrase"),
                                                 who.name)
        await service.jobs.wait(job)
        if job.result == "ERROR":
            raise StorageError(job.description, job.code or 10)

    async def property_versions(request: Request, who: Principal) -> Response:
        return _properties_reply("<Success><SchemaVersionsSuccess><SchemaVersion><VersionNumber>1.1</VersionNumber>"
                                 "<Deprecated>false</Deprecated></SchemaVersion></SchemaVersionsSuccess></Success>")

    # -- network shares ------------------------------------------------------------------
    async def share_list(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        if not _schema_ok(args, required=False):
            return _share_error(40, "Specified version is not supported")
        wanted = (first(args, "shareid", "all") or "all").split(",")
        shares = [s for s in service.shares.values() if "all" in wanted or s.id in wanted]
        items = "".join("<NetworkShare " + _attrs(NiceName=s.nicename, ShareId=s.id, Address=s.address, Share=s.share,
                                                  User=s.user, SmbVersion=s.version)
                        + (f' DiskId="{NETWORK}"' if s.id == service.bound else "") + " />" for s in shares)
        return _share_reply(f'<ListSuccess><NetworkShares NumberOfShares="{len(shares)}">{items}</NetworkShares>'
                            "</ListSuccess>")

    def _config_from(args: list[tuple[str, str]], base: network.ShareConfig | None = None) -> network.ShareConfig:
        b = base or network.ShareConfig("", "", "", "")
        return network.ShareConfig(
            id=first(args, "shareid", b.id) or "", nicename=first(args, "nicename", b.nicename) or "",
            address=first(args, "address", b.address) or "", share=first(args, "share", b.share) or "",
            user=first(args, "user", b.user) or "", password=first(args, "pass", b.password) or "",
            version=first(args, "smbversion", b.version) or "auto")

    async def share_add(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        if not _schema_ok(args, required=False):
            return _share_error(40, "Specified version is not supported")
        for required in ("nicename", "address", "share"):
            if not first(args, required):
                return _share_error(20, f"Required parameter {required} missing")
        try:
            config = await service.add_share(_config_from(args), who.name, test=first(args, "test") == "yes")
        except StorageError as err:
            return _share_error(err.code, str(err))
        return _share_reply(f"<AddSuccess ShareId={quoteattr(config.id)} />")

    async def share_modify(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        share_id = first(args, "shareid", "") or ""
        names = {"nicename": "nicename", "address": "address", "share": "share", "user": "user", "pass": "password",
                 "smbversion": "version"}
        changes = {field: value for arg, field in names.items() if (value := first(args, arg)) is not None}
        try:
            service.modify_share(share_id, changes, who.name)
        except StorageError as err:
            return _share_error(err.code, str(err))
        return _share_reply("<GeneralSuccess />")

    async def share_remove(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            for share_id in (first(args, "shareid", "") or "").split(","):
                service.remove_share(share_id, who.name)
        except StorageError as err:
            return _share_error(err.code, str(err))
        return _share_reply("<GeneralSuccess />")

    async def share_bind(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            disk = service.bind(first(args, "shareid", "") or "", who.name, first(args, "automaticmount", "yes") != "no")
        except StorageError as err:
            return _share_error(err.code, str(err))
        return _share_reply(f'<BindSuccess DiskID="{disk}" />')

    async def share_unbind(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            await service.unbind(first(args, "shareid", "") or "", who.name)
        except StorageError as err:
            return _share_error(err.code, str(err))
        return _share_reply("<GeneralSuccess />")

    async def share_test(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        base = service.shares.get(first(args, "shareid", "") or "")
        config = _config_from(args, base)
        if not config.nicename:
            config.nicename = "test"
        try:
            job = service.test_share(config, who.name)
        except StorageError as err:
            return _share_error(err.code, str(err))
        return _share_reply(f'<TestSuccess JobId="{job.id}" />')

    async def share_job(request: Request, who: Principal) -> Response:
        raw = first(await form_args(request), "jobid", "") or ""
        job = service.jobs.get(int(raw)) if raw.isdigit() else None
        if job is None or job.action != "test":
            return _share_error(20, "No such job")
        if not job.done:
            return _share_reply(f"<JobSuccess><Progress>{job.progress}</Progress></JobSuccess>")
        if job.result == "OK":
            return _share_reply("<JobSuccess><GeneralSuccess /></JobSuccess>")
        return _share_reply(f"<JobSuccess><GeneralError><ErrorCode>{job.code}</ErrorCode><ErrorDescription>"
                            f"{_text(job.description)}</ErrorDescription></GeneralError></JobSuccess>")

    async def share_versions(request: Request, who: Principal) -> Response:
        return _share_reply("<SchemaVersionsSuccess><SchemaVersion><VersionNumber>1.0</VersionNumber>"
                            "<Deprecated>false</Deprecated></SchemaVersion></SchemaVersionsSuccess>")

    router = device.router
    add = router.add
    add("/axis-cgi/disks/list.cgi", list_cgi, Role.OPERATOR, kind="xml")
    add("/axis-cgi/disks/format.cgi", format_cgi, Role.ADMIN, kind="xml")
    add("/axis-cgi/disks/checkdisk.cgi", checkdisk_cgi, Role.OPERATOR, kind="xml")
    add("/axis-cgi/disks/repair.cgi", repair_cgi, Role.ADMIN, kind="xml")
    add("/axis-cgi/disks/mount.cgi", mount_cgi, Role.ADMIN, kind="xml")
    add("/axis-cgi/disks/job.cgi", job_cgi, Role.OPERATOR, kind="xml")
    add("/axis-cgi/disks/lock.cgi", lock_cgi, Role.ADMIN, kind="xml")
    add("/axis-cgi/disks/getcapabilities.cgi", capabilities_cgi, Role.OPERATOR, kind="xml")
    add("/axis-cgi/disks/gethealth.cgi", health_cgi, Role.OPERATOR, kind="xml")
    add("/axis-cgi/disks/properties/setcleanupmaxage.cgi", property_setter("CleanupMaxAge", "maxage", _age),
        Role.ADMIN, kind="xml")
    add("/axis-cgi/disks/properties/setcleanuppolicy.cgi",
        property_setter("CleanupPolicyActive", "cleanuppolicy", _policy), Role.ADMIN, kind="xml")
    add("/axis-cgi/disks/properties/setrequiredfs.cgi",
        property_setter("RequiredFileSystem", "filesystem", _requiredfs), Role.ADMIN, kind="xml")
    add("/axis-cgi/disks/properties/schemaversions.cgi", property_versions, Role.OPERATOR, kind="xml")
    if service.onboard() is not None:
        for name, act in (("enablediskencryption", enable_encryption), ("disablediskencryption", disable_encryption),
                          ("changediskpassphrase", change_passphrase)):
            add(f"/axis-cgi/disks/properties/{name}.cgi", encryption_endpoint(act), Role.ADMIN, kind="xml")
    if NETWORK in service.volumes:
        add("/axis-cgi/disks/networkshare/list.cgi", share_list, Role.OPERATOR, kind="xml")
        add("/axis-cgi/disks/networkshare/add.cgi", share_add, Role.ADMIN, kind="xml")
        add("/axis-cgi/disks/networkshare/modify.cgi", share_modify, Role.ADMIN, kind="xml")
        add("/axis-cgi/disks/networkshare/remove.cgi", share_remove, Role.ADMIN, kind="xml")
        add("/axis-cgi/disks/networkshare/bind.cgi", share_bind, Role.OPERATOR, kind="xml")
        add("/axis-cgi/disks/networkshare/unbind.cgi", share_unbind, Role.OPERATOR, kind="xml")
        add("/axis-cgi/disks/networkshare/test.cgi", share_test, Role.OPERATOR, kind="xml")
        add("/axis-cgi/disks/networkshare/job.cgi", share_job, Role.OPERATOR, kind="xml")
        add("/axis-cgi/disks/networkshare/schemaversions.cgi", share_versions, Role.OPERATOR, kind="xml")

    # -- RAID management (JSON) ----------------------------------------------------------
    if service.raid and service.hw is not None:
        hw = service.hw

        async def raid_status(call: JsonCall, who: Principal) -> dict[str, Any]:
            array = hw.array()
            components = [{"componentStatus": service._component_status(d), "componentId": str(d.slot),
                           "serialNumber": d.serial or "unknown", "capacity": d.capacity // 10**9}
                          for d in hw.drives()]
            if array is None:
                return {"raids": []}
            syncing = array.state == "syncing"
            progress = int(array.sync_progress) if syncing else (100 if array.state == "online" else 0)
            return {"raids": [{"status": RAID_API_STATE[array.state], "syncProgress": progress,
                               "syncTimeRemaining": int(array.sync_remaining) if syncing else 0,
                               "raidLevel": f"raid{array.level}", "components": components}]}

        async def raid_capabilities(call: JsonCall, who: Principal) -> dict[str, Any]:
            return {"raidLevels": [f"raid{n}" for n in service.raid_levels]}

        async def raid_recreate(call: JsonCall, who: Principal) -> dict[str, Any]:
            level = call.params.get("raidLevel")
            if not isinstance(level, str):
                raise JsonApiError(2103, "Required parameter 'raidLevel' missing")
            if not level.startswith("raid") or not level[4:].isdigit() or int(level[4:]) not in service.raid_levels:
                raise JsonApiError(1201, "RAID level not supported")
            onboard = service.onboard()
            if onboard is not None and onboard.mounted:
                # The explicit step VAPIX asks for: unmount (mount.cgi) before the RAID is replaced.
                raise JsonApiError(1200, "The RAID is mounted: unmount it with /axis-cgi/disks/mount.cgi first. "
                                         "Recreating the RAID erases all recordings on it")
            try:
                service.change_raid(int(level[4:]), True, who.name)
            except StorageError as err:
                raise JsonApiError(err.code if err.code in (1200, 1201, 1202) else 1200, str(err)) from None
            return {}

        router.json_api("/axis-cgi/disks/raid.cgi", ["1.0"], {
            "getStatus": JsonMethod(Role.OPERATOR, raid_status),
            "getCapabilities": JsonMethod(Role.OPERATOR, raid_capabilities),
            "recreateRaidOnAllComponents": JsonMethod(Role.ADMIN, raid_recreate),
            "getSupportedVersions": JsonMethod(Role.OPERATOR, _versions),
        }, RAID_ERRORS)
        device.apis.append(Api("raid", "1.0", "RAID Management"))
    device.apis.append(Api("disk-management", "1.0", "Disk management"))


async def _versions(call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"apiVersions": ["1.0"]}


def _refuse(message: str) -> Job:
    raise StorageError(message, 20)
