"""The one ASGI application every HTTP(S) client reaches: the APIs and the web pages."""

from __future__ import annotations

from importlib import resources
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, RedirectResponse, Response
from starlette.routing import BaseRoute

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.http.vapix import text

if TYPE_CHECKING:
    from vigil.device import Device

WEB = resources.files("vigil").joinpath("web")
PAGE_TYPES = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# No other site may show the pages in a frame (clickjacking): both the old header and CSP.
PAGE_HEADERS = {"Cache-Control": "no-cache", "X-Frame-Options": "DENY",
                "Content-Security-Policy": "frame-ancestors 'none'", "X-Content-Type-Options": "nosniff"}


def register_web(device: Device) -> None:
    """The static pages; they hold no data, which they fetch through the public API."""

    async def page(request: Request, who: Principal) -> Response:
        name = request.path_params.get("name", "index.html")
        target = WEB.joinpath(name)
        suffix = "." + name.rsplit(".", 1)[-1] if "." in name else ""
        if "/" in name or name.startswith(".") or suffix not in PAGE_TYPES or not target.is_file():
            return text("Not found\n", status=404)
        return FileResponse(str(target), media_type=PAGE_TYPES[suffix], headers=PAGE_HEADERS)

    async def root(request: Request, who: Principal) -> Response:
        return RedirectResponse("/index.html", 302)

    device.router.add("/", root, Role.ANONYMOUS, methods=("GET",), safe_get=True)
    device.router.add("/{name:str}", page, Role.ANONYMOUS, methods=("GET",), safe_get=True)


def create_app(device: Device) -> Starlette:
    register_web(device)
    routes: list[BaseRoute] = device.router.routes(device)

    async def not_found(request: Request, exc: Exception) -> Response:
        return text("Not found\n", status=404)

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return text("Method not allowed\n", status=405)

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: not_allowed})
    app.state.device = device
    return app
