"""VAPIX disk management (`/axis-cgi/disks/*.cgi`): list the disks with their sizes (kB) and
settings, format, check, repair, mount and unmount them as jobs to poll with job.cgi, write
protect them (lock.cgi), and read their capabilities and health.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.storage.const import (
    CLEANUP_LEVEL,
    CLEANUP_MAX_AGE,
    CLEANUP_POLICY,
    FRIENDLY_NAME,
    INVALID_VALUE,
    REQUIRED_FS,
)
from vigil.features.storage.routes import Cgi, add_cgis, log_refused
from vigil.features.storage.tool_jobs import Job, StorageError
from vigil.features.storage.vapix_xml import XSI, attrs, disk_root, job_id, xml_reply, yes
from vigil.http.vapix import first, form_args

if TYPE_CHECKING:
    from vigil.device import Device
    from vigil.features.storage.service import StorageService


def _disk(service: StorageService, disk_id: str) -> str:
    vol = service.volume(disk_id)
    total, _used, free = service.sizes(vol)

    def p(name: str) -> str:
        return service.params.get(f"{vol.group}.{name}")

    return "<disk " + attrs(
        diskid=vol.id, name=p(FRIENDLY_NAME), totalsize=total // 1024, freesize=free // 1024,
        cleanuplevel=p(CLEANUP_LEVEL), cleanupmaxage=p(CLEANUP_MAX_AGE), cleanuppolicy=p(CLEANUP_POLICY),
        locked=yes(service.locked(vol)), full=yes(bool(total) and free <= 0), readonly="no",
        filesystem=vol.filesystem, status=service.status(vol), group=vol.group.split(".")[-1],
        requiredfilesystem=p(REQUIRED_FS), diskencryptionenabled=str(vol.encryption_enabled).lower(),
        diskencrypted=str(vol.encrypted).lower()) + "/>"


def _job_started(service: StorageService, who: Principal, action: str, disk_id: str,
                 start: Callable[[], Job]) -> Response:
    try:
        job = start()
    except StorageError as err:
        log_refused(service, who, f"disks {action} of {disk_id!r}", err)
        return disk_root("startjob1.xsd", f"<job {attrs(action=action, diskid=disk_id, result='ERROR', description=str(err))}/>")
    return disk_root("startjob1.xsd", f"<job {attrs(action=action, diskid=job.disk_id, result='OK', jobid=job.id)}/>")


def _refuse(message: str) -> Job:
    raise StorageError(message, INVALID_VALUE)


async def list_disks(service: StorageService, request: Request, who: Principal) -> Response:
    wanted = (first(await form_args(request), "diskid", "all") or "all").split(",")
    ids = list(service.volumes) if "all" in wanted else [d for d in wanted if service.resolve(d) in service.volumes]
    disks = "".join(_disk(service, d) for d in ids)
    return disk_root("list1.xsd", f'<disks numberofdisks="{len(ids)}">{disks}</disks>')


async def format_disk(service: StorageService, request: Request, who: Principal) -> Response:
    args = await form_args(request)
    disk_id = first(args, "diskid", "") or ""
    filesystem = first(args, "filesystem")
    return _job_started(service, who, "format", disk_id, lambda: service.format(disk_id, filesystem, who.name))


async def check_disk(service: StorageService, request: Request, who: Principal) -> Response:
    disk_id = first(await form_args(request), "diskid", "") or ""
    return _job_started(service, who, "checkdisk", disk_id, lambda: service.check(disk_id, who.name))


async def repair_disk(service: StorageService, request: Request, who: Principal) -> Response:
    disk_id = first(await form_args(request), "diskid", "") or ""
    return _job_started(service, who, "repair", disk_id, lambda: service.repair(disk_id, who.name))


async def mount_disk(service: StorageService, request: Request, who: Principal) -> Response:
    args = await form_args(request)
    disk_id, action = first(args, "diskid", "") or "", first(args, "action", "") or ""
    if action == "mount":
        # The password of an encrypted volume (Vigil's: VAPIX has no way to give it).
        password = first(args, "pwd") or first(args, "passphrase")
        return _job_started(service, who, action, disk_id, lambda: service.mount(disk_id, who.name, password))
    if action == "unmount":
        return _job_started(service, who, action, disk_id, lambda: service.unmount(disk_id, who.name))
    return _job_started(service, who, action or "N/A", disk_id, lambda: _refuse("action must be mount or unmount"))


async def disk_job(service: StorageService, request: Request, who: Principal) -> Response:
    args = await form_args(request)
    raw = first(args, "jobid", "") or ""
    number = job_id(raw)
    job = service.jobs.get(number) if number is not None else None
    if job is None or job.action == "test":
        return disk_root("checkjob1.xsd", "<job " + attrs(jobid=raw, diskid=first(args, "diskid", "") or "",
                                                          action="N/A", progress=100, result="ERROR",
                                                          description="No such job") + "/>")
    return disk_root("checkjob1.xsd", "<job " + attrs(jobid=job.id, diskid=job.disk_id, action=job.action,
                                                      result=job.result, progress=job.progress,
                                                      description=job.description) + "/>")


async def lock_disk(service: StorageService, request: Request, who: Principal) -> Response:
    args = await form_args(request)
    disk_id, action = first(args, "diskid", "") or "", first(args, "action", "") or ""
    if action not in ("lock", "unlock"):  # the reply's element is named after the action: never the caller's text
        log_refused(service, who, "lock.cgi", f"unknown action {action!r}")
        return disk_root("lock1.xsd", f"<lock {attrs(diskid=disk_id, result='ERROR')} "
                                      'description="action must be lock or unlock"/>')
    try:
        service.set_write_protect(disk_id, action == "lock", who.name)
    except StorageError as err:
        log_refused(service, who, f"lock.cgi {action} of {disk_id!r}", err)
        return disk_root("lock1.xsd", f"<{action} {attrs(diskid=disk_id, result='ERROR', description=str(err))}/>")
    return disk_root("lock1.xsd", f"<{action} {attrs(diskid=service.resolve(disk_id), result='OK')}/>")


async def disk_capabilities(service: StorageService, request: Request, who: Principal) -> Response:
    disk_id = first(await form_args(request), "diskid", "") or ""
    try:
        vol = service.volume(disk_id)
    except StorageError as err:
        return disk_root("capabilities1.xsd", f"<error {attrs(code=err.code, description=str(err))}/>")
    systems = "".join(f"<filesystem {attrs(name=fs, nicename=fs, requiredfssupported=str(fs == 'ext4').lower())}/>"
                      for fs in service.capabilities(vol))
    local = str(vol.kind == "local").lower()
    return disk_root("capabilities1.xsd", f"<disk {attrs(diskid=vol.id, requiredfssupported=local)} "
                                          f'encryptionsupported="{local}"><filesystems>{systems}</filesystems></disk>')


async def disk_health(service: StorageService, request: Request, who: Principal) -> Response:
    items = []
    for vol in service.volumes.values():
        alert = service._alert(vol)
        if vol.kind == "local":
            items.append("<HealthStatus " + attrs(diskid=vol.id, wear=alert["wear"], temperature=alert["temperature"],
                                                  overallhealth=alert["overall_health"]) + " />")
        else:
            items.append(f"<HealthStatus {attrs(diskid=vol.id, wear=-1)} />")
    return xml_reply(f'<HealthStatusResponse {XSI} xsi:noNamespaceSchemaLocation='
                     f'"http://www.axis.com/vapix/http_cgi/disk/gethealth1.xsd"><HealthStatusSuccess>{"".join(items)}'
                     "</HealthStatusSuccess></HealthStatusResponse>")


ROUTES = (
    Cgi("/axis-cgi/disks/list.cgi", list_disks, Role.OPERATOR),
    Cgi("/axis-cgi/disks/format.cgi", format_disk, Role.ADMIN),
    Cgi("/axis-cgi/disks/checkdisk.cgi", check_disk, Role.OPERATOR),
    Cgi("/axis-cgi/disks/repair.cgi", repair_disk, Role.ADMIN),
    Cgi("/axis-cgi/disks/mount.cgi", mount_disk, Role.ADMIN),
    Cgi("/axis-cgi/disks/job.cgi", disk_job, Role.OPERATOR),
    Cgi("/axis-cgi/disks/lock.cgi", lock_disk, Role.ADMIN),
    Cgi("/axis-cgi/disks/getcapabilities.cgi", disk_capabilities, Role.OPERATOR),
    Cgi("/axis-cgi/disks/gethealth.cgi", disk_health, Role.OPERATOR),
)


def register(device: Device, service: StorageService) -> None:
    add_cgis(device, service, ROUTES)
    device.apis.append(Api("disk-management", "1.0", "Disk management"))
