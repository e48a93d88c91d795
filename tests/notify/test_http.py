"""HTTP and HTTPS recipients against a real uvicorn server on 127.0.0.1 (Basic, Digest, TLS, proxy)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from tests.conftest import free_port
from tests.peers.certs import self_signed
from vigil.features.notify import delivery as notify
from vigil.features.notify.delivery import deliver
from vigil.features.notify.model import Message, Recipient, RecipientError

pytestmark = pytest.mark.asyncio(loop_scope="module")

USER, PASSWORD, REALM = "alice", "s3cret", "vigil-test"


@dataclass
class Got:
    path: str
    content_type: str
    body: bytes
    form: dict = field(default_factory=dict)
    authorization: str = ""


def _digest_ok(header: str, method: str, nonces: set[str]) -> bool:
    if not header.lower().startswith("digest "):
        return False
    p = dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
    if p.get("username") != USER or p.get("nonce") not in nonces or p.get("realm") != REALM:
        return False
    ha1 = hashlib.md5(f"{USER}:{REALM}:{PASSWORD}".encode()).hexdigest()
    ha2 = hashlib.md5(f"{method}:{p['uri']}".encode()).hexdigest()
    expected = hashlib.md5(f"{ha1}:{p['nonce']}:{p['nc']}:{p['cnonce']}:{p['qop']}:{ha2}".encode()).hexdigest()
    return p.get("qop") == "auth" and secrets.compare_digest(expected, p.get("response", ""))


def make_app(got: list[Got]) -> Starlette:
    nonces: set[str] = set()
    basic = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    async def handler(request: Request) -> Response:
        kind = request.path_params["kind"]
        auth = request.headers.get("authorization", "")
        if kind == "basic" and auth != basic:
            return PlainTextResponse("no", 401, {"WWW-Authenticate": f'Basic realm="{REALM}"'})
        if kind == "digest" and not _digest_ok(auth, request.method, nonces):
            nonce = secrets.token_hex(16)
            nonces.add(nonce)
            return PlainTextResponse("no", 401, {"WWW-Authenticate": f'Digest realm="{REALM}", qop="auth", '
                                                                      f'nonce="{nonce}", algorithm=MD5'})
        if kind == "missing":
            return PlainTextResponse("not here", 404)
        ctype = request.headers.get("content-type", "")
        item = Got(kind, ctype, b"", authorization=auth)
        if ctype.startswith("multipart/form-data"):
            form = await request.form()
            for k, v in form.items():
                item.form[k] = (v.filename, await v.read()) if hasattr(v, "filename") else v
        else:
            item.body = await request.body()
        got.append(item)
        return PlainTextResponse("ok")

    return Starlette(routes=[Route("/{kind}", handler, methods=["POST"])])


class QuietServer(uvicorn.Server):
    """uvicorn without its SIGINT/SIGTERM handlers: it runs inside pytest's loop."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve(app: Starlette, **ssl: str) -> tuple[uvicorn.Server, asyncio.Task, int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", lifespan="off", **ssl)
    server = QuietServer(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        assert not task.done(), task.result()
        await asyncio.sleep(0.005)
    return server, task, sock.getsockname()[1]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def servers(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[dict]:
    """One HTTP and one HTTPS server for the whole module (starting uvicorn costs ~0.2 s)."""
    got: list[Got] = []
    cf, kf = self_signed(tmp_path_factory.mktemp("tls"))
    app = make_app(got)
    plain, plain_task, http_port = await serve(app)
    tls, tls_task, https_port = await serve(app, ssl_certfile=cf, ssl_keyfile=kf)
    yield {"http": f"http://127.0.0.1:{http_port}", "https": f"https://127.0.0.1:{https_port}", "got": got}
    for server in (plain, tls):
        server.should_exit = True
    await asyncio.gather(plain_task, tls_task)


@pytest.fixture
def web(servers: dict) -> dict:
    servers["got"].clear()
    return servers


@pytest.fixture
async def hanging() -> AsyncIterator[int]:
    """A server that accepts connections and never answers."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    for w in held:
        w.close()
    server.close()
    await server.wait_closed()


async def test_http_plain_body(web: dict) -> None:
    await deliver(Recipient("hook", "http", {"url": web["http"] + "/open"}), Message("Subj", "Motion on cam 1 – ✓"))
    [got] = web["got"]
    assert got.body == "Motion on cam 1 – ✓".encode() and got.content_type.startswith("text/plain")


@pytest.mark.parametrize("auth", ["auto", "basic"])
async def test_http_basic_auth(web: dict, auth: str) -> None:
    rcp = Recipient("hook", "http", {"url": web["http"] + "/basic", "username": USER, "password": PASSWORD,
                                     "auth": auth})
    await deliver(rcp, Message("s", "hello basic"))
    assert [g.body for g in web["got"]] == [b"hello basic"]
    assert web["got"][0].authorization.startswith("Basic ")


@pytest.mark.parametrize("auth", ["auto", "digest"])
async def test_http_digest_auth_with_attachment(web: dict, auth: str) -> None:
    rcp = Recipient("hook", "http", {"url": web["http"] + "/digest", "username": USER, "password": PASSWORD,
                                     "auth": auth})
    data = bytes(range(256)) * 100
    await deliver(rcp, Message("Alarm", "door opened", ("snap.jpg", data)))
    [got] = web["got"]
    assert got.authorization.startswith("Digest ")
    assert got.form == {"subject": "Alarm", "message": "door opened", "file": ("snap.jpg", data)}


async def test_http_wrong_password_and_errors(web: dict) -> None:
    for path, auth in (("/digest", "auto"), ("/basic", "basic"), ("/basic", "digest")):
        rcp = Recipient("hook", "http", {"url": web["http"] + path, "username": USER, "password": "wrong",
                                         "auth": auth})
        with pytest.raises(RecipientError, match=r"refused the user name or password \(HTTP 401"):
            await deliver(rcp, Message("s", "b"))
    with pytest.raises(RecipientError, match=r"requires a user name and password \(HTTP 401"):
        await deliver(Recipient("hook", "http", {"url": web["http"] + "/basic"}), Message("s", "b"))
    with pytest.raises(RecipientError, match=r"^Recipient 'hook': the server has no such page .*HTTP 404"):
        await deliver(Recipient("hook", "http", {"url": web["http"] + "/missing"}), Message("s", "b"))
    assert web["got"] == []


async def test_https_certificate_validation(web: dict) -> None:
    rcp = Recipient("secure", "https", {"url": web["https"] + "/basic", "username": USER, "password": PASSWORD})
    with pytest.raises(RecipientError, match="certificate was refused .*self.signed.*validate server certificate"):
        await deliver(rcp, Message("s", "b"))
    assert web["got"] == []
    off = Recipient("secure", "https", {**rcp.settings, "validate_cert": "no"})
    await deliver(off, Message("s", "over tls"))
    assert [g.body for g in web["got"]] == [b"over tls"]
    await notify.test_recipient(off)
    assert b"test message" in web["got"][1].body


async def test_http_through_proxy(web: dict) -> None:
    """A small forwarding proxy (absolute-form requests) that requires proxy Basic auth."""
    seen: list[tuple[str, str]] = []
    expected = "Basic " + base64.b64encode(b"px:pw").decode()

    async def proxy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        lines = head.split("\r\n")
        method, target, version = lines[0].split(" ")
        headers = [h for h in lines[1:] if h]
        auth = next((h.split(":", 1)[1].strip() for h in headers if h.lower().startswith("proxy-authorization:")), "")
        seen.append((target, auth))
        if auth != expected:
            writer.write(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"p\"\r\n"
                         b"Content-Length: 0\r\nConnection: close\r\n\r\n")
            await writer.drain()
            writer.close()
            return
        url = urlsplit(target)
        up_reader, up_writer = await asyncio.open_connection(url.hostname, url.port)
        kept = [h for h in headers if not h.lower().startswith(("proxy-", "connection:"))]
        request_head = "".join(line + "\r\n" for line in [f"{method} {url.path} {version}", *kept, "Connection: close"])
        up_writer.write((request_head + "\r\n").encode("latin-1"))

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            while chunk := await src.read(65536):
                dst.write(chunk)
                await dst.drain()

        upload = asyncio.create_task(pump(reader, up_writer))
        await pump(up_reader, writer)
        upload.cancel()
        up_writer.close()
        writer.close()

    server = await asyncio.start_server(proxy, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = {"url": web["http"] + "/open", "proxy": f"127.0.0.1:{port}", "proxy_username": "px",
                    "proxy_password": "pw"}
        await deliver(Recipient("via proxy", "http", settings), Message("s", "proxied"))
        assert seen == [(web["http"] + "/open", expected)]
        assert [g.body for g in web["got"]] == [b"proxied"]
        with pytest.raises(RecipientError, match="proxy refused the proxy user name or password"):
            await deliver(Recipient("via proxy", "http", {**settings, "proxy_password": "bad"}), Message("s", "x"))
    finally:
        server.close()
        await server.wait_closed()


async def test_closed_port_fails_fast() -> None:
    t0 = time.monotonic()
    with pytest.raises(RecipientError, match="connection refused by 127.0.0.1:.*no server is listening"):
        await deliver(Recipient("gone", "http", {"url": f"http://127.0.0.1:{free_port()}/x"}), Message("s", "b"))
    assert time.monotonic() - t0 < 2.0  # refused at once, not after the 15 s timeout


async def test_hanging_target_does_not_delay_another(web: dict, hanging: int) -> None:
    slow = Recipient("slow", "http", {"url": f"http://127.0.0.1:{hanging}/x"})
    fast = Recipient("fast", "http", {"url": web["http"] + "/open"})
    t0 = time.monotonic()
    slow_task = asyncio.create_task(deliver(slow, Message("s", "1"), timeout=1.0))
    fast_task = asyncio.create_task(deliver(fast, Message("s", "2"), timeout=5))
    await asyncio.wait([fast_task, slow_task], return_when=asyncio.FIRST_COMPLETED)
    assert fast_task.done() and not slow_task.done()  # delivered while the other one still hangs
    assert fast_task.result() is None and [g.body for g in web["got"]] == [b"2"]
    results = await asyncio.gather(slow_task, return_exceptions=True)
    elapsed = time.monotonic() - t0
    assert isinstance(results[0], RecipientError)
    assert re.search(r"^Recipient 'slow': no answer from 127.0.0.1:\d+ within 1 s$", str(results[0]))
    assert 0.95 < elapsed < 2.5
