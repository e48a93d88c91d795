"""VAPIX network share (`/axis-cgi/disks/networkshare/*.cgi`): list, add, modify and remove
shares, bind one to the NetworkShare disk and unbind it, and test a connection as a job polled
with job.cgi. Replies are `<NetworkShareResponse>`; errors are this API's codes (const.py).

Roles: listing, testing a stored share as stored, and polling a test are an operator's; every
change, binding included, and a test with any connection setting given (address, share, user,
pass, smbversion) are an administrator's: such a test sends a user name and password to an
address of the caller's choosing. The stored password goes only to its own server (see
shares.settings_to_test).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.storage import network
from vigil.features.storage.const import INVALID_VALUE, NETWORK, UNSUPPORTED_SCHEMA
from vigil.features.storage.routes import Cgi, add_cgis, log_refused
from vigil.features.storage.shares import changes_connection, settings_to_test
from vigil.features.storage.tool_jobs import StorageError
from vigil.features.storage.vapix_xml import XSI, attrs, escape, job_id, schema_ok, xml_reply
from vigil.http.routing import refuse
from vigil.http.vapix import first, form_args

if TYPE_CHECKING:
    from vigil.device import Device
    from vigil.features.storage.service import StorageService

Args = list[tuple[str, str]]
FIELDS = {"nicename": "nicename", "address": "address", "share": "share", "user": "user", "pass": "password",
          "smbversion": "version"}  # argument -> ShareConfig field


def _reply(inner: str) -> Response:
    return xml_reply(f'<NetworkShareResponse SchemaVersion="1.0" {XSI} '
                     f'xsi:noNamespaceSchemaLocation="http://www.axis.com/vapix/http_cgi/networkshare1.xsd">{inner}'
                     "</NetworkShareResponse>")


def _error(code: int, description: str) -> Response:
    return _reply(f"<GeneralError><ErrorCode>{code}</ErrorCode><ErrorDescription>{escape(description)}"
                  "</ErrorDescription></GeneralError>")


def _given(args: Args) -> dict[str, str]:
    """The share fields the arguments give."""
    return {field: value for arg, field in FIELDS.items() if (value := first(args, arg)) is not None}


async def _share_call(service: StorageService, request: Request, who: Principal,
                      act: Callable[[Args], Awaitable[str]]) -> Response:
    """Read the arguments, check the schema version, run `act(args)`; its text is the success
    reply, a StorageError it raises the error reply (and a system log entry)."""
    args = await form_args(request)
    if not schema_ok(args, required=False):
        return _error(UNSUPPORTED_SCHEMA, "Specified version is not supported")
    try:
        return _reply(await act(args))
    except StorageError as err:
        log_refused(service, who, request.url.path, err)
        return _error(err.code, str(err))


async def list_shares(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args) -> str:
        wanted = (first(args, "shareid", "all") or "all").split(",")
        shares = [s for s in service.shares.values() if "all" in wanted or s.id in wanted]
        items = "".join("<NetworkShare " + attrs(NiceName=s.nicename, ShareId=s.id, Address=s.address, Share=s.share,
                                                 User=s.user, SmbVersion=s.version)
                        + (f' DiskId="{NETWORK}"' if s.id == service.bound else "") + " />" for s in shares)
        return f'<ListSuccess><NetworkShares NumberOfShares="{len(shares)}">{items}</NetworkShares></ListSuccess>'
    return await _share_call(service, request, who, act)


async def add_share(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args) -> str:
        for required in ("nicename", "address", "share"):
            if not first(args, required):
                raise StorageError(f"Required parameter {required} missing", INVALID_VALUE)
        config = network.ShareConfig(**({"id": first(args, "shareid", "") or "", "nicename": "", "address": "",
                                          "share": ""} | _given(args)))
        config.version = config.version or "auto"
        saved = await service.network_shares.add(config, who.name, test=first(args, "test") == "yes")
        return f"<AddSuccess {attrs(ShareId=saved.id)} />"
    return await _share_call(service, request, who, act)


async def modify_share(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args) -> str:
        service.network_shares.modify(first(args, "shareid", "") or "", _given(args), who.name)
        return "<GeneralSuccess />"
    return await _share_call(service, request, who, act)


async def remove_share(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args) -> str:
        service.network_shares.remove((first(args, "shareid", "") or "").split(","), who.name)
        return "<GeneralSuccess />"
    return await _share_call(service, request, who, act)


async def bind_share(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args) -> str:
        disk = service.network_shares.bind(first(args, "shareid", "") or "", who.name,
                                           first(args, "automaticmount", "yes") != "no")
        return f'<BindSuccess DiskID="{disk}" />'
    return await _share_call(service, request, who, act)


async def unbind_share(service: StorageService, request: Request, who: Principal) -> Response:
    async def act(args: Args) -> str:
        await service.network_shares.unbind(first(args, "shareid", "") or "", who.name)
        return "<GeneralSuccess />"
    return await _share_call(service, request, who, act)


async def test_share(service: StorageService, request: Request, who: Principal) -> Response:
    args = await form_args(request)
    if changes_connection(_given(args)):
        refusal = refuse(request, who, Role.ADMIN)
        if refusal is not None:
            return refusal

    async def act(args: Args) -> str:
        share_id = first(args, "shareid", "") or ""
        stored = service.shares.get(share_id)
        given = _given(args)
        if stored is None and share_id and not changes_connection(given):
            raise StorageError(f"There is no network share {share_id!r}", INVALID_VALUE)
        job = service.network_shares.test(settings_to_test(stored, {"id": share_id, **given}), who.name)
        return f'<TestSuccess JobId="{job.id}" />'
    return await _share_call(service, request, who, act)


async def test_job(service: StorageService, request: Request, who: Principal) -> Response:
    number = job_id(first(await form_args(request), "jobid", "") or "")
    job = service.jobs.get(number) if number is not None else None
    if job is None or job.action != "test":
        return _error(INVALID_VALUE, "No such job")
    if not job.done:
        return _reply(f"<JobSuccess><Progress>{job.progress}</Progress></JobSuccess>")
    if job.result == "OK":
        return _reply("<JobSuccess><GeneralSuccess /></JobSuccess>")
    return _reply(f"<JobSuccess><GeneralError><ErrorCode>{job.code}</ErrorCode><ErrorDescription>"
                  f"{escape(job.description)}</ErrorDescription></GeneralError></JobSuccess>")


async def schema_versions(service: StorageService, request: Request, who: Principal) -> Response:
    return _reply("<SchemaVersionsSuccess><SchemaVersion><VersionNumber>1.0</VersionNumber>"
                  "<Deprecated>false</Deprecated></SchemaVersion></SchemaVersionsSuccess>")


ROUTES = (  # where the device has a NetworkShare volume
    Cgi("/axis-cgi/disks/networkshare/list.cgi", list_shares, Role.OPERATOR),
    Cgi("/axis-cgi/disks/networkshare/add.cgi", add_share, Role.ADMIN),
    Cgi("/axis-cgi/disks/networkshare/modify.cgi", modify_share, Role.ADMIN),
    Cgi("/axis-cgi/disks/networkshare/remove.cgi", remove_share, Role.ADMIN),
    Cgi("/axis-cgi/disks/networkshare/bind.cgi", bind_share, Role.ADMIN),
    Cgi("/axis-cgi/disks/networkshare/unbind.cgi", unbind_share, Role.ADMIN),
    Cgi("/axis-cgi/disks/networkshare/test.cgi", test_share, Role.OPERATOR),  # with settings: ADMIN (above)
    Cgi("/axis-cgi/disks/networkshare/job.cgi", test_job, Role.OPERATOR),
    Cgi("/axis-cgi/disks/networkshare/schemaversions.cgi", schema_versions, Role.OPERATOR),
)


def register(device: Device, service: StorageService) -> None:
    if NETWORK in service.volumes:
        add_cgis(device, service, ROUTES)
