"""Exhaustion limits of the HTTP and HTTPS listeners, enforced below the HTTP parser.

uvicorn's httptools protocol keeps reading a request head however long it is and however
slowly it comes, and accepts connections until the process runs out of file descriptors.
`LimitedProtocol` is that protocol with limits, shared by both listeners through one
`ConnectionGuard`:

- a request head (request line and headers) longer than `Network.HTTP.MaxHeaderBytes` gets
  431 and the connection is closed, before the head is held in memory;
- a head must arrive within `Network.HTTP.HeaderTimeout` seconds of the connection or of its
  first byte (slowloris), and a body within `Network.HTTP.BodyTimeout` seconds of its head,
  else 408 and the connection is closed;
- an idle keep-alive connection is closed after `Network.HTTP.IdleTimeout` seconds;
- at most `Network.HTTP.MaxClientConnections` connections per client address and
  `Network.HTTP.MaxConnections` in all (WebSockets included); others get 503 at once.

The settings apply to the next connection (the idle timeout) or at once (the others), without
a restart. Deadlines are checked once a second by one task, so a request costs no timer.

A POST to one of the guard's `until_close` paths that says neither Content-Length nor
Transfer-Encoding has a body that runs until the client closes its side (a live audio stream:
ffmpeg's `-chunked_post 0`, as on the device); its deadline is then an idle one, renewed by each piece.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

if TYPE_CHECKING:
    from vigil.core.params import Change, ParamTree

log = logging.getLogger("vigil.http")


class RefusalLog:
    """Logs refused connections once a minute per address, with how many were refused since:
    a flood of refusals must not flood the system log."""

    def __init__(self, logger: logging.Logger, every: float = 60.0) -> None:
        self.logger = logger
        self.every = every
        self._held: dict[str, tuple[float, int]] = {}  # address -> (last logged, refusals not logged)

    def refused(self, address: str, message: str) -> None:
        now = time.monotonic()
        last, held = self._held.get(address, (0.0, 0))
        if last and now - last < self.every:
            self._held[address] = (last, held + 1)
            return
        if len(self._held) >= 1000:  # forget the quiet ones rather than grow
            self._held = {a: v for a, v in self._held.items() if now - v[0] < self.every}
        self._held[address] = (now, 0)
        more = f" ({held} more refused since the last report)" if held else ""
        self.logger.warning("%s%s", message, more)


@dataclass(frozen=True)
class HttpLimits:
    max_header_bytes: int = 16384
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 5.0
    max_client_connections: int = 64
    max_connections: int = 512

    @classmethod
    def read(cls, params: ParamTree) -> HttpLimits:
        return cls(params.get_int("Network.HTTP.MaxHeaderBytes"), params.get_int("Network.HTTP.HeaderTimeout"),
                   params.get_int("Network.HTTP.BodyTimeout"), params.get_int("Network.HTTP.IdleTimeout"),
                   params.get_int("Network.HTTP.MaxClientConnections"),
                   params.get_int("Network.HTTP.MaxConnections"))


def _reply(status: int, reason: str, text: str) -> bytes:
    body = text.encode()
    return (f"HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain; charset=utf-8\r\n"
            f"content-length: {len(body)}\r\nconnection: close\r\n\r\n").encode() + body


TOO_MANY = _reply(503, "Service Unavailable", "Too many connections, try again later\n")
HEAD_TOO_LARGE = _reply(431, "Request Header Fields Too Large", "Request header too large\n")
TOO_SLOW = _reply(408, "Request Timeout", "Request not received in time\n")


async def _head_too_large(scope, receive, send) -> None:  # the ASGI app for a head found too large when complete
    await send({"type": "http.response.start", "status": 431,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"), (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": b"Request header too large\n"})


class ConnectionGuard:
    """Counts the connections of both listeners and enforces their deadlines."""

    def __init__(self, limits: HttpLimits, params: ParamTree | None = None,
                 peers: Callable[[str, int], bool] | None = None, until_close: frozenset[str] = frozenset()) -> None:
        self.limits = limits
        self.until_close = until_close  # paths whose unannounced POST body ends when the client closes
        self.params = params
        self.peers = peers  # admits(peer, local port): the firewall's say (vigil.http.ports.Listening.admits)
        self.total = 0
        self.per_address: dict[str, int] = {}
        self.watched: set[LimitedProtocol] = set()
        self.refusals = RefusalLog(log)

    def on_params(self, changes: list[Change], actor: str) -> None:
        """Parameter listener: take new limits at once."""
        if self.params is not None and any(c.name.startswith("Network.HTTP.") for c in changes):
            self.limits = HttpLimits.read(self.params)

    def admit(self, address: str) -> bool:
        count = self.per_address.get(address, 0)
        if count >= self.limits.max_client_connections:
            self.refusals.refused(address, f"HTTP connection from {address} refused: "
                                           f"{count} connections open from that address")
            return False
        if self.total >= self.limits.max_connections:
            self.refusals.refused(address, f"HTTP connection from {address} refused: {self.total} connections open")
            return False
        self.per_address[address] = count + 1
        self.total += 1
        return True

    def release(self, address: str) -> None:
        self.total -= 1
        left = self.per_address[address] - 1
        if left:
            self.per_address[address] = left
        else:
            del self.per_address[address]

    def sweep(self, now: float) -> None:
        for protocol in [p for p in self.watched if p.deadline and now > p.deadline]:
            protocol.expire()

    async def run(self) -> None:
        """The deadline check, once a second, while the listeners serve."""
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(1.0)
            self.sweep(loop.time())


class LimitedProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol under a `ConnectionGuard` (a subclass sets `guard`)."""

    guard: ClassVar[ConnectionGuard]

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        self.timeout_keep_alive = self.guard.limits.idle_timeout
        self.deadline = 0.0  # loop time by which the head or body being received must be in; 0: none
        self._head: int | None = 0  # bytes of the request head so far; None: the head is complete
        self._message_done = False  # a request ended within the bytes being parsed
        self._address: str | None = None  # the address this connection counts for in the guard
        self._until_close = False  # the body of the request being received ends when the client closes

    def wrap(self, transport: asyncio.Transport) -> asyncio.Transport:
        """The transport the HTTP protocol writes to (a subclass may buffer it)."""
        return transport

    # -- connection ----------------------------------------------------------------------
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if peer else "local"
        local = transport.get_extra_info("sockname")
        if peer and local and self.guard.peers is not None and not self.guard.peers(address, local[1]):
            transport.abort()  # the firewall drops it: no answer at all
            return
        if not self.guard.admit(address):
            transport.write(TOO_MANY)
            transport.close()
            return
        self._address = address
        super().connection_made(self.wrap(transport))
        self.deadline = self.loop.time() + self.guard.limits.header_timeout
        self.guard.watched.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        if self._address is None:  # refused at the door: uvicorn never saw it
            return
        self._leave()
        super().connection_lost(exc)

    def _leave(self) -> None:
        if self._address is not None:
            self.guard.watched.discard(self)
            self.guard.release(self._address)
            self._address = None

    def handle_websocket_upgrade(self) -> None:
        super().handle_websocket_upgrade()
        # The WebSocket protocol owns the transport from now on; the connection still counts
        # until it closes, but has no HTTP deadlines any more.
        self.guard.watched.discard(self)
        self.deadline = 0.0
        websocket = self.transport.get_protocol()
        lost = websocket.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            self._leave()
            lost(exc)

        websocket.connection_lost = connection_lost  # type: ignore[method-assign]

    # -- bytes and parser events -------------------------------------------------------------
    def data_received(self, data: bytes) -> None:
        if self._until_close:  # no parser: all that comes is body
            self.deadline = self.loop.time() + self.guard.limits.body_timeout
            self.on_body(data)
            return
        self._message_done = False
        super().data_received(data)
        # Count what arrives while a head is incomplete. Bytes of a chunk in which a request
        # ended are not counted: part of them was its body (at most one read, 256 KiB, goes
        # uncounted; the complete head is measured exactly in on_headers_complete).
        if self._head is not None and not self._message_done:
            self._head += len(data)
            if self._head > self.guard.limits.max_header_bytes and not self.transport.is_closing():
                log.debug("request head over %d bytes from %s", self.guard.limits.max_header_bytes, self._address)
                self.transport.write(HEAD_TOO_LARGE)
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.deadline:
            self.deadline = self.loop.time() + self.guard.limits.header_timeout

    def on_headers_complete(self) -> None:
        limits = self.guard.limits
        self._head = None
        self.deadline = self.loop.time() + limits.body_timeout
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size <= limits.max_header_bytes:
            super().on_headers_complete()
            names = {name.lower() for name, _ in self.headers}
            self._until_close = (self.scope.get("path") in self.guard.until_close and self.scope["method"] == "POST"
                                 and not names & {b"content-length", b"transfer-encoding"})
            return
        log.debug("request head of %d bytes from %s", size, self._address)
        app, self.app = self.app, _head_too_large
        try:
            super().on_headers_complete()
        finally:
            self.app = app

    def on_message_complete(self) -> None:
        if self._until_close:  # the parser sees no body; it comes until the client closes
            return
        super().on_message_complete()
        self._head = 0
        self._message_done = True
        self.deadline = 0.0

    def eof_received(self) -> bool | None:
        """The client closed its side: the end of a body that runs until then (the reply still goes out)."""
        if self._until_close and self.cycle is not None:
            self._until_close = False
            self.deadline = 0.0
            super().on_message_complete()
            return True
        return None

    # -- deadlines ---------------------------------------------------------------------------
    def expire(self) -> None:
        """The head or body is late: 408 if nothing was answered yet, and close."""
        self.deadline = 0.0
        if self.transport.is_closing():
            return
        if self._head is not None:  # a head: answer only a client that began one
            log.debug("request head from %s not received in time", self._address)
            answer = bool(self._head)
        else:  # a body: answer unless the application already began its reply
            log.debug("request body from %s not received in time", self._address)
            answer = self.cycle is None or not self.cycle.response_started
        if answer:
            self.transport.write(TOO_SLOW)
        with contextlib.suppress(Exception):
            self.transport.close()
