"""VAPIX Application API (`/axis-cgi/applications/*.cgi`), administrators only except list.cgi
(viewers: Home Assistant's `axis` library lists apps with the account it has):

- upload.cgi: POST multipart, the package in the field `packfil` or `file`; `OK` or `Error: <code>`.
- control.cgi?action=start|stop|restart|remove&package=<name>: `OK` or `Error: <code>`.
- list.cgi: `<reply result="ok"><application Name= NiceName= Vendor= Version= ApplicationID=
  License= Status= ConfigurationPage= VendorHomePage=/>...</reply>`.
- config.cgi?action=get|set&name=AllowUnsigned[&value=true|false]: XML `<reply result="ok">`.
- license.cgi?action=uploadlicensekey&package=<name> (multipart `fileData` or `licenseKey`),
  `removelicensekey&package=<name>`: `OK` or `Error: <code>`.
- /vigil/apps: the Apps page's JSON (state, crash loop, signer, license) of every app.

Errors are the API's text replies with the reason after the code, and go to the system log.
"""

from __future__ import annotations

from email.parser import BytesParser
from email.policy import HTTP
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.apps.const import (
    ALLOW_UNSIGNED,
    CONFIG_PATH,
    CONTROL_PATH,
    ERR_UPLOAD,
    LICENSE_FIELDS,
    LICENSE_PATH,
    LIST_PATH,
    MAX_PACKAGE,
    OK,
    UPLOAD_FIELDS,
    UPLOAD_PATH,
)
from vigil.features.apps.service import KEY, AppError, AppsService
from vigil.http.routing import Endpoint
from vigil.http.vapix import first, form_args, text

if TYPE_CHECKING:
    from vigil.device import Device

MULTIPART_SLACK = 64 * 1024  # room for the multipart framing around the package


def _service(request: Request) -> AppsService:
    device: Device = request.app.state.device
    return device.features[KEY]


def _error(request: Request, err: AppError, what: str) -> Response:
    device: Device = request.app.state.device
    device.logs.system(f"{what} refused: {err}", "warning", "apps")
    return text(f"Error: {err.code} {err}\n")


class TooLarge(Exception):
    pass


async def _body(request: Request, limit: int) -> bytes:
    """The request body, refused (TooLarge) past `limit` bytes without reading the rest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def multipart_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The parts of a multipart/form-data body by field name (the first of each name)."""
    if not content_type.lower().startswith("multipart/form-data"):
        return {}
    message = BytesParser(policy=HTTP).parsebytes(b"Content-Type: " + content_type.encode("latin-1") +
                                                  b"\r\n\r\n" + body)
    fields: dict[str, bytes] = {}
    if not message.is_multipart():
        return fields
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if isinstance(name, str) and name not in fields:
            payload = part.get_payload(decode=True)
            fields[name] = payload if isinstance(payload, bytes) else b""
    return fields


async def _uploaded(request: Request, names: tuple[str, ...], limit: int) -> bytes:
    try:
        body = await _body(request, limit + MULTIPART_SLACK)
    except TooLarge:
        raise AppError(f"the upload is larger than {limit} bytes", ERR_UPLOAD) from None
    fields = multipart_fields(request.headers.get("content-type", ""), body)
    for name in names:
        if name in fields:
            return fields[name]
    raise AppError(f"a multipart/form-data upload with the file in the field {' or '.join(names)} is needed",
                   ERR_UPLOAD)


async def upload(request: Request, who: Principal) -> Response:
    if request.method != "POST":
        return text(f"Error: {ERR_UPLOAD} upload with POST\n")
    try:
        package = await _uploaded(request, UPLOAD_FIELDS, MAX_PACKAGE)
        await _service(request).install(package, who.name)
    except AppError as err:
        return _error(request, err, "app upload")
    return text(OK)


async def control(request: Request, who: Principal) -> Response:
    args = await form_args(request)
    action, name = first(args, "action", ""), first(args, "package", "") or ""
    service = _service(request)
    actions = {"start": service.start, "stop": service.stop, "restart": service.restart, "remove": service.remove}
    if action not in actions:
        return text("Error: action must be start, stop, restart or remove\n")
    try:
        await actions[action](name, who.name)
    except AppError as err:
        return _error(request, err, f"app {action}")
    return text(OK)


async def list_apps(request: Request, who: Principal) -> Response:
    service = _service(request)
    lines = ['<reply result="ok">']
    for app in service.apps.values():
        m = app.manifest
        attrs = {"Name": m.name, "NiceName": m.friendly_name, "Vendor": m.vendor, "Version": m.version,
                 "ApplicationID": str(app.slot), "License": service.license_status(app), "Status": app.status,
                 "ConfigurationPage": f"local/{m.name}/{m.setting_page}" if m.setting_page else "",
                 "VendorHomePage": m.vendor_url}
        lines.append("<application " + " ".join(f"{k}={quoteattr(v)}" for k, v in attrs.items()) + " />")
    lines.append("</reply>")
    return text("\n".join(lines) + "\n", media_type="text/xml")


def _reply(body: str = "", ok: bool = True) -> Response:
    result = "ok" if ok else "error"
    return text(f'<reply result="{result}">{body}</reply>\n', media_type="text/xml")


async def config(request: Request, who: Principal) -> Response:
    args = await form_args(request)
    action, name, value = first(args, "action", ""), first(args, "name", ""), first(args, "value")
    service = _service(request)
    if name != ALLOW_UNSIGNED:
        return _reply(f'<error type="1">unknown setting {quoteattr(str(name)[:40])}: only {ALLOW_UNSIGNED}</error>',
                      ok=False)
    if action == "get":
        return _reply(f'<param name="{ALLOW_UNSIGNED}" value="{str(service.allow_unsigned).lower()}"/>')
    if action == "set" and value in ("true", "false"):
        service.set_allow_unsigned(value == "true", who.name)
        return _reply()
    return _reply('<error type="2">action must be get, or set with value=true or false</error>', ok=False)


async def license_key(request: Request, who: Principal) -> Response:
    args = await form_args(request) if request.method == "GET" else _query(request)
    action, name = first(args, "action", ""), first(args, "package", "") or ""
    service = _service(request)
    try:
        if action == "uploadlicensekey":
            if request.method != "POST":
                return text(f"Error: {ERR_UPLOAD} upload the license key with POST\n")
            service.get(name)
            key = await _uploaded(request, LICENSE_FIELDS, 64 * 1024)
            service.add_license(name, key, who.name)
        elif action == "removelicensekey":
            service.remove_license(name, who.name)
        else:
            return text("Error: action must be uploadlicensekey or removelicensekey\n")
    except AppError as err:
        return _error(request, err, f"app license {action}")
    return text(OK)


def _query(request: Request) -> list[tuple[str, str]]:
    return list(request.query_params.multi_items())


async def apps_json(request: Request, who: Principal) -> Response:
    service = _service(request)
    return JSONResponse({"allowUnsigned": service.allow_unsigned, "isolation": service.isolation.describe(),
                         "apps": [service.describe(app) for app in service.apps.values()]})


ROUTES = (
    Endpoint(UPLOAD_PATH, upload, Role.ADMIN),
    Endpoint(CONTROL_PATH, control, Role.ADMIN),
    Endpoint(LIST_PATH, list_apps, Role.VIEWER, kind="xml"),
    Endpoint(CONFIG_PATH, config, Role.ADMIN, kind="xml"),
    Endpoint(LICENSE_PATH, license_key, Role.ADMIN),
    Endpoint("/vigil/apps", apps_json, Role.ADMIN, methods=("GET",), kind="json", safe_get=True),
)
