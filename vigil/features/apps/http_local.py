"""`/local/<app>/...`: an app's settings pages and its own API, behind the device's sign-in.

- `/local/<app>/<apiPath>[/...]` where the manifest's `reverseProxy` lists `apiPath`: proxied to
  the app's Unix socket (in its data folder), for callers of the entry's `access` role; the app
  sees the caller in `X-Vigil-User` and `X-Vigil-Role`, never the caller's credentials.
- any other `/local/<app>/<file>`: the file from the package's `html/` folder, administrators
  only (these are the app's settings).

An app that is not running, or whose socket does not answer, gives 503. Like the device's own
pages, the app's API should change nothing on a GET: a GET here takes the session cookie
without the same-origin proof, as links and new tabs send none.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.apps.const import LOCAL_PREFIX
from vigil.features.apps.service import KEY
from vigil.http.routing import Endpoint, refuse
from vigil.http.vapix import text

if TYPE_CHECKING:
    from vigil.device import Device

MAX_PROXIED = 16 * 1024 * 1024
FORWARDED_HEADERS = ("content-type", "accept", "accept-language")
RETURNED_HEADERS = ("content-type", "cache-control", "location")
PAGE_HEADERS = {"X-Frame-Options": "SAMEORIGIN", "X-Content-Type-Options": "nosniff", "Cache-Control": "no-cache"}
PROXY_TIMEOUT = 30.0


async def local(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    service = device.features[KEY]
    app = service.apps.get(request.path_params["app"])
    rest = request.path_params.get("path", "")
    if app is None:
        return text("Not found\n", status=404)
    head, _, tail = rest.partition("/")
    proxy = next((p for p in app.manifest.proxies if p.api_path == head), None)
    if proxy is not None:
        refusal = refuse(request, who, proxy.access)
        if refusal is not None:
            return refusal
        socket = service.root / app.name / "data" / proxy.socket
        return await _forward(request, who, socket, "/" + rest)
    refusal = refuse(request, who, Role.ADMIN)
    if refusal is not None:
        return refusal
    html = (service.root / app.name / "package" / "html").resolve()
    target = (html / (rest or app.manifest.setting_page or "index.html")).resolve()
    if not target.is_relative_to(html) or not target.is_file():
        return text("Not found\n", status=404)
    media = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return FileResponse(str(target), media_type=media, headers=PAGE_HEADERS)


async def _forward(request: Request, who: Principal, socket: Path, path: str) -> Response:
    body = await request.body()
    if len(body) > MAX_PROXIED:
        return text("Request too large\n", status=413)
    headers = {k: v for k, v in request.headers.items() if k in FORWARDED_HEADERS}
    headers.update({"X-Vigil-User": who.name, "X-Vigil-Role": who.role.label})
    url = httpx.URL("http://app" + path, query=request.url.query.encode())
    transport = httpx.AsyncHTTPTransport(uds=str(socket))
    try:
        async with httpx.AsyncClient(transport=transport, timeout=PROXY_TIMEOUT) as client:
            reply = await client.request(request.method, url, headers=headers, content=body)
    except httpx.HTTPError as err:
        return text(f"The app does not answer ({type(err).__name__}); is it running?\n", status=503)
    if len(reply.content) > MAX_PROXIED:
        return text("The app's reply is too large\n", status=502)
    kept = {k: v for k, v in reply.headers.items() if k in RETURNED_HEADERS}
    return Response(reply.content, status_code=reply.status_code, headers=kept)


ROUTES = (
    Endpoint(LOCAL_PREFIX + "/{app}/{path:path}", local, Role.VIEWER, methods=("GET", "POST", "PUT", "DELETE"),
             safe_get=True),
)
