"""`systemlog.cgi`, `accesslog.cgi` and `auditlog.cgi`: the logs as syslog-style text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.http.routing import Endpoint
from vigil.http.vapix import first, form_args, text

if TYPE_CHECKING:
    from vigil.device import Device

FILTER_CHARACTERS = " ._-:"  # besides letters and digits


async def log_text(request: Request, kind: str) -> Response:
    """One log as text, optionally only the lines that contain `text=`."""
    device: Device = request.app.state.device
    contains = first(await form_args(request), "text", "") or ""
    if contains and not all(c.isalnum() or c in FILTER_CHARACTERS for c in contains):
        return text("Error: the text filter may hold letters, digits, spaces and . _ - : only\n")
    return text(device.logs.text(kind, contains))


async def system_log(request: Request, who: Principal) -> Response:
    """The system log; with `appname=`, only what that app wrote and what happened to it."""
    appname = first(await form_args(request), "appname")
    if appname is None:
        return await log_text(request, "system")
    device: Device = request.app.state.device
    if not appname or not all(c.isalnum() or c == "_" for c in appname):
        return text("Error: appname is an application's name (letters, digits, underscores)\n")
    return text("".join(e.line(device.logs.host) + "\n" for e in device.logs.entries("system")
                        if e.source == appname))


async def access_log(request: Request, who: Principal) -> Response:
    return await log_text(request, "access")


async def audit_log(request: Request, who: Principal) -> Response:
    return await log_text(request, "audit")


ROUTES = (
    Endpoint("/axis-cgi/systemlog.cgi", system_log, Role.ADMIN),
    Endpoint("/axis-cgi/accesslog.cgi", access_log, Role.ADMIN),
    Endpoint("/axis-cgi/auditlog.cgi", audit_log, Role.ADMIN),
)
