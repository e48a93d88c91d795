"""Serving: HTTP and HTTPS listeners on one event loop, restarted in-process when the
device restarts (restart.cgi, restore, factory default)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from pathlib import Path

import uvicorn

from vigil.core.clock import Clock
from vigil.device import CERT_FILE, CERT_KEY_FILE, Device, Ports, build_device, factory_reset
from vigil.http.app import create_app
from vigil.http.tls import ensure_certificate

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


def _listener(app, **tls: str) -> _Server:
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off",
                            timeout_graceful_shutdown=2, **tls)
    return _Server(config)


async def serve_device(device: Device, host: str) -> None:
    """Serve until the device asks to stop."""
    app = create_app(device)
    ensure_certificate(device.data / CERT_FILE, device.data / CERT_KEY_FILE,
                       device.params.get("Network.HostName"), ["localhost", device.params.get("Network.HostName")])
    listeners = [(_listener(app), bind(host, device.ports.http))]
    if device.params.get_bool("HTTPS.Enabled"):
        tls = _listener(app, ssl_certfile=str(device.data / CERT_FILE), ssl_keyfile=str(device.data / CERT_KEY_FILE))
        try:
            listeners.append((tls, bind(host, device.ports.https)))
        except PortInUse:
            listeners[0][1].close()
            raise
    servers = [server for server, _ in listeners]
    tasks = [asyncio.create_task(server.serve(sockets=[sock])) for server, sock in listeners]
    flusher = asyncio.create_task(_flush_logs(device))
    background = [asyncio.create_task(service()) for service in device.services]
    stopper = asyncio.create_task(device.stopping.wait())
    done, _ = await asyncio.wait([*tasks, stopper], return_when=asyncio.FIRST_COMPLETED)
    for s in servers:
        s.should_exit = True
    await asyncio.gather(*tasks, return_exceptions=True)
    flusher.cancel()
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


async def run(profile: str, data: Path, ports: Ports, host: str = "0.0.0.0", clock: Clock | None = None) -> None:
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
            await serve_device(device, host)
        finally:
            device.close()
        action = device.next_action
        if action == "shutdown":
            return
        if action in ("factory-default", "hard-factory-default"):
            factory_reset(data, hard=action == "hard-factory-default")
        log.info("device %s, starting again", action)
