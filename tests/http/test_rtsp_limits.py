"""Idle connections cannot lock clients out of the RTSP metadata stream (probe finding 10), over
real sockets against a real `vigil run`: connections per client address are capped, and a
connection that sends no request within Network.RTSP.RequestTimeout is closed."""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live

AUTH = httpx.DigestAuth(*ADMIN)


@pytest.fixture
def live(tmp_path) -> Iterator[LiveDevice]:
    server = start_live(tmp_path / "data")
    create_admin_live(server)
    yield server
    server.stop()


def configure(server: LiveDevice, **values: str) -> None:
    r = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "update", **values}, auth=AUTH)
    assert r.text == "OK\r\n", r.text


def connect(server: LiveDevice, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.rtsp_port), timeout=15, source_address=(source, 0))


def options(sock: socket.socket) -> bytes:
    sock.sendall(b"OPTIONS * RTSP/1.0\r\nCSeq: 1\r\n\r\n")
    return sock.recv(4096)


def until_closed(sock: socket.socket) -> bytes:
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(4096):
            received += chunk
    return received


def test_idle_connections_cannot_lock_others_out(live: LiveDevice) -> None:
    configure(live, **{"Network.RTSP.MaxClientConnections": "8", "Network.RTSP.RequestTimeout": "2"})
    idle = [connect(live) for _ in range(8)]
    try:
        assert options(connect(live)).startswith(b"RTSP/1.0 503 ")  # the 9th from that address
        with connect(live, "127.0.0.2") as other:  # another client is served
            assert options(other).startswith(b"RTSP/1.0 200 ")
        # Connections that never send a request are closed after the request timeout (the reads
        # time out after 15 s, well before the 60 s session timeout)...
        for sock in idle:
            assert until_closed(sock) == b""
        # ...and the address is served again.
        with connect(live) as sock:
            assert options(sock).startswith(b"RTSP/1.0 200 ")
            # Once it has sent a request, a connection has the normal session timeout.
            time.sleep(3)  # longer than the request timeout: nothing to await, the point is that nothing happens
            assert options(sock).startswith(b"RTSP/1.0 200 ")
    finally:
        for sock in idle:
            sock.close()
