"""Plumbing of the real peers (and of the benchmarks): a free loopback port to listen on, waiting
until something listens there, and stopping a peer's process for good. Standard library only, so
that a benchmark process can import it without pytest."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import time

_GIVEN: set[int] = set()


def free_port() -> int:
    """A loopback TCP port nothing listens on (the kernel's choice, released at once) and never
    handed out before in this run: released at once, the kernel may choose the same port again
    for the next call, and a test that asks for two ports would get one twice."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _GIVEN:
            _GIVEN.add(port)
            return port


def port_open(port: int) -> bool:
    """Whether something accepts connections on 127.0.0.1:`port` now."""
    try:
        socket.create_connection(("127.0.0.1", port), 0.5).close()
        return True
    except OSError:
        return False


def wait_port(port: int, timeout: float = 5.0, process: subprocess.Popen | None = None,
              host: str = "127.0.0.1") -> None:
    """Block until `host`:`port` (default 127.0.0.1) accepts a connection; RuntimeError when `process` (the peer
    that should listen there) exits first, TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            if process is not None and process.poll() is not None:
                raise RuntimeError(f"{process.args[0]} exited with {process.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.02)


async def wait_port_async(port: int, timeout: float = 5.0) -> None:
    """`wait_port` for a server running on this event loop (a blocking wait would starve it)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


def stop_process(process: subprocess.Popen | None, timeout: float = 5.0, sig: int = signal.SIGTERM,
                 group: bool = False) -> None:
    """End `process` (with `group`, its whole process group): `sig`, then SIGKILL after `timeout` s."""
    if process is None or process.poll() is not None:
        return

    def send(number: int) -> None:
        if group:
            os.killpg(process.pid, number)
        else:
            process.send_signal(number)

    send(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        send(signal.SIGKILL)
        process.wait()
