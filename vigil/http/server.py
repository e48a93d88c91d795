"""Serving: HTTP and HTTPS listeners on one event loop, moved when their ports change
(vigil/http/ports.py), and the device rebuilt in-process when it restarts (restart.cgi,
restore, factory default)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import signal
import socket
import ssl
from collections.abc import Callable
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vigil.boot import build_device, factory_reset
from vigil.core.clock import Clock
from vigil.device import CERT_FILE, CERT_KEY_FILE, Device, Ports
from vigil.features.certificates.https import HTTPS_SETTINGS
from vigil.http.app import create_app
from vigil.http.direct import DIRECT_BODY, DirectBody
from vigil.http.limits import ConnectionGuard, HttpLimits, LimitedProtocol
from vigil.http.ports import HTTP, HTTPS, Kind, PortInUse
from vigil.http.ports import bind as bind  # bench/http.py's bare server binds with it
from vigil.http.tls import ensure_certificate, server_context, set_tls12

log = logging.getLogger("vigil.server")


class _Server(uvicorn.Server):
    # The supervisor owns the signals; each listener must not steal them.
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


# The header names clients parse, in the case real devices send them (uvicorn writes them in lower case).
_SPELLED = tuple((b"\r\n" + name.lower() + b": ", b"\r\n" + name + b": ") for name in (
    b"Content-Length", b"Content-Type", b"WWW-Authenticate", b"Location", b"Set-Cookie", b"Date"))


def canonical_head(head: bytes) -> bytes:
    """A response head with the header names clients parse in their usual case (`Content-Length`).

    HTTP lets names come in any case, yet clients built for cameras search for `Content-Length: `
    as written (libonvif, the ONVIF library of Debian's onvif-tools, did until 2026), as real
    devices send it. A few replaces: about 1 µs a response.
    """
    for lower, spelled in _SPELLED:
        head = head.replace(lower, spelled)
    return head


class _CoalescingTransport:
    """Hands the writes of one event-loop step to the real transport as one `writelines`.

    uvicorn writes a response's status line and headers, then its body, as two writes, and
    each write on an idle socket is a send() system call and a TCP segment of its own. Held
    until the end of the step (or until 64 KiB are waiting), they leave in one call.
    """

    __slots__ = ("transport", "_loop", "_pending", "_size")
    LIMIT = 65536

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self.transport = transport
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        # uvicorn writes a response head on its own, as bytes; a body may come as any buffer.
        if type(data) is bytes and data.startswith(b"HTTP/1.") and data.endswith(b"\r\n\r\n"):
            data = canonical_head(data)
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(data)
        self._size += len(data)
        if self._size >= self.LIMIT:
            self.flush()

    def writelines(self, lines) -> None:
        for data in lines:
            self.write(data)

    def flush(self) -> None:
        if self._pending:
            pending, self._pending, self._size = self._pending, [], 0
            if not self.transport.is_closing():
                self.transport.writelines(pending)

    def get_write_buffer_size(self) -> int:
        return self.transport.get_write_buffer_size() + self._size

    def write_eof(self) -> None:
        self.flush()
        self.transport.write_eof()

    def close(self) -> None:
        self.flush()
        self.transport.close()

    def abort(self) -> None:
        self._pending, self._size = [], 0
        self.transport.abort()

    def __getattr__(self, name: str):
        return getattr(self.transport, name)


def _offer_direct_body(protocol: HttpToolsProtocol) -> None:
    """Offer the request whose head just completed the direct body extension (direct.py):
    plain HTTP only, and not to a request that upgraded (its cycle is not this scope's)."""
    cycle = protocol.cycle
    scope = protocol.scope
    if cycle is not None and cycle.scope is scope and scope.get("scheme") == "http":
        scope.setdefault("extensions", {})[DIRECT_BODY] = DirectBody(protocol, cycle)  # type: ignore[index]


def _http_protocol(guard: ConnectionGuard | None):
    """The listeners' protocol: httptools (uvicorn[standard]) with coalesced writes and the
    direct body extension, under `guard`'s limits."""
    if guard is None:  # no limits (the bench's bare baseline)
        class Protocol(HttpToolsProtocol):
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

            def on_headers_complete(self) -> None:
                super().on_headers_complete()
                _offer_direct_body(self)

        return Protocol

    class Limited(LimitedProtocol):
        def wrap(self, transport: asyncio.Transport) -> asyncio.Transport:
            return _CoalescingTransport(transport, self.loop)  # type: ignore[return-value]

        def on_headers_complete(self) -> None:
            super().on_headers_complete()
            _offer_direct_body(self)

    Limited.guard = guard
    return Limited


def listener(app, guard: ConnectionGuard | None = None, tls: ssl.SSLContext | None = None) -> _Server:
    # No proxy-headers middleware: the device is reached directly, so X-Forwarded-For must
    # not rewrite the client address (brute-force blocking and audit use it); no Server header.
    options = {}
    if tls is not None:
        options["ssl_context_factory"] = lambda config, default: tls
    config = uvicorn.Config(app, http=_http_protocol(guard), log_level="warning", access_log=False, lifespan="off",
                            proxy_headers=False, server_header=False, timeout_graceful_shutdown=2,
                            timeout_keep_alive=guard.limits.idle_timeout if guard else 5, **options)
    return _Server(config)


class HttpListeners:
    """The device's HTTP and HTTPS listeners, one uvicorn server each, on the sockets
    `device.listening` gives them: moved to a new socket when a port changes, the HTTPS one
    opened and closed with HTTPS.Enabled, without a restart.

    A listener that moves away stops accepting at once; the requests under way on it finish
    (within the graceful-shutdown time), its idle connections close."""

    def __init__(self, device: Device, app, guard: ConnectionGuard, tls: ssl.SSLContext) -> None:
        self.device = device
        self.app = app
        self.guard = guard
        self.tls = tls
        self.serving: dict[Kind, tuple[_Server, asyncio.Task]] = {}
        self.leaving: set[asyncio.Task] = set()
        self.failed = asyncio.Event()  # a listener stopped without being asked to

    def start(self) -> None:
        listening = self.device.listening
        sockets = {}
        try:
            for kind in (HTTP, HTTPS):
                sockets[kind] = listening.attach(kind, functools.partial(self.move, kind))
        except PortInUse:
            for sock in sockets.values():
                if sock is not None:
                    sock.close()
            self.stop_following()
            raise
        for kind, sock in sockets.items():
            if sock is not None:
                self._serve(kind, sock)

    def move(self, kind: Kind, sock: socket.socket | None) -> None:
        """Serve `kind` on `sock` from now on (None: close it)."""
        old = self.serving.pop(kind, None)
        if sock is not None:
            self._serve(kind, sock)
        if old is not None:
            self._leave(*old)

    def _serve(self, kind: Kind, sock: socket.socket) -> None:
        server = listener(self.app, self.guard, self.tls if kind is HTTPS else None)
        task = asyncio.create_task(server.serve(sockets=[sock]))
        self.serving[kind] = (server, task)
        task.add_done_callback(lambda done: self._ended(kind, done))

    def _leave(self, server: _Server, task: asyncio.Task) -> None:
        # Now, not at the server's next tick: the port closes, idle connections close, and the
        # responses under way (that of the request that moved it, too) say `connection: close`.
        for accepting in getattr(server, "servers", ()):  # not yet there while it starts: should_exit does it
            accepting.close()
        for connection in list(server.server_state.connections):
            connection.shutdown()
        server.should_exit = True
        self.leaving.add(task)
        task.add_done_callback(self.leaving.discard)

    def _ended(self, kind: Kind, task: asyncio.Task) -> None:
        current = self.serving.get(kind)
        if current is not None and current[1] is task and not self.device.stopping.is_set():
            log.error("the %s listener stopped unexpectedly", kind.name)
            self.failed.set()

    def stop_following(self) -> None:
        for kind in (HTTP, HTTPS):
            self.device.listening.detach(kind)

    async def stop(self) -> None:
        self.stop_following()
        tasks = [*self.leaving]
        for server, task in self.serving.values():
            server.should_exit = True
            tasks.append(task)
        await asyncio.gather(*tasks, return_exceptions=True)


async def serve_device(device: Device, on_listening: Callable[[Device], None] | None = None) -> None:
    """Serve until the device asks to stop; `on_listening` is told once the listeners are bound."""
    app = create_app(device)
    ensure_certificate(device.data / CERT_FILE, device.data / CERT_KEY_FILE,
                       device.params.get("Network.HostName"), ["localhost", device.params.get("Network.HostName")])
    guard = ConnectionGuard(HttpLimits.read(device.params), device.params, device.listening.admits,
                            frozenset(e.path for e in device.router.endpoints if e.body_until_close))
    device.params.listeners.append(guard.on_params)
    context = server_context(device.data / CERT_FILE, device.data / CERT_KEY_FILE,
                             device.params.get_bool("HTTPS.AllowTLS12"))

    def on_tls_params(changes: list, actor: str) -> None:
        if any(c.name == "HTTPS.AllowTLS12" for c in changes):
            set_tls12(context, device.params.get_bool("HTTPS.AllowTLS12"))

    device.params.listeners.append(on_tls_params)
    https = device.features.get(HTTPS_SETTINGS)
    if https is not None:  # the certificate and the cryptographic policy chosen on the device
        https.attach(context)
    listeners = HttpListeners(device, app, guard, context)
    listeners.start()
    if on_listening is not None:
        on_listening(device)
    flusher = asyncio.create_task(_flush_logs(device))
    sweeper = asyncio.create_task(guard.run())
    background = [asyncio.create_task(service()) for service in device.services]
    stopper = asyncio.create_task(device.stopping.wait())
    failure = asyncio.create_task(listeners.failed.wait())
    await asyncio.wait([stopper, failure], return_when=asyncio.FIRST_COMPLETED)
    await listeners.stop()
    for task in (flusher, sweeper, stopper, failure):
        task.cancel()
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    if not device.stopping.is_set():
        raise SystemExit("vigil: a listener stopped unexpectedly")


async def _flush_logs(device: Device) -> None:
    while True:
        await asyncio.sleep(0.25)
        device.logs.flush()


async def run(profile: str, data: Path, ports: Ports, clock: Clock | None = None,
              on_listening: Callable[[Device], None] | None = None) -> str:
    """Build the device, serve it, and rebuild it after every restart until shut down, or until
    it asks to boot afresh (another software slot: "reboot"); that last action.
    `on_listening` is told each time its listeners are bound."""
    loop = asyncio.get_running_loop()
    current: list[Device] = []

    def shutdown() -> None:
        if current:
            current[0].request_stop("shutdown")

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, shutdown)
    while True:
        device = build_device(profile, data, ports, clock)
        current[:] = [device]
        try:
            await serve_device(device, on_listening)
        finally:
            device.close()
        action = device.next_action
        if action in ("shutdown", "reboot"):
            return action
        if action in ("factory-default", "hard-factory-default"):
            factory_reset(data, hard=action == "hard-factory-default")
        log.info("device %s, starting again", action)
