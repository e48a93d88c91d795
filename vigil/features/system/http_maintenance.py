"""Restart (`restart.cgi`), restore (`factorydefault.cgi`, a soft factory default), factory
default (`hardfactorydefault.cgi`) and the server report (`serverreport.cgi`)."""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.system.report import log_files, server_report, tar_of, zip_of
from vigil.http.routing import Endpoint
from vigil.http.vapix import first, form_args, html, text

if TYPE_CHECKING:
    from vigil.device import Device


def stop_after_reply(device: Device, action: str, message: str, who: Principal) -> Response:
    """Audit the request, then reply; the device stops (and starts again) once the reply is sent."""
    device.logs.audit(who.name, f"requested {action}", "maintenance")
    device.logs.flush()
    return Response(f"<html><body>{message}</body></html>\n", media_type="text/html",
                    background=BackgroundTask(device.request_stop, action))


async def restart(request: Request, who: Principal) -> Response:
    return stop_after_reply(request.app.state.device, "restart", "Restarting.", who)


async def factory_default(request: Request, who: Principal) -> Response:
    return stop_after_reply(request.app.state.device, "factory-default", "Restoring settings and restarting.", who)


async def hard_factory_default(request: Request, who: Principal) -> Response:
    return stop_after_reply(request.app.state.device, "hard-factory-default",
                            "Resetting to factory default and restarting.", who)


async def server_report_cgi(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    mode = first(await form_args(request), "mode", "text")
    serial = device.identity.serial
    body = server_report(device)
    if mode == "text":
        return text(body)
    if mode in ("zip", "zip_with_image"):
        return Response(zip_of({f"serverreport_{serial}.txt": body, **log_files(device)}),
                        media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="serverreport_{serial}.zip"'})
    if mode == "tar_all":
        return Response(tar_of(log_files(device)), media_type="application/x-tar",
                        headers={"Content-Disposition": f'attachment; filename="logs_{serial}.tar"'})
    # The mode is echoed in an HTML page: escaped, so that a crafted link cannot put markup there.
    return html(f"Error: unknown mode {escape(repr(printable(mode or '', 32)))}; "
                "use text, zip, zip_with_image or tar_all.")


ROUTES = (
    Endpoint("/axis-cgi/restart.cgi", restart, Role.ADMIN),
    Endpoint("/axis-cgi/factorydefault.cgi", factory_default, Role.ADMIN),
    Endpoint("/axis-cgi/hardfactorydefault.cgi", hard_factory_default, Role.ADMIN),
    Endpoint("/axis-cgi/serverreport.cgi", server_report_cgi, Role.ADMIN),
)
