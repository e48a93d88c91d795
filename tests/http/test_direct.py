"""Response bodies sent straight to the socket (vigil/http/direct.py) by the device's listeners:
offered on plain HTTP only, exact bytes (file regions by sendfile, buffers in between), the
connection reusable after it, a client whose socket is full waited for on the event loop, and a
client that goes away reported as such."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from tests.conftest import free_port
from vigil.footage.reader import FileSpan
from vigil.http import direct
from vigil.http.limits import ConnectionGuard, HttpLimits
from vigil.http.server import listener
from vigil.http.tls import ensure_certificate, server_context

SIZE = 24 << 20  # more than a loopback socket holds, so a client that does not read fills it


class App:
    """Sends HEAD + the file + TAIL, directly when the connection offers it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offered: list[bool] = []
        self.results: list[object] = []
        self.answered = asyncio.Event()

    async def __call__(self, scope, receive, send) -> None:
        body = direct.direct_body(scope)
        self.offered.append(body is not None)
        with self.path.open("rb") as f:
            size = self.path.stat().st_size
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-length", str(size + 8).encode())]})
            if body is None:
                await send({"type": "http.response.body", "body": b"HEAD" + f.read() + b"TAIL", "more_body": True})
            else:
                try:
                    self.results.append(await body.send(iter([b"HEAD", FileSpan(f.fileno(), 0, size),
                                                              memoryview(b"TAIL")])))
                except ConnectionError as err:
                    self.results.append(err)
                    return
                finally:
                    self.answered.set()
            await send({"type": "http.response.body", "body": b"", "more_body": False})


@pytest.fixture
def content(tmp_path: Path) -> Path:
    path = tmp_path / "footage.bin"
    block = bytes(range(256)) * 4096
    path.write_bytes(block * (SIZE // len(block)))
    return path


@pytest.fixture
def full(monkeypatch) -> asyncio.Event:
    """Set when a sending thread found the socket full and the event loop waits for it."""
    monkeypatch.setattr(direct, "FULL_WAIT", 0)  # a thread gives up the full socket at once
    event = asyncio.Event()
    waited = direct._writable

    async def writable(loop, sock) -> None:
        event.set()
        await waited(loop, sock)

    monkeypatch.setattr(direct, "_writable", writable)
    return event


async def _serve(app: App, tls: ssl.SSLContext | None = None):
    sock = socket.socket()
    sock.bind(("127.0.0.1", free_port()))
    sock.listen(16)  # connections wait in the backlog until the server accepts
    server = listener(app, ConnectionGuard(HttpLimits()), tls)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    return server, task, sock.getsockname()[1]


async def _stop(server, task) -> None:
    server.should_exit = True
    await task


async def test_plain_http_bodies_go_straight_to_the_socket_and_the_connection_stays_usable(content: Path) -> None:
    app = App(content)
    server, task, port = await _serve(app)
    expected = b"HEAD" + content.read_bytes() + b"TAIL"
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            for _ in range(2):  # the same keep-alive connection: the body's length was accounted for
                r = await client.get("/")
                assert r.status_code == 200 and r.content == expected
    finally:
        await _stop(server, task)
    assert app.offered == [True, True] and app.results == [len(expected)] * 2


async def test_a_client_with_a_full_socket_is_waited_for_on_the_event_loop(content: Path, full: asyncio.Event) -> None:
    app = App(content)
    server, task, port = await _serve(app)
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        await asyncio.wait_for(full.wait(), 30)  # not reading: the socket filled up, the loop waits for it
        reply = await reader.read()
        writer.close()
    finally:
        await _stop(server, task)
    head, body = reply.split(b"\r\n\r\n", 1)
    assert body == b"HEAD" + content.read_bytes() + b"TAIL"


async def test_a_client_that_goes_away_is_reported(content: Path, full: asyncio.Event) -> None:
    app = App(content)
    server, task, port = await _serve(app)
    try:
        client = socket.create_connection(("127.0.0.1", port))
        client.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        await asyncio.wait_for(full.wait(), 30)
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        client.close()  # a reset, with most of the body unsent
        await asyncio.wait_for(app.answered.wait(), 30)
    finally:
        await _stop(server, task)
    assert len(app.results) == 1 and isinstance(app.results[0], ConnectionError)


async def test_https_bodies_go_through_asgi_send(content: Path, tmp_path: Path) -> None:
    ensure_certificate(tmp_path / "cert.pem", tmp_path / "key.pem", "localhost", ["localhost"])
    app = App(content)
    server, task, port = await _serve(app, server_context(tmp_path / "cert.pem", tmp_path / "key.pem", True))
    try:
        async with httpx.AsyncClient(base_url=f"https://127.0.0.1:{port}", verify=False, timeout=30) as client:
            r = await client.get("/")
    finally:
        await _stop(server, task)
    assert app.offered == [False] and r.content == b"HEAD" + content.read_bytes() + b"TAIL"
