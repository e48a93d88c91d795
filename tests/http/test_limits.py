"""Exhaustion limits of the HTTP listeners (probe finding 9), over real sockets against a real
`vigil run`: request head size, head and body timeouts (slowloris), the idle keep-alive timeout,
and connections per client address and in all. Each limit is a parameter; the tests set them
small so that they act within a second or two."""

from __future__ import annotations

import base64
import contextlib
import socket
from collections.abc import Iterator

import httpx
import psutil
import pytest

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live, wait_until

AUTH = httpx.DigestAuth(*ADMIN)
DEFAULTS = {"Network.HTTP.MaxHeaderBytes": "16384", "Network.HTTP.HeaderTimeout": "10",
            "Network.HTTP.BodyTimeout": "30", "Network.HTTP.IdleTimeout": "5",
            "Network.HTTP.MaxClientConnections": "64", "Network.HTTP.MaxConnections": "512"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDevice]:
    live = start_live(tmp_path_factory.mktemp("limits") / "data")
    create_admin_live(live)
    yield live
    live.stop()


@pytest.fixture
def live(server: LiveDevice) -> Iterator[LiveDevice]:
    yield server
    configure(server, **DEFAULTS)


def configure(server: LiveDevice, **values: str) -> None:
    r = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "update", **values}, auth=AUTH)
    assert r.text == "OK\r\n", r.text


def connect(server: LiveDevice, source: str = "127.0.0.1") -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.http_port), timeout=15, source_address=(source, 0))


def until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (15 s at most)."""
    received = b""
    with contextlib.suppress(ConnectionResetError):
        while chunk := sock.recv(65536):
            received += chunk
    return received


def answers(server: LiveDevice) -> bool:
    try:
        return httpx.get(server.http + "/vigil/session", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def system_log(server: LiveDevice) -> str:
    return httpx.get(server.http + "/axis-cgi/systemlog.cgi", auth=AUTH).text


def test_request_head_size_is_limited(live: LiveDevice) -> None:
    # A whole head over the limit: 431.
    with connect(live) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Pad: " + b"a" * 20000 + b"\r\n\r\n")
        assert until_closed(sock).startswith(b"HTTP/1.1 431 ")
    # A head that never ends is cut off after the limit, not held: connections that would send
    # 16 MB each are closed by the server long before they are through.
    rss = psutil.Process(live.process.pid).memory_info().rss
    for _ in range(10):
        with connect(live) as sock:
            sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nX-Pad: ")
            with pytest.raises((BrokenPipeError, ConnectionResetError)):
                for _ in range(256):
                    sock.sendall(b"a" * 65536)
    assert psutil.Process(live.process.pid).memory_info().rss - rss < 40 * 1024 * 1024
    configure(live, **{"Network.HTTP.MaxHeaderBytes": "1024"})
    r = httpx.get(live.http + "/index.html", headers={"X-Pad": "a" * 1100})
    assert r.status_code == 431
    assert httpx.get(live.http + "/index.html", headers={"X-Pad": "a" * 800}).status_code == 200


def test_slow_or_missing_request_head_times_out(live: LiveDevice) -> None:
    configure(live, **{"Network.HTTP.HeaderTimeout": "1"})
    with connect(live) as slow, connect(live) as silent:
        slow.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n")  # and then a header line every few seconds...
        assert until_closed(slow).startswith(b"HTTP/1.1 408 ")  # (reads time out after 15 s)
        assert until_closed(silent) == b""  # a connection that never said anything is just closed
    # A keep-alive connection gets the same time for its next head.
    with connect(live) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
        sock.sendall(b"GET /index.html HTTP/1.1\r\n")
        assert b"HTTP/1.1 408 " in until_closed(sock)
    assert answers(live)


def test_slow_request_body_times_out(live: LiveDevice) -> None:
    configure(live, **{"Network.HTTP.BodyTimeout": "1"})
    with connect(live) as sock:
        basic = base64.b64encode(f"{ADMIN[0]}:{ADMIN[1]}".encode())
        sock.sendall(b"POST /axis-cgi/param.cgi HTTP/1.1\r\nHost: x\r\nContent-Length: 100000000\r\n"
                     b"Authorization: Basic " + basic + b"\r\n"
                     b"Content-Type: application/x-www-form-urlencoded\r\n\r\naction=list&")
        assert until_closed(sock).startswith(b"HTTP/1.1 408 ")
    # The handler that was reading the body learns that the client is gone: no error logged
    # (tests/http/test_pages.py checks that case on its own).
    log = system_log(live)
    assert "Traceback" not in log and "/axis-cgi/param.cgi failed" not in log


def test_idle_keep_alive_connection_is_closed(live: LiveDevice) -> None:
    configure(live, **{"Network.HTTP.IdleTimeout": "1"})
    with connect(live) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n")
        assert until_closed(sock).startswith(b"HTTP/1.1 200 ")  # closed by the server within the 15 s read timeout


def test_connections_per_client_address_and_in_total(live: LiveDevice) -> None:
    configure(live, **{"Network.HTTP.MaxClientConnections": "8", "Network.HTTP.MaxConnections": "16",
                       "Network.HTTP.HeaderTimeout": "60"})
    held: list[socket.socket] = []
    try:
        for source in ("127.0.0.1", "127.0.0.2"):
            held += [connect(live, source) for _ in range(8)]
            # Let the server take them in: the next one from that address is refused.
            refused = connect(live, source)
            assert until_closed(refused).startswith(b"HTTP/1.1 503 "), source
            refused.close()
        # 16 in all: a third address is refused too.
        with connect(live, "127.0.0.3") as third:
            assert until_closed(third).startswith(b"HTTP/1.1 503 ")
        # Once one of them goes, the device answers again.
        held.pop().close()
        wait_until(lambda: answers_from(live, "127.0.0.3"), 10, "a free connection slot")
    finally:
        for sock in held:
            sock.close()
    wait_until(lambda: answers(live), 10, "the device answering everyone again")
    wait_until(lambda: "refused: 16 connections open" in system_log(live), 10, "the log entry")
    assert "HTTP connection from 127.0.0.1 refused: 8 connections open from that address" in system_log(live)


def answers_from(server: LiveDevice, source: str) -> bool:
    with connect(server, source) as sock:
        sock.sendall(b"GET /index.html HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        return until_closed(sock).startswith(b"HTTP/1.1 200 ")
