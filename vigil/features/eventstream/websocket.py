"""VAPIX event streaming over WebSocket.

`GET /axis-cgi/wssession.cgi` (viewer) hands out a one-time token valid for 15 seconds;
`ws(s)://HOST/vapix/ws-data-stream?sources=events&wssession=TOKEN` opens the stream (or
Basic/Digest/session-cookie authentication on the upgrade request itself). The client sends
`events:configure` with an eventFilterList; the reply comes first, then the current state
of every matching property, then `events:notify` messages as events happen. A new
configure replaces the filters.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections import OrderedDict
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketDisconnect

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.eventstream.fanout import OUTBOX_LIMIT, Fanout, Listener, Outbox
from vigil.features.eventstream.metadata import EventFilter, FilterError, to_notification
from vigil.http.routing import challenge, client_address, identify
from vigil.http.vapix import supported_version, text

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.eventstream")

STREAM_PATH = "/vapix/ws-data-stream"
TOKEN_PATH = "/axis-cgi/wssession.cgi"
TOKEN_LIFETIME = 15.0
MAX_TOKENS = 1000
MAX_MESSAGE = 64 * 1024
MAX_FILTERS = 100
MAX_BACKLOG = 2 * OUTBOX_LIMIT  # queued replies and events of a client that sends but does not read
VERSIONS = ["1.0"]
SOURCES = ("events",)


class ConfigureError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.envelope: dict[str, Any] = {}  # what the reply echoes of the request


# VAPIX general error codes (event-streaming-over-websocket).
INTERNAL, BAD_VERSION, BAD_JSON, UNKNOWN_METHOD, MISSING, BAD_VALUE, TOO_LARGE = (
    1100, 2100, 2101, 2102, 2103, 2104, 2107)


class Tokens:
    """One-time WebSocket session tokens: each opens one connection, within 15 s."""

    def __init__(self, device: Device) -> None:
        self.clock = device.clock
        self._tokens: OrderedDict[str, tuple[Principal, float]] = OrderedDict()

    def issue(self, who: Principal) -> str:
        now = self.clock.monotonic()
        for token, (_, expires) in list(self._tokens.items()):
            if expires < now:
                del self._tokens[token]
        while len(self._tokens) >= MAX_TOKENS:
            self._tokens.popitem(last=False)
        token = str(secrets.randbelow(9 * 10**18) + 10**18)
        self._tokens[token] = (who, now + TOKEN_LIFETIME)
        return token

    def redeem(self, token: str) -> Principal | None:
        entry = self._tokens.pop(token, None)
        if entry is None or entry[1] < self.clock.monotonic():
            return None
        return entry[0]


def parse_configure(raw: str | bytes) -> tuple[dict[str, Any], list[EventFilter]]:
    """Validate an `events:configure` message: (reply envelope, filters).

    Raises ConfigureError, with the envelope the error reply echoes."""
    envelope: dict[str, Any] = {"apiVersion": "1.0"}
    try:
        if len(raw) > MAX_MESSAGE:
            raise ConfigureError(TOO_LARGE, "Request too large")
        try:
            body = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
            raise ConfigureError(BAD_JSON, "Invalid JSON") from None
        if not isinstance(body, dict):
            raise ConfigureError(BAD_JSON, "Invalid JSON: expected an object")
        version, context, method = body.get("apiVersion"), body.get("context"), body.get("method")
        if isinstance(version, str):
            envelope["apiVersion"] = version
        if isinstance(context, str):
            envelope["context"] = context
        if isinstance(method, str):
            envelope["method"] = method
        if method is None:
            raise ConfigureError(MISSING, "Required parameter 'method' missing")
        if not isinstance(method, str) or method != "events:configure":
            raise ConfigureError(UNKNOWN_METHOD, f"Method '{method}' not supported")
        if version is None:
            raise ConfigureError(MISSING, "Required parameter 'apiVersion' missing")
        if not isinstance(version, str) or not supported_version(version, VERSIONS):
            raise ConfigureError(BAD_VERSION, f"API version {version} not supported")
        if context is not None and not isinstance(context, str):
            raise ConfigureError(BAD_VALUE, "Invalid parameter value: context must be a string")
        params = body.get("params")
        if params is None:
            raise ConfigureError(MISSING, "Required parameter 'params' missing")
        if not isinstance(params, dict):
            raise ConfigureError(BAD_VALUE, "Invalid parameter value: params must be an object")
        filters = params.get("eventFilterList")
        if filters is None:
            raise ConfigureError(MISSING, "Required parameter 'eventFilterList' missing")
        if not isinstance(filters, list):
            raise ConfigureError(BAD_VALUE, "Invalid event datasource payload: eventFilterList must be a list")
        if not filters:
            raise ConfigureError(BAD_VALUE, "Invalid event datasource payload: eventFilterList is empty")
        if len(filters) > MAX_FILTERS:
            raise ConfigureError(BAD_VALUE, f"Invalid event datasource payload: more than {MAX_FILTERS} filters")
        return envelope, [_filter(entry) for entry in filters]
    except ConfigureError as err:
        err.envelope = envelope
        raise


def _filter(entry: Any) -> EventFilter:
    if not isinstance(entry, dict):
        raise ConfigureError(BAD_VALUE, "Invalid event datasource payload: each filter must be an object")
    topic, content = entry.get("topicFilter"), entry.get("contentFilter")
    if topic is None and content is None:
        raise ConfigureError(BAD_VALUE, "Invalid event datasource payload: a filter needs topicFilter or contentFilter")
    if (topic is not None and not isinstance(topic, str)) or (content is not None and not isinstance(content, str)):
        raise ConfigureError(BAD_VALUE, "Invalid event datasource payload: filters must be strings")
    try:
        return EventFilter(topic if topic is not None else "//.", content)
    except FilterError as err:
        raise ConfigureError(BAD_VALUE, f"Invalid event datasource payload: {err}") from None


class EventSocket:
    """One WebSocket client of the event stream."""

    def __init__(self, websocket: WebSocket, fanout: Fanout, name: str) -> None:
        self.websocket = websocket
        self.fanout = fanout
        self.name = name
        self.outbox = Outbox(self.name)
        self.listener = Listener(self.outbox, to_notification, per_filter=True)

    async def run(self) -> None:
        sender = asyncio.create_task(self._send())
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                raw = message.get("text")
                if raw is None:
                    raw = message.get("bytes") or b""
                self.handle(raw)
                if sender.done():
                    return
                if len(self.outbox) > MAX_BACKLOG:  # asks and asks, and reads nothing
                    log.warning("%s closed: %d messages it does not read", self.name, len(self.outbox))
                    await self.websocket.close(code=1008)
                    return
        finally:
            self.fanout.stop(self.listener)
            self.outbox.close()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await sender
            if self.outbox.dropped:
                log.warning("%s closed after %d dropped events", self.name, self.outbox.dropped)

    def handle(self, raw: str | bytes) -> None:
        """One client message. Runs without yielding: the reply is queued before the first event."""
        try:
            envelope, filters = parse_configure(raw)
        except ConfigureError as err:
            reply = {**err.envelope, "error": {"code": err.code, "message": err.message}}
            reply.setdefault("method", "events:configure")
            self.outbox.put(json.dumps(reply), force=True)
            return
        self.outbox.put(json.dumps({**envelope, "data": {}}), force=True)
        self.fanout.stop(self.listener)
        self.listener.filters = filters
        self.fanout.start(self.listener, initial=True)

    async def _send(self) -> None:
        while True:
            message = await self.outbox.get()
            if message is None:
                return
            try:
                await self.websocket.send_text(message)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return


def register(device: Device, fanout: Fanout) -> None:
    tokens = Tokens(device)

    async def wssession(request: Request, who: Principal) -> Response:
        return Response(tokens.issue(who), media_type="text/plain", headers={"Cache-Control": "no-store"})

    async def upgrade_required(request: Request, who: Principal) -> Response:
        response = text(f"Use a WebSocket upgrade: ws(s)://HOST{STREAM_PATH}?sources=events\n", status=426)
        response.headers["Upgrade"] = "websocket"
        return response

    async def stream(websocket: WebSocket) -> None:
        who = _authenticate(device, websocket, tokens)
        if isinstance(who, Response):
            await _deny(websocket, who)
            return
        await websocket.accept()
        peer = websocket.client
        name = f"websocket {peer.host if peer else '?'}:{peer.port if peer else 0} ({who.name})"
        try:
            await EventSocket(websocket, fanout, name).run()
        except WebSocketDisconnect:
            pass
        except Exception:
            log.exception("%s failed", name)
            with contextlib.suppress(Exception):
                await websocket.close(code=1011)

    device.router.add(TOKEN_PATH, wssession, Role.VIEWER, methods=("GET", "POST"))
    # The HTTP twin of the WebSocket endpoint: a plain GET is told to upgrade; it puts the
    # path under the role guard and in the role matrix.
    device.router.add(STREAM_PATH, upgrade_required, Role.VIEWER, methods=("GET",))
    device.router.add_websocket(STREAM_PATH, stream)


def _authenticate(device: Device, websocket: WebSocket, tokens: Tokens) -> Principal | Response:
    """Who opens the stream (token, Basic, Digest, session cookie), or the HTTP refusal."""
    request = Request({**websocket.scope, "type": "http", "method": "GET"})
    address = client_address(request)
    query = dict(parse_qsl(websocket.url.query, keep_blank_values=True))
    if device.auth.guard.blocked(address):
        device.logs.access(f"blocked address {address} refused on {STREAM_PATH}")
        return text("Forbidden: too many failed logins, try again later\n", status=403)
    policy, scheme = device.params.get("HTTPS.AllowAccessThrough"), websocket.url.scheme
    if (policy == "https" and scheme == "ws") or (policy == "http" and scheme == "wss"):
        return text(f"Forbidden: {scheme} access is turned off on this device\n", status=403)
    sources = [s for s in query.get("sources", "").split(",") if s]
    if not sources or any(s not in SOURCES for s in sources):
        return text("Unsupported or missing 'sources': use sources=events\n", status=400)
    token = query.get("wssession")
    if token is not None:
        who = tokens.redeem(token)
        if who is None:
            device.auth.guard.failure(address, STREAM_PATH)
            device.logs.access(f"invalid or expired wssession token from {address}")
            return challenge(device, request)
        return who
    who = identify(device, request)  # a session cookie counts by the HTTP layer's same-origin rule
    if isinstance(who, Response):
        return who
    if who.role < Role.VIEWER:
        if who.method == "anonymous":
            return challenge(device, request)
        return text("Forbidden: this account may not do that\n", status=403)
    return who


async def _deny(websocket: WebSocket, response: Response) -> None:
    if "websocket.http.response" in websocket.scope.get("extensions", {}):
        await websocket.send_denial_response(response)
    else:
        await websocket.close(code=1008)
