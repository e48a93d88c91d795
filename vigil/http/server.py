"""Serving: HTTP and HTTPS listeners on one event loop, restarted in-process when the
device restarts (restart.cgi, restore, factory default)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
import ssl
from pathlib import Path

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from vigil.boot import build_device, factory_reset
from vigil.core.clock import Clock
from vigil.device import CERT_FILE, CERT_KEY_FILE, Device, Ports
from vigil.http.app import create_app
from vigil.http.limits import ConnectionGuard, HttpLimits, LimitedProtocol
from vigil.http.tls import ensure_certificate, server_context, set_tls12

log = logging.getLogger("vigil.server")


class _Server(uvicorn.Server):
    # The supervisor owns the signals; each listener must not steal them.
    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


class PortInUse(SystemExit):
    pass


def bind(host: str, port: int) -> socket.socket:
    """Bind a listening socket up front, so that a busy port is one clear error."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise PortInUse(f"vigil: cannot listen on {host}:{port}: {err.strerror}") from None
    sock.listen(1024)
    sock.setblocking(False)
    return sock


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


def _http_protocol(guard: ConnectionGuard | None):
    """The listeners' protocol: httptools (uvicorn[standard]) with coalesced writes, under
    `guard`'s limits."""
    if guard is None:  # no limits (the bench's bare baseline)
        class Protocol(HttpToolsProtocol):
            def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
                super().connection_made(_CoalescingTransport(transport, self.loop))  # type: ignore[arg-type]

        return Protocol

    class Limited(LimitedProtocol):
        def wrap(self, transport: asyncio.Transport) -> asyncio.Transport:
            return _CoalescingTransport(transport, self.loop)  # type: ignore[return-value]

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


async def serve_device(device: Device) -> None:
    """Serve until the device asks to stop."""
    app = create_app(device)
    ensure_certificate(device.data / CERT_FILE, device.data / CERT_KEY_FILE,
                       device.params.get("Network.HostName"), ["localhost", device.params.get("Network.HostName")])
    host = device.ports.host
    guard = ConnectionGuard(HttpLimits.read(device.params), device.params)
    device.params.listeners.append(guard.on_params)
    listeners = [(listener(app, guard), bind(host, device.ports.http))]
    if device.params.get_bool("HTTPS.Enabled"):
        context = server_context(device.data / CERT_FILE, device.data / CERT_KEY_FILE,
                                 device.params.get_bool("HTTPS.AllowTLS12"))

        def on_tls_params(changes: list, actor: str) -> None:
            if any(c.name == "HTTPS.AllowTLS12" for c in changes):
                set_tls12(context, device.params.get_bool("HTTPS.AllowTLS12"))

        device.params.listeners.append(on_tls_params)
        try:
            listeners.append((listener(app, guard, context), bind(host, device.ports.https)))
        except PortInUse:
            listeners[0][1].close()
            raise
    servers = [server for server, _ in listeners]
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in listeners]
    flusher = asyncio.create_task(_flush_logs(device))
    sweeper = asyncio.create_task(guard.run())
    background = [asyncio.create_task(service()) for service in device.services]
    stopper = asyncio.create_task(device.stopping.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    flusher.cancel()
    sweeper.cancel()
    stopper.cancel()
    for task in background:
        task.cancel()
    await asyncio.gather(*background, return_exceptions=True)
    for _, sock in listeners:
        sock.close()
    if not device.stopping.is_set():
        raise SystemExit("vigil: a listener stopped unexpectedly")


async def _flush_logs(device: Device) -> None:
    while True:
        await asyncio.sleep(0.25)
        device.logs.flush()


async def run(profile: str, data: Path, ports: Ports, clock: Clock | None = None) -> None:
    """Build the device, serve it, and rebuild it after every restart until shut down."""
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
            await serve_device(device)
        finally:
            device.close()
        action = device.next_action
        if action == "shutdown":
            return
        if action in ("factory-default", "hard-factory-default"):
            factory_reset(data, hard=action == "hard-factory-default")
        log.info("device %s, starting again", action)
