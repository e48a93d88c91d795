"""Helpers for the event/action service tests: SOAP calls, request builders, real peers
(SMTP, HTTP(S), TCP, FTP, SFTP servers on loopback) and a movable asyncio clock.

This module holds no tests; the events, io, notify and web tests import it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import ssl
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import aioftp
import asyncssh
import httpx
from aiosmtpd.controller import Controller
from lxml import etree

from tests.peers.processes import free_port

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
EV = "http://www.axis.com/vapix/ws/event1"
AA = "http://www.axis.com/vapix/ws/action1"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
WSTOP = "http://docs.oasis-open.org/wsn/t-1"
NS = {"env": SOAP12, "aev": EV, "aa": AA, "wsnt": WSNT, "wstop": WSTOP}
SERVICES = "/vapix/services"
PORT_TOPIC = "tns1:Device/tnsaxis:IO/Port"


# -- SOAP ------------------------------------------------------------------------------
def envelope(body: str, version: str = "1.2") -> bytes:
    ns = SOAP11 if version == "1.1" else SOAP12
    return (f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{ns}" xmlns:aa="{AA}" '
            f'xmlns:aev="{EV}" xmlns:wsnt="{WSNT}" xmlns:tns1="http://www.onvif.org/ver10/topics" '
            f'xmlns:tnsaxis="http://www.axis.com/2009/event/topics"><soap:Body>{body}</soap:Body>'
            f'</soap:Envelope>').encode()


async def post(client: httpx.AsyncClient, body: str | bytes, version: str = "1.2",
               action: str = "") -> httpx.Response:
    raw = body if isinstance(body, bytes) else envelope(body, version)
    headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'} if version == "1.1" \
        else {"Content-Type": "application/soap+xml; charset=utf-8"}
    return await client.post(SERVICES, content=raw, headers=headers)


async def call(client: httpx.AsyncClient, body: str, version: str = "1.2") -> etree._Element:
    """The response element of a successful call."""
    r = await post(client, body, version)
    assert r.status_code == 200, (r.status_code, r.text)
    doc = etree.fromstring(r.content)
    env_ns = SOAP11 if version == "1.1" else SOAP12
    result = doc.find(f"{{{env_ns}}}Body")[0]
    assert etree.QName(result).localname != "Fault", r.text
    return result


@dataclass
class Fault:
    status: int
    code: str
    reason: str


async def fault(client: httpx.AsyncClient, body: str | bytes, version: str = "1.2") -> Fault:
    r = await post(client, body, version)
    return parse_fault(r)


def parse_fault(r: httpx.Response) -> Fault:
    assert r.status_code in (400, 500), (r.status_code, r.text)
    doc = etree.fromstring(r.content)
    if doc.tag == f"{{{SOAP11}}}Envelope":
        f = doc.find(f"{{{SOAP11}}}Body/{{{SOAP11}}}Fault")
        return Fault(r.status_code, f.findtext("faultcode"), f.findtext("faultstring"))
    f = doc.find("env:Body/env:Fault", NS)
    assert f is not None, r.text
    return Fault(r.status_code, f.findtext("env:Code/env:Value", namespaces=NS),
                 f.findtext("env:Reason/env:Text", namespaces=NS))


# -- request builders --------------------------------------------------------------------
def params_xml(params: dict[str, str]) -> str:
    inner = "".join(f"<aa:Parameter Name={quoteattr(k)} Value={quoteattr(v)}/>" for k, v in params.items())
    return f"<aa:Parameters>{inner}</aa:Parameters>"


def add_action_xml(template: str, params: dict[str, str], name: str = "action") -> str:
    return (f"<aa:AddActionConfiguration><aa:NewActionConfiguration><aa:Name>{escape(name)}</aa:Name>"
            f"<aa:TemplateToken>{template}</aa:TemplateToken>{params_xml(params)}"
            f"</aa:NewActionConfiguration></aa:AddActionConfiguration>")


def item_filter(**items: str) -> str:
    return " and ".join(f'boolean(//SimpleItem[@Name="{k}" and @Value="{v}"])' for k, v in items.items())


def filter_xml(tag: str, topic: str, content: str | None = None) -> str:
    inner = (f'<wsnt:TopicExpression Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
             f"{topic}</wsnt:TopicExpression>")
    if content:
        inner += (f'<wsnt:MessageContent Dialect="http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter">'
                  f"{escape(content)}</wsnt:MessageContent>")
    return f"<aa:{tag}>{inner}</aa:{tag}>"


def add_rule_xml(name: str, primary: int, start: tuple[str, str] | None = None,
                 conditions: tuple[tuple[str, str], ...] = (), enabled: bool = True,
                 timeout: str | None = None) -> str:
    parts = [f"<aa:Name>{escape(name)}</aa:Name><aa:Enabled>{'true' if enabled else 'false'}</aa:Enabled>"]
    if start:
        parts.append(filter_xml("StartEvent", *start))
    if conditions:
        parts.append("<aa:Conditions>" + "".join(filter_xml("Condition", *c) for c in conditions)
                     + "</aa:Conditions>")
    if timeout:
        parts.append(f"<aa:ActivationTimeout>{timeout}</aa:ActivationTimeout>")
    parts.append(f"<aa:PrimaryAction>{primary}</aa:PrimaryAction>")
    return f"<aa:AddActionRule><aa:NewActionRule>{''.join(parts)}</aa:NewActionRule></aa:AddActionRule>"


def add_recipient_xml(template: str, params: dict[str, str], name: str = "recipient") -> str:
    return (f"<aa:AddRecipientConfiguration><aa:NewRecipientConfiguration><aa:Name>{escape(name)}</aa:Name>"
            f"<aa:TemplateToken>{template}</aa:TemplateToken>{params_xml(params)}"
            f"</aa:NewRecipientConfiguration></aa:AddRecipientConfiguration>")


async def add_action(client: httpx.AsyncClient, template: str, params: dict[str, str], name: str = "action") -> int:
    r = await call(client, add_action_xml(template, params, name))
    return int(r.findtext("aa:ConfigurationID", namespaces=NS))


async def add_rule(client: httpx.AsyncClient, name: str, primary: int, **kw) -> int:
    r = await call(client, add_rule_xml(name, primary, **kw))
    return int(r.findtext("aa:RuleID", namespaces=NS))


async def add_recipient(client: httpx.AsyncClient, template: str, params: dict[str, str],
                        name: str = "recipient") -> int:
    r = await call(client, add_recipient_xml(template, params, name))
    return int(r.findtext("aa:ConfigurationID", namespaces=NS))


async def run_recipient_test(client: httpx.AsyncClient, recipient_id: int) -> httpx.Response:
    return await post(client, f"<aa:TestRecipientConfiguration><aa:ConfigurationID>{recipient_id}"
                              f"</aa:ConfigurationID></aa:TestRecipientConfiguration>")


async def param_update(client: httpx.AsyncClient, **values: str) -> None:
    r = await client.post("/axis-cgi/param.cgi", data={"action": "update", **values})
    assert r.status_code == 200 and r.text.strip() == "OK", r.text


async def settle(rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


# -- a movable asyncio clock -------------------------------------------------------------
class LoopClock:
    """Moves the running loop's notion of time, so that `asyncio.sleep(10)` inside the
    device ends without waiting 10 s (timers are due against `loop.time()`)."""

    def __init__(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.offset = 0.0
        real = type(self.loop).time.__get__(self.loop)
        self.loop.time = lambda: real() + self.offset  # type: ignore[method-assign]

    async def advance(self, seconds: float) -> None:
        self.offset += seconds
        await settle()

    def close(self) -> None:
        with contextlib.suppress(AttributeError):
            del self.loop.time


# -- peers -------------------------------------------------------------------------------
@dataclass
class MailSink:
    """A real SMTP server (aiosmtpd) collecting what it receives."""

    port: int = 0
    messages: list = field(default_factory=list)
    received: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server, session, envelope):  # noqa: N802, ANN001, ANN201 - aiosmtpd's hook name
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        self.received.set()
        return "250 OK"


@contextlib.contextmanager
def smtp_server() -> Iterator[MailSink]:
    sink = MailSink()
    controller = Controller(sink, hostname="127.0.0.1", port=free_port())
    controller.start()
    sink.port = controller.port
    try:
        yield sink
    finally:
        controller.stop()


@contextlib.asynccontextmanager
async def listening(handle: Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None] | None],
                    tls: ssl.SSLContext | None = None) -> AsyncIterator[int]:
    """An asyncio server on a free loopback port that runs `handle` for each connection; its port."""
    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=tls)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@dataclass
class HttpSink:
    port: int = 0
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    status: int = 200


@contextlib.asynccontextmanager
async def http_server(tls: ssl.SSLContext | None = None) -> AsyncIterator[HttpSink]:
    """A minimal real HTTP/1.1 server on loopback recording requests."""
    sink = HttpSink()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {k.strip().lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            sink.requests.append((method, target, headers, body))
            reason = "OK" if sink.status == 200 else "Error"
            writer.write(f"HTTP/1.1 {sink.status} {reason}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode())
            await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass
        finally:
            writer.close()

    async with listening(handle, tls) as sink.port:
        yield sink


@dataclass
class TcpSink:
    port: int = 0
    received: list[bytes] = field(default_factory=list)


@contextlib.asynccontextmanager
async def tcp_server() -> AsyncIterator[TcpSink]:
    sink = TcpSink()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sink.received.append(await reader.read())
        writer.close()

    async with listening(handle) as sink.port:
        yield sink


class FtpServer(aioftp.Server):
    """A real FTP server (aioftp, passive mode) noting the STOR and RNFR/RNTO commands it serves."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self.port = 0
        self.log: list[tuple[str, str]] = []

    async def stor(self, connection, rest, mode: str = "wb") -> bool:  # noqa: ANN001
        self.log.append(("STOR", str(rest)))
        return await super().stor(connection, rest, mode)

    async def rnfr(self, connection, rest) -> bool:  # noqa: ANN001
        self.log.append(("RNFR", str(rest)))
        return await super().rnfr(connection, rest)

    async def rnto(self, connection, rest) -> bool:  # noqa: ANN001
        self.log.append(("RNTO", str(rest)))
        return await super().rnto(connection, rest)


@contextlib.asynccontextmanager
async def ftp_server(home: Path, user: str, password: str,
                     readonly: tuple[str, ...] = ()) -> AsyncIterator[FtpServer]:
    """An FtpServer on a free loopback port with one account whose root is `home`, writable but
    for the `readonly` folders."""
    server = FtpServer([aioftp.User(user, password, base_path=home, home_path="/", permissions=[
        aioftp.Permission("/", readable=True, writable=True),
        *(aioftp.Permission(folder, readable=True, writable=False) for folder in readonly)])])
    await server.start(host="127.0.0.1", port=0)
    server.port = server.server.sockets[0].getsockname()[1]
    try:
        yield server
    finally:
        await server.close()


@dataclass
class SftpServer:
    """A real SFTP server (asyncssh) and what it saw: logins tried and file operations."""

    port: int
    root: Path
    key: asyncssh.SSHKey
    md5: str  # of the host key: 32 hex digits, no colons
    sha256: str  # of the host key: 43 base64 characters
    logins: list[tuple[str, str]] = field(default_factory=list)
    ops: list[tuple[str, str]] = field(default_factory=list)


@contextlib.asynccontextmanager
async def sftp_server(root: Path, user: str, password: str) -> AsyncIterator[SftpServer]:
    """An SftpServer on a free loopback port with a new ed25519 host key and one account
    (password login) chrooted to `root`."""
    key = asyncssh.generate_private_key("ssh-ed25519")
    blob = key.public_data
    peer = SftpServer(0, root, key, hashlib.md5(blob).hexdigest(),
                      base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("="))

    class Server(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, given: str) -> bool:
            peer.logins.append((username, given))
            return (username, given) == (user, password)

    class Files(asyncssh.SFTPServer):
        def open(self, path: bytes, pflags: int, attrs: asyncssh.SFTPAttrs):  # noqa: ANN201
            peer.ops.append(("open", path.decode()))
            return super().open(path, pflags, attrs)

        def rename(self, oldpath: bytes, newpath: bytes) -> None:
            peer.ops.append(("rename", f"{oldpath.decode()} -> {newpath.decode()}"))
            return super().rename(oldpath, newpath)

        def posix_rename(self, oldpath: bytes, newpath: bytes) -> None:
            peer.ops.append(("posix_rename", f"{oldpath.decode()} -> {newpath.decode()}"))
            return super().posix_rename(oldpath, newpath)

    server = await asyncssh.listen("127.0.0.1", 0, server_host_keys=[key], server_factory=Server,
                                   sftp_factory=lambda chan: Files(chan, chroot=str(root)))
    peer.port = server.sockets[0].getsockname()[1]
    try:
        yield peer
    finally:
        server.close()
        await server.wait_closed()
