"""Restart, restore (soft factory default), factory default, and the server report."""

from __future__ import annotations

import io
import tarfile
import time
import zipfile
from typing import TYPE_CHECKING

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.system.discovery import device_properties
from vigil.http.vapix import first, form_args, html, text

if TYPE_CHECKING:
    from vigil.device import Device


def server_report(device: Device) -> str:
    """Product information, every parameter (secrets masked) and the logs, as one text."""
    stamp = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(device.clock.time()))
    props = device_properties(device)
    out = [f"----- Server report: {props['ProdFullName']} -----", f"Generated: {stamp}", ""]
    out += [f"{k}: {v}" for k, v in props.items()]
    out += ["", f"Profile: {device.profile.name}", f"Accounts: {len(device.accounts.all())}", "",
            "----- Parameters -----"]
    params = device.params
    out += [f"root.{n}={params.shown(n)}" for n in params.names()]
    for kind in ("system", "access"):
        out += ["", f"----- {kind.capitalize()} log -----", device.logs.text(kind).rstrip("\n")]
    return "\n".join(out) + "\n"


def _zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in files.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def _tar(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name, body in files.items():
            data = body.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def register(device: Device) -> None:
    def stop_after_reply(action: str, message: str, who: Principal) -> Response:
        device.logs.audit(who.name, f"requested {action}", "maintenance")
        device.logs.flush()
        return Response(f"<html><body>{message}</body></html>\n", media_type="text/html",
                        background=BackgroundTask(device.request_stop, action))

    async def restart(request: Request, who: Principal) -> Response:
        return stop_after_reply("restart", "Restarting.", who)

    async def factory_default(request: Request, who: Principal) -> Response:
        return stop_after_reply("factory-default", "Restoring settings and restarting.", who)

    async def hard_factory_default(request: Request, who: Principal) -> Response:
        return stop_after_reply("hard-factory-default", "Resetting to factory default and restarting.", who)

    async def report(request: Request, who: Principal) -> Response:
        mode = first(await form_args(request), "mode", "text")
        serial = device.identity.serial
        body = server_report(device)
        if mode == "text":
            return text(body)
        logs = {f"{kind}.log": device.logs.text(kind) for kind in ("system", "access", "audit")}
        if mode in ("zip", "zip_with_image"):
            return Response(_zip({f"serverreport_{serial}.txt": body, **logs}), media_type="application/zip",
                            headers={"Content-Disposition": f'attachment; filename="serverreport_{serial}.zip"'})
        if mode == "tar_all":
            return Response(_tar(logs), media_type="application/x-tar",
                            headers={"Content-Disposition": f'attachment; filename="logs_{serial}.tar"'})
        return html(f"Error: unknown mode {mode!r}; use text, zip, zip_with_image or tar_all.")

    router = device.router
    router.add("/axis-cgi/restart.cgi", restart, Role.ADMIN)
    router.add("/axis-cgi/factorydefault.cgi", factory_default, Role.ADMIN)
    router.add("/axis-cgi/hardfactorydefault.cgi", hard_factory_default, Role.ADMIN)
    router.add("/axis-cgi/serverreport.cgi", report, Role.ADMIN)
