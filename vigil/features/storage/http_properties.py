"""VAPIX disk properties (`/axis-cgi/disks/properties/*.cgi`): a volume's retention (cleanup
maximum age and policy), autoformat (required file system), and disk encryption (enable,
disable, change the passphrase; the onboard volume only). Errors are `<GeneralError>` codes of
this API (const.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.storage.const import (
    CLEANUP_MAX_AGE,
    CLEANUP_POLICIES,
    CLEANUP_POLICY,
    GENERAL_ERROR,
    INVALID_VALUE,
    MAX_AGE_DAYS,
    NO_SUCH_DISK,
    NOT_SUPPORTED,
    REQUIRED_FILESYSTEMS,
    REQUIRED_FS,
    UNSUPPORTED_SCHEMA,
)
from vigil.features.storage.routes import Cgi, add_cgis, log_refused
from vigil.features.storage.tool_jobs import StorageError
from vigil.features.storage.vapix_xml import XSI, escape, number, schema_ok, xml_reply
from vigil.http.vapix import first, form_args

if TYPE_CHECKING:
    from vigil.device import Device
    from vigil.features.storage.service import StorageService
    from vigil.features.storage.volumes import Volume

Args = list[tuple[str, str]]
SUCCESS = "<Success><GeneralSuccess /></Success>"


def _reply(inner: str) -> Response:
    return xml_reply('<DiskPropertiesResponse xmlns="http://www.axis.com/vapix/http_cgi/disks/properties1" '
                     f'{XSI} SchemaVersion="1.0">{inner}</DiskPropertiesResponse>')


def _refused(service: StorageService, request: Request, who: Principal, code: int, description: str) -> Response:
    log_refused(service, who, request.url.path, description)
    return _error(code, description)


def _error(code: int, description: str) -> Response:
    return _reply(f"<Error><GeneralError><ErrorCode>{code}</ErrorCode><ErrorDescription>{escape(description)}"
                  "</ErrorDescription></GeneralError></Error>")


# -- retention and autoformat -------------------------------------------------------------------
async def _set_property(service: StorageService, request: Request, who: Principal, param: str, arg: str,
                        problem: Callable[[str | None], str | None]) -> Response:
    """Set the volume's parameter `param` to the argument `arg` unless `problem` finds one."""
    args = await form_args(request)
    if not schema_ok(args):
        return _error(UNSUPPORTED_SCHEMA, "Specified version is not supported")
    try:
        vol = service.volume(first(args, "diskid", "") or "")
    except StorageError as err:
        return _refused(service, request, who, NO_SUCH_DISK, str(err))
    value = first(args, arg)
    why = problem(value)
    if value is None or why:
        return _refused(service, request, who, INVALID_VALUE, why or f"{arg} is missing")
    service.params.set_internal({f"{vol.group}.{param}": value}, who.name)
    return _reply(SUCCESS)


def _max_age_problem(value: str | None) -> str | None:
    days = number(value, len(str(MAX_AGE_DAYS)))
    return None if days is not None and days <= MAX_AGE_DAYS else f"maxage is 0 to {MAX_AGE_DAYS} days"


async def set_cleanup_max_age(service: StorageService, request: Request, who: Principal) -> Response:
    return await _set_property(service, request, who, CLEANUP_MAX_AGE, "maxage", _max_age_problem)


async def set_cleanup_policy(service: StorageService, request: Request, who: Principal) -> Response:
    return await _set_property(service, request, who, CLEANUP_POLICY, "cleanuppolicy",
                               lambda v: None if v in CLEANUP_POLICIES else "cleanuppolicy is fifo or none")


async def set_required_fs(service: StorageService, request: Request, who: Principal) -> Response:
    return await _set_property(service, request, who, REQUIRED_FS, "filesystem",
                               lambda v: None if v in REQUIRED_FILESYSTEMS else "filesystem is none or ext4")


async def schema_versions(service: StorageService, request: Request, who: Principal) -> Response:
    return _reply("<Success><SchemaVersionsSuccess><SchemaVersion><VersionNumber>1.1</VersionNumber>"
                  "<Deprecated>false</Deprecated></SchemaVersion></SchemaVersionsSuccess></Success>")


# -- disk encryption ------------------------------------------------------------------------------
async def _encryption_call(service: StorageService, request: Request, who: Principal,
                           act: Callable[[Args, Volume], Awaitable[None]]) -> Response:
    """Check the schema version and the disk, then `act(args, volume)`; a StorageError it raises
    is the reply's error code."""
    args = await form_args(request)
    if not schema_ok(args):
        return _error(UNSUPPORTED_SCHEMA, "Specified version is not supported")
    try:
        vol = service.encryption.volume(first(args, "diskid", "") or "")
    except StorageError as err:
        return _refused(service, request, who, err.code if err.code == NOT_SUPPORTED else NO_SUCH_DISK, str(err))
    try:
        await act(args, vol)
    except StorageError as err:
        return _refused(service, request, who, err.code, str(err))
    return _reply(SUCCESS)


async def enable_encryption(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args, vol: Volume) -> None:
        await service.encryption.enable(vol.id, first(args, "passphrase"), who.name)
    return await _encryption_call(service, request, who, act)


async def disable_encryption(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args, vol: Volume) -> None:
        service.encryption.disable(vol.id, who.name)
    return await _encryption_call(service, request, who, act)


async def change_passphrase(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args, vol: Volume) -> None:
        job = service.encryption.change_password(vol.id, first(args, "oldpassphrase"), first(args, "newpassphrase"),
                                                 who.name)
        await service.jobs.wait(job)
        if job.result == "ERROR":
            raise StorageError(job.description, job.code or GENERAL_ERROR)
    return await _encryption_call(service, request, who, act)


ROUTES = (
    Cgi("/axis-cgi/disks/properties/setcleanupmaxage.cgi", set_cleanup_max_age, Role.ADMIN),
    Cgi("/axis-cgi/disks/properties/setcleanuppolicy.cgi", set_cleanup_policy, Role.ADMIN),
    Cgi("/axis-cgi/disks/properties/setrequiredfs.cgi", set_required_fs, Role.ADMIN),
    Cgi("/axis-cgi/disks/properties/schemaversions.cgi", schema_versions, Role.OPERATOR),
)
ENCRYPTION_ROUTES = (  # where there is an onboard volume
    Cgi("/axis-cgi/disks/properties/enablediskencryption.cgi", enable_encryption, Role.ADMIN),
    Cgi("/axis-cgi/disks/properties/disablediskencryption.cgi", disable_encryption, Role.ADMIN),
    Cgi("/axis-cgi/disks/properties/changediskpassphrase.cgi", change_passphrase, Role.ADMIN),
)


def register(device: Device, service: StorageService) -> None:
    add_cgis(device, service, ROUTES)
    if service.onboard() is not None:
        add_cgis(device, service, ENCRYPTION_ROUTES)
