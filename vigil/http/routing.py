"""Endpoints and the role guard in front of every one of them.

Every endpoint declares its minimum role; the guard authenticates the caller (Digest,
Basic, session cookie, or anonymous), applies brute-force blocking and the "allow access
through" setting, and answers 401/403 before a handler runs. Handlers never leak a stack
trace: an unexpected error becomes the API's own error reply and a system-log entry.

A session cookie goes along with any request the browser makes to the device, also one that
another page (another port or name on the same host, a link, an `<img>`) made it send, and
many VAPIX CGIs change settings on a GET. So the cookie counts only with a proof that the
device's own pages sent the request (`same_origin`): `Sec-Fetch-Site: same-origin`, an
`Origin` of the device itself, or the `X-Requested-With` header the pages send on every call,
which no other site can add (that would need the CORS consent the device never gives).
Endpoints whose GET only reads (`safe_get`: the pages, the session state, a video or a
download the page points the browser at) also take the cookie from a browser that sends no
proof at all, as browsers do for media and links on plain HTTP.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from starlette.requests import ClientDisconnect, Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Match, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from vigil.core.auth import ANONYMOUS, AuthFailure, Principal
from vigil.core.roles import Role
from vigil.http.ports import ACCESS_CHANGED, ORIGIN_HEADER, Listening
from vigil.http.vapix import (
    BadArguments,
    JsonApiError,
    JsonErrors,
    JsonMethod,
    json_reply,
    parse_call,
    text,
)

if TYPE_CHECKING:
    from vigil.core.accounts import Accounts
    from vigil.core.auth import Authenticator
    from vigil.core.logs import Logs
    from vigil.core.params import ParamTree


class Device(Protocol):
    """What the router needs of the device it serves (vigil.device.Device is one); declared here
    so that the HTTP layer does not depend on the device context that holds its router."""

    auth: Authenticator
    accounts: Accounts
    logs: Logs
    params: ParamTree
    listening: Listening

log = logging.getLogger("vigil.http")
SESSION_COOKIE = "vigil_session"
Handler = Callable[[Request, Principal], Awaitable[Response]]


def _internal_error(kind: str) -> Response:
    if kind == "json":
        return Response(json.dumps({"error": {"code": 8000, "message": "Internal error"}}),
                        media_type="application/json")
    if kind == "xml":
        return Response('<?xml version="1.0"?><root><error code="8000" description="Internal error"/></root>',
                        media_type="text/xml")
    return text("# Error: internal error, see the system log\n")


@dataclass
class Endpoint:
    path: str
    handler: Handler
    role: Role
    methods: tuple[str, ...] = ("GET", "POST")
    kind: str = "text"  # text | json | xml: the format of this API's errors
    open_until_admin: bool = False  # pwdgrp.cgi: anyone may create the first administrator
    method_roles: dict[str, Role] = field(default_factory=dict)  # JSON APIs: role per method
    safe_get: bool = False  # GET only reads: a session cookie needs no same-origin proof (see above)
    body_until_close: bool = False  # a POST without a length streams until the client closes (limits.py)


class Router:
    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []
        self.websockets: list[WebSocketRoute] = []

    def add_websocket(self, path: str, endpoint: Callable[[WebSocket], Awaitable[None]]) -> None:
        """A WebSocket endpoint checks its own caller; give it an HTTP twin with `add` so that
        the role guard and the role matrix cover its path."""
        self.websockets.append(WebSocketRoute(path, endpoint))

    def add(self, path: str, handler: Handler, role: Role, **options: Any) -> Endpoint:
        endpoint = Endpoint(path, handler, role, **options)
        self.endpoints.append(endpoint)
        return endpoint

    def include(self, endpoints: Iterable[Endpoint]) -> None:
        """Add a module's route table (its `ROUTES`, named handlers as data)."""
        self.endpoints.extend(endpoints)

    def json_api(self, path: str, versions: list[str], methods: dict[str, JsonMethod],
                 errors: JsonErrors | None = None) -> Endpoint:
        """A JSON-RPC style CGI: POST only, one role per method, errors in its own codes."""
        errs = errors or JsonErrors()

        async def handle(request: Request, who: Principal) -> Response:
            if request.method != "POST":
                return json_reply(None, error=JsonApiError(errs.wrong_http_method, "HTTP request type not supported"),
                                  version=versions[-1])
            try:
                call = parse_call(await request.body(), versions, errs)
            except JsonApiError as err:
                return json_reply(err.call, error=err, version=versions[-1])
            if call.method == "getSupportedVersions" and call.method not in methods:
                return json_reply(call, {"apiVersions": versions})
            entry = methods.get(call.method)
            if entry is None:
                return json_reply(call, error=JsonApiError(errs.unknown_method, f"Method '{call.method}' not supported"))
            refusal = refuse(request, who, entry.role)
            if refusal is not None:
                return refusal
            try:
                return json_reply(call, await entry.handler(call, who))
            except JsonApiError as err:
                return json_reply(call, error=err)

        role = min((m.role for m in methods.values()), default=Role.ADMIN)
        return self.add(path, handle, role, methods=("GET", "POST"), kind="json",
                        method_roles={name: m.role for name, m in methods.items()})

    def routes(self, device: Device) -> list[BaseRoute]:
        routes = [Route(e.path, guarded(device, e), methods=list(e.methods)) for e in self.endpoints]
        literal: dict[str, list[Route]] = {}
        for route in routes:
            if not route.param_convertors:
                literal.setdefault(route.path, []).append(route)
        exact = {path: found[0] for path, found in literal.items() if len(found) == 1}
        rest = [r for r in routes if r.path not in exact or r.param_convertors]
        return [LiteralPaths(exact), *rest, *self.websockets]


class LiteralPaths(BaseRoute):
    """Every endpoint whose path has no parameters, found with one dictionary lookup.

    Starlette tries routes one by one, so the hundredth endpoint paid for ninety-nine failed
    matches on every request; here the path picks its route, which then matches (or refuses
    the method) exactly as it would on its own."""

    def __init__(self, routes: dict[str, Route]) -> None:
        self.by_path = routes

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        route = self.by_path.get(scope["path"]) if scope["type"] == "http" else None
        return route.matches(scope) if route is not None else (Match.NONE, {})

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.by_path[scope["path"]].handle(scope, receive, send)


def challenge(device: Device, request: Request, stale: bool = False, body: str = "Unauthorized\n") -> Response:
    response = text(body, status=401)
    # Browser pages ask with X-Requested-With: they show their own login form, not the browser's.
    if not request.headers.get("x-requested-with"):
        for value in device.auth.challenges(stale):
            response.headers.append("WWW-Authenticate", value)
    return response


def refuse(request: Request, who: Principal, needed: Role) -> Response | None:
    """The reply for a caller below `needed`, or None when the caller may go on."""
    if who.role >= needed:
        return None
    device: Device = request.app.state.device
    if who.method == "anonymous":
        return challenge(device, request)
    device.logs.access(f"{who.name} from {client_address(request)} refused {request.url.path}: needs {needed.label}")
    return text("Forbidden: this account may not do that\n", status=403)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def same_origin(request: Request) -> bool | None:
    """Whether the device's own pages sent this request: True, False (another site did), or
    None (nothing tells: a client that is no browser, or a browser that sends no proof)."""
    headers = request.headers
    site = headers.get("sec-fetch-site")
    # "none": the user typed the address or opened a bookmark, which is no other site's doing.
    if site is not None and site != "same-origin" and not (site == "none" and request.method in ("GET", "HEAD")):
        return False
    origin = headers.get("origin")
    if origin is not None:
        scheme = {"ws": "http", "wss": "https"}.get(request.url.scheme, request.url.scheme)  # a WebSocket's page
        return origin.lower() == f"{scheme}://{headers.get('host', '')}".lower()
    if site is not None or "x-requested-with" in headers:
        return True
    return None


def identify(device: Device, request: Request, endpoint: Endpoint | None = None) -> Principal | Response:
    """Who is calling: a principal, or a refusal (blocked, wrong credentials, a cookie sent by another site)."""
    address = client_address(request)
    auth = device.auth
    header = request.headers.get("authorization")
    if header:
        target = request.scope.get("raw_path", b"").decode("latin-1") or request.url.path
        if query := request.scope.get("query_string", b""):
            target += "?" + query.decode("latin-1")
        try:
            principal = auth.authenticate(header, request.method, target, address)
        except AuthFailure as failure:
            if not failure.stale:  # a stale nonce answered with the right password is no guess
                auth.guard.failure(address, request.url.path)
            device.logs.access(f"authentication failed for {failure.user or '?'} from {address} "
                               f"on {request.url.path}: {failure}")
            return challenge(device, request, stale=failure.stale)
        if principal is not None:
            return principal
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        principal = auth.session(token)
        if principal is not None:
            proof = same_origin(request)
            reads = endpoint is not None and endpoint.safe_get and request.method in ("GET", "HEAD")
            if proof or (proof is None and reads):
                auth.seen(address, principal.name, "session")
                return principal
            if not reads:
                device.logs.access(f"cross-origin request refused from {address} on {request.url.path}")
                return text("Forbidden: cross-origin request\n", status=403)
            # A read another site asked for is answered as to anyone, without the session.
    if device.params.get("System.BoaProtViewer") == "anonymous":
        return Principal("anonymous", Role.VIEWER)
    return ANONYMOUS


def _access_redirect(device: Device, request: Request) -> Response | None:
    policy = device.params.get("HTTPS.AllowAccessThrough")
    scheme = request.scope.get("scheme", "http")
    if policy == "https" and scheme == "http" and (https := device.listening.https):
        host = request.url.hostname or "localhost"
        return RedirectResponse(request.url.replace(scheme="https", netloc=f"{host}:{https}"), 301)
    if policy == "http" and scheme == "https":
        return text("HTTPS access is turned off on this device\n", status=403)
    return None


def guarded(device: Device, endpoint: Endpoint) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        try:
            return await checked(request)
        except ClientDisconnect:
            return _gone(request)
        except Exception:  # the guard itself must never answer with a bare 500 and a trace
            log.exception("request %s %s failed before its handler", request.method, request.scope.get("path"))
            return _internal_error(endpoint.kind)

    async def checked(request: Request) -> Response:
        address = client_address(request)
        if device.auth.guard.blocked(address):
            device.logs.access(f"blocked address {address} refused on {request.url.path}")
            return text("Forbidden: too many failed logins, try again later\n", status=403)
        redirect = _access_redirect(device, request)
        if redirect is not None:
            return redirect
        who = identify(device, request, endpoint)
        if isinstance(who, Response):
            return who
        if who.role < endpoint.role and not (endpoint.open_until_admin and not device.accounts.admin_exists):
            refusal = refuse(request, who, endpoint.role)
            if refusal is not None:
                return refusal
        ACCESS_CHANGED.set(False)  # this request's own: a change made elsewhere is not its news
        try:
            response = await endpoint.handler(request, who)
        except BadArguments as err:
            return text(f"# Error: {err}\n")
        except ClientDisconnect:
            return _gone(request)
        except Exception:
            log.exception("request %s %s failed", request.method, request.url.path)
            return _internal_error(endpoint.kind)
        if who.method == "digest" and 300 <= response.status_code < 400:
            device.auth.redirected(request.headers.get("authorization", ""), response.headers.get("location", ""))
        if ACCESS_CHANGED.get():  # the request moved a listener, or changed which scheme is allowed
            response.headers[ORIGIN_HEADER] = device.listening.origin(request.url.scheme,
                                                                      request.url.hostname or "localhost")
        return response

    return handle


def _gone(request: Request) -> Response:
    """The client hung up before its request was read in full: nothing to answer, nothing broken."""
    log.info("client %s went away during %s %s", client_address(request), request.method, request.url.path)
    return Response(status_code=400)
