"""The firmware management API (`/axis-cgi/firmwaremanagement.cgi`, discovery id `fwmgr`,
vapix.md §8): JSON methods, and `upgrade` as multipart/form-data (a `json` part, then the
`file` part); and the classic `firmwareupgrade.cgi` (one file part, `type=normal|factorydefault`,
replies `OK` or `Error: ...`). Administrators only; every refusal is logged."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.firmware import const as c
from vigil.features.firmware.service import FIRMWARE_SERVICE, Firmware, FirmwareError, UpgradeOptions
from vigil.http.routing import Endpoint
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, first, json_reply, parse_call, text
from vigil.release.package import INVALID

ERRORS = JsonErrors(wrong_http_method=c.BAD_REQUEST, bad_version=c.BAD_VERSION, unknown_method=c.UNKNOWN_METHOD,
                    bad_json=c.BAD_REQUEST, bad_params=c.BAD_REQUEST, internal=c.INTERNAL, max_body=64 * 1024,
                    texts=c.TEXTS)
UPGRADE_PARAMS = {"factoryDefaultMode", "autoCommit", "autoRollback"}


class UploadTooLarge(Exception):
    pass


def error(code: int, why: str = "", call: JsonCall | None = None) -> JsonApiError:
    return ERRORS.error(code, why, call)


def string_params(call: JsonCall, allowed: set[str]) -> dict[str, str]:
    unknown = sorted(set(call.params) - allowed)
    if unknown:
        raise error(c.BAD_REQUEST, f"unknown parameter {unknown[0][:40]!r}", call)
    if not all(isinstance(v, str) for v in call.params.values()):
        raise error(c.BAD_REQUEST, "every parameter is a string", call)
    return call.params


async def read_upload(request: Request, firmware: Firmware) -> tuple[dict[str, Any], Path]:
    """The form fields of a multipart upload and the uploaded file, stored where the firmware
    service takes it; at most MAX_PACKAGE bytes are read (UploadTooLarge beyond)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > c.MAX_PACKAGE + 64 * 1024:
        raise UploadTooLarge
    received = 0

    async def limited() -> dict:
        nonlocal received
        message = await request.receive()
        received += len(message.get("body", b""))
        if received > c.MAX_PACKAGE + 64 * 1024:
            raise UploadTooLarge
        return message

    try:
        form = await Request(request.scope, limited).form(max_files=2, max_fields=4, max_part_size=64 * 1024)
    except HTTPException as err:  # what starlette makes of a malformed multipart body
        raise ValueError(err.detail) from None
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    json_file = form.get("json")
    if isinstance(json_file, UploadFile):  # browsers send a Blob part with a file name
        fields["json"] = (await json_file.read(64 * 1024)).decode(errors="replace")
    uploads = [v for k, v in form.multi_items() if isinstance(v, UploadFile) and k != "json"]
    if len(uploads) != 1:
        raise ValueError("the request must have one file part")
    target = firmware.incoming()
    with target.open("wb") as out:
        await asyncio.to_thread(shutil.copyfileobj, uploads[0].file, out)
    await form.close()
    return fields, target


async def upgrade(request: Request, who: Principal, firmware: Firmware) -> Response:
    device = request.app.state.device
    call = JsonCall(c.VERSIONS[-1], None, "upgrade", {})
    try:
        with firmware.exclusive():
            firmware.check_can_upgrade()
            firmware.progress = "receiving"
            try:
                fields, upload = await read_upload(request, firmware)
            except UploadTooLarge:
                raise error(INVALID, f"the upload is larger than {c.MAX_PACKAGE // (1024 * 1024)} MiB",
                            call) from None
            except (ValueError, MultiPartException, KeyError) as err:
                raise error(c.BAD_REQUEST, f"the upload is not a multipart form with a json and a file part ({err})",
                            call) from None
            call = parse_call(str(fields.get("json", "")).encode(), c.VERSIONS, ERRORS)
            if call.method != "upgrade":
                raise error(c.BAD_REQUEST, "a file upload is the upgrade method only", call)
            params = string_params(call, UPGRADE_PARAMS)
            try:
                options = UpgradeOptions.parse(params.get("factoryDefaultMode", "none"),
                                               params.get("autoCommit", "default"), params.get("autoRollback", "default"))
            except ValueError as err:
                raise error(c.BAD_REQUEST, str(err), call) from None
            version = await firmware.upgrade(upload, options, who.name)
    except FirmwareError as err:
        return refused(device, who, call, error(err.code, err.message, call))
    except JsonApiError as err:
        return refused(device, who, err.call or call, err)
    reply = json_reply(call, {"firmwareVersion": version})
    reply.background = BackgroundTask(device.request_stop, "reboot")
    return reply


def refused(device, who: Principal, call: JsonCall | None, err: JsonApiError) -> Response:
    device.logs.system(f"firmwaremanagement.cgi {call.method if call else ''}: {err.message} ({who.name})",
                       "warning", "maintenance")
    return json_reply(call, error=err, version=c.VERSIONS[-1])


async def firmware_management(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    firmware: Firmware = device.features[FIRMWARE_SERVICE]
    if request.method != "POST":
        return json_reply(None, error=error(c.BAD_REQUEST, "use POST"), version=c.VERSIONS[-1])
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await upgrade(request, who, firmware)
    try:
        call = parse_call(await request.body(), c.VERSIONS, ERRORS)
    except JsonApiError as err:
        return refused(device, who, err.call, err)
    if call.method == "getSupportedVersions":
        return json_reply(call, {"apiVersions": c.VERSIONS})
    if call.method == "upgrade":
        return refused(device, who, call, error(c.BAD_REQUEST, "send the release as multipart/form-data: a json "
                                                "part, then the file part", call))
    handler = METHODS.get(call.method)
    if handler is None:
        return refused(device, who, call, error(c.UNKNOWN_METHOD, f"{call.method[:40]!r}", call))
    try:
        data, after = handler(call, firmware, who)
    except FirmwareError as err:
        return refused(device, who, call, error(err.code, err.message, call))
    except JsonApiError as err:
        return refused(device, who, call, err)
    reply = json_reply(call, data)
    if after is not None:
        device.logs.audit(who.name, f"requested {after}", "maintenance")
        reply.background = BackgroundTask(device.request_stop, after)
    return reply


# Each method: (data, what the device does once it has answered: None, "reboot", "factory-default" ...).
def status(call: JsonCall, firmware: Firmware, who: Principal) -> tuple[dict, str | None]:
    string_params(call, set())
    return firmware.status(), None


def commit(call: JsonCall, firmware: Firmware, who: Principal) -> tuple[dict, str | None]:
    string_params(call, set())
    return {"firmwareVersion": firmware.commit(who.name)}, None


def rollback(call: JsonCall, firmware: Firmware, who: Principal) -> tuple[dict, str | None]:
    string_params(call, set())
    with firmware.exclusive():
        firmware.rollback(who.name)
    return {}, "reboot"


def purge(call: JsonCall, firmware: Firmware, who: Principal) -> tuple[dict, str | None]:
    string_params(call, set())
    with firmware.exclusive():
        firmware.purge(who.name)
    return {}, None


def stop_auto(call: JsonCall, firmware: Firmware, who: Principal) -> tuple[dict, str | None]:
    string_params(call, set())
    firmware.stop_auto_rollback(who.name)
    return {}, None


def reboot(call: JsonCall, firmware: Firmware, who: Principal) -> tuple[dict, str | None]:
    string_params(call, set())
    return {}, "reboot"


def factory_default(call: JsonCall, firmware: Firmware, who: Principal) -> tuple[dict, str | None]:
    mode = string_params(call, {"factoryDefaultMode"}).get("factoryDefaultMode", "soft")
    if mode not in ("soft", "hard"):
        raise error(c.BAD_REQUEST, "factoryDefaultMode must be soft or hard", call)
    with firmware.exclusive():
        firmware.before_factory_default()
    return {}, "hard-factory-default" if mode == "hard" else "factory-default"


METHODS = {"status": status, "commit": commit, "rollback": rollback, "purge": purge, "stopAuto": stop_auto,
           "reboot": reboot, "factoryDefault": factory_default}


async def firmware_upgrade_cgi(request: Request, who: Principal) -> Response:
    """The classic upgrade: one file part; `type=factorydefault` restores the settings too.
    Committed once the new software has started (no rollback timer), as before fwmgr."""
    device = request.app.state.device
    firmware: Firmware = device.features[FIRMWARE_SERVICE]
    kind = first(list(request.query_params.multi_items()), "type", "normal")
    if request.method != "POST" or kind not in ("normal", "factorydefault"):
        return text("Error: POST the release as multipart/form-data; type is normal or factorydefault\n")
    options = UpgradeOptions.parse("soft" if kind == "factorydefault" else "none", "started", "never")
    try:
        with firmware.exclusive():
            firmware.check_can_upgrade()
            try:
                _fields, upload = await read_upload(request, firmware)
            except UploadTooLarge:
                raise FirmwareError(INVALID, f"the upload is larger than {c.MAX_PACKAGE // 2**20} MiB") from None
            except (ValueError, MultiPartException, KeyError) as err:
                raise FirmwareError(c.BAD_REQUEST, f"the upload is not a multipart form with a file ({err})") from None
            version = await firmware.upgrade(upload, options, who.name)
    except FirmwareError as err:
        message = err.message or c.TEXTS.get(err.code, "")
        device.logs.system(f"firmwareupgrade.cgi: {message}", "warning", "maintenance")
        return text(f"Error: {message}\n")
    reply = text(f"OK\nUpgrading to {version}; the device restarts.\n")
    reply.background = BackgroundTask(device.request_stop, "reboot")
    return reply


ROUTES = (
    Endpoint(c.FWMGR_PATH, firmware_management, Role.ADMIN, kind="json"),
    Endpoint(c.UPGRADE_CGI_PATH, firmware_upgrade_cgi, Role.ADMIN),
)
