"""The device under test: built and served as `vigil run` serves it, with the walk's accounts and
the settings that keep them usable, rebuilt when it stops; requests go straight into its ASGI app,
and name resolution answers the loopback only."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from bench.fuzzing.requests import Req
from vigil.core.roles import Role
from vigil.device import Device, Ports
from vigil.http.app import create_app
from vigil.http.ports import HTTP_PORT, HTTPS_ENABLED, HTTPS_PORT, RTSP_PORT
from vigil.http.server import serve_device

ROLES = (Role.ANONYMOUS, Role.VIEWER, Role.OPERATOR, Role.ADMIN)
ACCOUNTS = {Role.VIEWER: ("fuzzview", "Fuzz-view-1"), Role.OPERATOR: ("fuzzoper", "Fuzz-oper-1"),
            Role.ADMIN: ("root", "Fuzz-root-1")}
# Settings that would lock the walk's own callers out; put back after every request.
FIXTURE_PARAMS = {"System.BoaProtViewer": "password", "System.BruteForce.Enabled": "no",
                  "HTTPS.AllowAccessThrough": "both", "Network.HTTP.AuthenticationPolicy": "basic_digest",
                  "Network.RTSP.Enabled": "yes", "Network.RTSP.ProtViewer": "password"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def provision(device: Device) -> None:
    """The walk's accounts (ONVIF accounts too, so that the ONVIF operations run past their
    authentication) and the settings that keep them usable."""
    accounts = device.accounts
    for role in (Role.ADMIN, Role.OPERATOR, Role.VIEWER):
        user, password = ACCOUNTS[role]
        account = accounts.get(user)
        if account is None:
            accounts.add(user, password, role, role == Role.ADMIN, "", "fuzz", onvif=True)
        elif account.role != role or accounts.password(user) != password or not account.onvif:
            accounts.update(user, "fuzz", password=password, role=role, onvif=True)
    # The listeners where the watchdog and the stream walks reach them: the ports it was started with.
    where = {HTTP_PORT: str(device.ports.http), HTTPS_PORT: str(device.ports.https),
             RTSP_PORT: str(device.ports.rtsp), HTTPS_ENABLED: "yes"}
    wanted = {k: v for k, v in {**FIXTURE_PARAMS, **where}.items()
              if k in device.params.defs and device.params.get(k) != v}
    if wanted:
        device.params.set_internal(wanted, "fuzz")


class Rig:
    """One device served as `vigil run` serves it; rebuilt as its supervisor would when it stops."""

    def __init__(self, profile: str, data: Path, customize: Callable[[Device], None] | None) -> None:
        self.profile, self.data, self.customize = profile, data, customize
        self.device: Device | None = None
        self.task: asyncio.Task | None = None
        self.app: Any = None
        self.stops: dict[str, int] = {}

    @property
    def dev(self) -> Device:
        assert self.device is not None
        return self.device

    async def start(self) -> None:
        from vigil.boot import build_device

        ports = Ports(http=free_port(), https=free_port(), rtsp=free_port(), host="127.0.0.1")
        self.device = build_device(self.profile, self.data, ports)
        if self.customize is not None:
            self.customize(self.device)
        self.app = create_app(self.device)
        provision(self.device)
        self.task = asyncio.create_task(serve_device(self.device))
        deadline = time.monotonic() + 20
        while True:
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", ports.http)
                writer.close()
                return
            except OSError:
                if self.task.done() or time.monotonic() > deadline:
                    raise RuntimeError(f"{self.profile}: the device did not start listening") from None
                await asyncio.sleep(0.02)

    async def supervise(self) -> str | None:
        """When the device asked to stop: what `vigil run` does (reset the data for a factory
        default), then serve it again. Returns the action, or None."""
        device = self.device
        if device is None or not device.stopping.is_set():
            return None
        action = device.next_action
        await self._stop()
        if action in ("factory-default", "hard-factory-default"):
            from vigil.boot import factory_reset

            factory_reset(self.data, hard=action == "hard-factory-default")
        self.stops[action] = self.stops.get(action, 0) + 1
        await self.start()
        return action

    async def _stop(self) -> None:
        device, task = self.device, self.task
        if device is None or task is None:
            return
        if not device.stopping.is_set():
            device.request_stop("shutdown")
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 30)
        device.close()
        self.device, self.task = None, None

    async def close(self) -> None:
        await self._stop()
        shutil.rmtree(self.data, ignore_errors=True)

    def effective_role(self, role: Role) -> Role:
        if role == Role.ANONYMOUS and self.dev.params.get("System.BoaProtViewer") == "anonymous":
            return Role.VIEWER
        if role in ACCOUNTS:
            account = self.dev.accounts.get(ACCOUNTS[role][0])
            return account.role if account else Role.ANONYMOUS
        return role


_AUTHORIZATION = {role: b"Basic " + base64.b64encode(":".join(ACCOUNTS[role]).encode())
                  for role in ACCOUNTS}


async def asgi_request(app: Any, req: Req, role: Role, client_port: int) -> tuple[int, str, bytes]:
    """One request straight into the ASGI app, bytes as given (no client library re-encoding the
    URL); the role's account by Basic authentication. (status, content type, body). A live stream
    (a body without Content-Length that goes on: receive.cgi) is answered once its first part is
    there; the client then leaves, as a client of a live stream does."""
    path, _, query = req.url.partition("?")
    headers = [(b"host", b"127.0.0.1"), *((k.lower().encode(), v.encode()) for k, v in req.headers.items())]
    if role in _AUTHORIZATION:
        headers.append((b"authorization", _AUTHORIZATION[role]))
    if req.body:
        headers.append((b"content-length", str(len(req.body)).encode()))
    raw_path = path.encode("utf-8", "surrogatepass")
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": req.method,
             "scheme": "http", "path": unquote(path), "raw_path": raw_path,
             "root_path": "", "query_string": query.encode("utf-8", "surrogatepass"), "headers": headers,
             "client": ("127.0.0.1", client_port), "server": ("127.0.0.1", 80), "state": {}}
    sent = False
    status, content_type, chunks = 0, "", []
    sized = False
    leave = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": req.body, "more_body": False}
        await leave.wait()  # the client stays connected until the answer is complete (or the stream is seen)
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, content_type, sized
        if message["type"] == "http.response.start":
            status = message["status"]
            for k, v in message.get("headers", []):
                if k.lower() == b"content-type":
                    content_type = v.decode("latin-1")
                sized = sized or k.lower() == b"content-length"
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if message.get("more_body") and not sized and b"".join(chunks):
                leave.set()

    await app(scope, receive, send)
    return status, content_type, b"".join(chunks)


@contextlib.contextmanager
def loopback_only() -> Iterator[None]:
    """Name resolution in this process answers IP literals and localhost only; any other name
    fails at once, as an unknown name would. Bad values and plausible host names reach the
    device's clients (recipients, network shares, MQTT): nothing may leave the machine, and
    nothing should wait for a DNS server."""
    import ipaddress

    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):  # noqa: ANN001, ANN202 - socket.getaddrinfo's signature
        name = host.decode() if isinstance(host, bytes) else host
        if name is None or name in ("localhost", "") or _is_ip(name, ipaddress):
            return real(host, *args, **kwargs)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    socket.getaddrinfo = getaddrinfo
    try:
        yield
    finally:
        socket.getaddrinfo = real


def _is_ip(name: str, ipaddress: Any) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]").split("%")[0])
        return True
    except ValueError:
        return False
