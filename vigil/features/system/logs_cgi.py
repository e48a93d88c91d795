"""`systemlog.cgi`, `accesslog.cgi` and `auditlog.cgi`: the logs as syslog-style text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.http.vapix import first, form_args, text

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    def log_endpoint(kind: str):
        async def handle(request: Request, who: Principal) -> Response:
            contains = first(await form_args(request), "text", "") or ""
            if contains and not all(c.isalnum() or c in " ._-:" for c in contains):
                return text("Error: the text filter may hold letters, digits, spaces and . _ - : only\n")
            return text(device.logs.text(kind, contains))
        return handle

    for kind in ("system", "access", "audit"):
        device.router.add(f"/axis-cgi/{kind}log.cgi", log_endpoint(kind), Role.ADMIN)
