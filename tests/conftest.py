"""Shared fixtures and helpers of every test folder: in-process devices (an S3016 `device`, a
W401 `w401`) behind httpx with clients of each role, a real `vigil run` process, and waiting for
a condition (`wait_until` blocking, `eventually` in async tests). The real peers' fixtures come
from tests/peers/ (loaded below as plugins)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.peers.processes import free_port, stop_process, wait_port_async
from vigil.boot import build_device
from vigil.core.clock import Clock, FakeClock
from vigil.core.rules import ActionContext, ActionType
from vigil.device import Device, Ports
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source
from vigil.http.app import create_app
from vigil.http.server import serve_device

ADMIN = ("root", "pass1234")
# The shared folder sits beside the checkout (CI clones next to it); this machine also has /work/shared.
SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")) if p.exists()),
              Path("/work/shared"))
CONFORMANCE_HARNESS = SHARED / "conformance" / "run-axis-check"
AXIS_VENV = Path(os.environ.get("AXIS_CHECK_VENV", "/tmp/vigil-axis-check-venv"))
# Real peers as fixtures, for every folder: `recorded` (a live recorder with test cameras), `samba`,
# `broker` and `certs` (mosquitto), `clip` (a long H.264 clip for the GStreamer RTSP cameras).
pytest_plugins = ("tests.recording.live", "tests.peers.samba", "tests.peers.mosquitto", "tests.peers.rtsp",
                  "tests.peers.pulse")
T = TypeVar("T")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_device(tmp_path: Path, clock: FakeClock, profile: str = "s3016") -> Device:
    return build_device(profile, tmp_path / "data", Ports(http=80, https=443), clock)


@asynccontextmanager
async def serving(profile: str, data: Path) -> AsyncIterator[Device]:
    """A device built and served on 127.0.0.1 in this process (its simulated hardware readable by
    the test), its HTTP and RTSP servers listening, stopped and closed afterwards."""
    device = build_device(profile, data, Ports(http=free_port(), https=free_port(), rtsp=free_port(), host="127.0.0.1"),
                          Clock())
    task = asyncio.create_task(serve_device(device))
    try:
        await wait_port_async(device.ports.http, 20)
        await wait_port_async(device.ports.rtsp, 20)
        yield device
    finally:
        device.request_stop("shutdown")
        await asyncio.wait_for(task, 15)
        device.close()


@pytest.fixture
def device(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock)
    yield dev
    dev.close()


@pytest.fixture
def w401(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    """A W401 (I0..I7 configurable and supervisable, I8 a relay, virtual inputs)."""
    dev = make_device(tmp_path, clock, "w401")
    yield dev
    dev.close()


@pytest.fixture
def c1410(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    """A C1410 speaker (audio, light and siren)."""
    dev = make_device(tmp_path, clock, "c1410")
    yield dev
    dev.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Device]:
    """A C1410 serving HTTP and RTSP on loopback, in this process (its sink readable), with the admin."""
    async with serving("c1410", tmp_path / "served") as device:
        add_account(device, *ADMIN, "admin")
        yield device


def asgi_client(device: Device, auth: httpx.Auth | None = None, scheme: str = "http") -> httpx.AsyncClient:
    app = device.__dict__.setdefault("_test_app", create_app(device))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=("127.0.0.1", 50000)),
                             base_url=f"{scheme}://127.0.0.1", auth=auth)


def add_account(device: Device, name: str, password: str, role: str, ptz: bool = False) -> None:
    from vigil.core.roles import Role

    if not device.accounts.admin_exists and role != "admin":
        device.accounts.add(*ADMIN, Role.ADMIN, True, "", "test")
    device.accounts.add(name, password, Role.parse(role), ptz, "", "test")


ROLE_USERS = {"viewer": ("viewer1", "view1234"), "operator": ("operator1", "oper1234"), "admin": ADMIN}


def client_as(device: Device, role: str, basic: bool = False, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """A client logged in with a role's test account (created on first use)."""
    user, password = ROLE_USERS[role]
    if device.accounts.get(user) is None:
        add_account(device, user, password, role, ptz=role == "admin")
    auth = httpx.BasicAuth(user, password) if basic else httpx.DigestAuth(user, password)
    app = device.__dict__.setdefault("_test_app", create_app(device))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(address, 50000)),
                             base_url="http://127.0.0.1", auth=auth)


@pytest.fixture
async def anon(device: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(device) as c:
        yield c


@pytest.fixture
async def admin(device: Device) -> AsyncIterator[httpx.AsyncClient]:
    add_account(device, *ADMIN, "admin", ptz=True)
    async with asgi_client(device, httpx.DigestAuth(*ADMIN)) as c:
        yield c


@pytest.fixture
async def admin401(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "admin") as c:
        yield c


async def json_call(client: httpx.AsyncClient, path: str, method: str, params: dict | None = None,
                    version: str = "1.0") -> dict:
    """A VAPIX JSON API call (`params` left out when None); the reply, checked to be HTTP 200
    and to echo the method and the context."""
    body: dict = {"apiVersion": version, "context": "test", "method": method}
    if params is not None:
        body["params"] = params
    r = await client.post(path, json=body)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["method"] == method and reply["context"] == "test", reply
    return reply


async def add_source(device: Device, sid: str, url: str, **extra) -> None:
    """The device records camera `url` as source `sid` (now, not at its next reconfiguration)."""
    service = device.features[RECORDING_SERVICE]
    service.sources.put(Source(sid, sid, url, **extra), "test")
    await service.reconfigure(sid)


@dataclass
class LiveDevice:
    process: subprocess.Popen
    data: Path
    http_port: int
    https_port: int
    rtsp_port: int
    profile: str

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def https(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    def wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vigil exited with {self.process.returncode}")
            try:
                httpx.get(self.http + "/vigil/session", timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise TimeoutError("vigil did not start listening")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        stop_process(self.process, 10, sig)


def start_live(data: Path, profile: str = "s3016", ports: tuple[int, int, int] | None = None,
               test_cameras: int = 0, serving: tuple[int, int, int] | None = None,
               extra: tuple[str, ...] = (), log: Path | None = None) -> LiveDevice:
    """`vigil run` with `ports` (HTTP, HTTPS, RTSP) as its flags; `serving`: the ports it serves
    on instead, when `data` holds ports set on the device (they win over the flags); `extra`:
    more flags (`--ssh-port`, ...); `log`: a file for its standard error instead of a pipe (a
    device kept for many tests would fill a pipe nobody reads, and stop at its next log line)."""
    http_port, https_port, rtsp_port = ports or (free_port(), free_port(), free_port())
    cmd = [sys.executable, "-m", "vigil", "run", "--profile", profile, "--data", str(data), "--host", "127.0.0.1",
           "--http-port", str(http_port), "--https-port", str(https_port), "--rtsp-port", str(rtsp_port)]
    if test_cameras:
        cmd += ["--test-cameras", str(test_cameras)]
    cmd += list(extra)
    if "--ssh-port" not in extra:  # a test that turns SSH on never takes the machine's port 22
        cmd += ["--ssh-port", str(free_port())]
    with open(log, "ab") if log else nullcontext(subprocess.PIPE) as stderr:
        process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    live = LiveDevice(process, data, *(serving or (http_port, https_port, rtsp_port)), profile)
    live.wait_ready()
    return live


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveDevice]:
    server = start_live(tmp_path / "live-data")
    yield server
    server.stop()


def new_instance(live: LiveDevice, cookies: httpx.Cookies) -> bool:
    """The rebuilt device answers on both listeners (sessions live in memory: the old one is gone)."""
    try:
        state = httpx.get(live.http + "/vigil/session", cookies=cookies, timeout=1).json()
        httpx.get(live.https + "/vigil/session", verify=False, timeout=1)
    except (httpx.TransportError, ValueError):
        return False
    return state["user"] is None


def create_admin_live(server: LiveDevice, user: str = ADMIN[0], password: str = ADMIN[1]) -> None:
    r = httpx.post(server.http + "/axis-cgi/pwdgrp.cgi",
                   data={"action": "add", "user": user, "pwd": password, "grp": "users",
                         "sgrp": "admin:operator:viewer:ptz"})
    assert r.status_code == 200 and "Created account" in r.text, r.text


def wait_until(predicate, timeout: float, what: str) -> None:
    """Poll `predicate` (blocking) until it holds; TimeoutError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.2)


async def eventually(predicate: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """`wait_until` for async tests: poll `predicate` between turns of the running event loop
    until it returns something true, and return that; AssertionError naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    while not (value := predicate()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)
    return value


@pytest.fixture(scope="session")
def axis_python() -> Path:
    """The conformance venv with axis==60, made as /work/shared/conformance/run-axis-check makes it."""
    python = AXIS_VENV / "bin" / "python"

    def usable() -> bool:
        return python.exists() and subprocess.run([python, "-c", "import axis"], capture_output=True).returncode == 0

    if not usable():
        try:
            subprocess.run([sys.executable, "-m", "venv", AXIS_VENV], check=True, capture_output=True, timeout=120)
            subprocess.run([python, "-m", "pip", "install", "-q", "axis==60", "httpx==0.28.1"], check=True,
                           capture_output=True, timeout=600)
        except (subprocess.SubprocessError, OSError) as err:
            pytest.skip(f"cannot build the axis conformance venv: {err}")
    if not usable():
        pytest.skip("the axis conformance venv has no axis library")
    return python


# -- rules ---------------------------------------------------------------------------
def record_actions(dev: Device) -> list[str]:
    """A fixed and an unlimited action type that record what they do."""
    calls: list[str] = []

    async def run(ctx: ActionContext) -> None:
        calls.append(f"run:{ctx.rule.name}")

    async def start(ctx: ActionContext):
        calls.append(f"start:{ctx.rule.name}")

        async def stop() -> None:
            calls.append(f"stop:{ctx.rule.name}")
        return stop

    dev.rules.register(ActionType("test.fixed", "Fixed", (), run=run))
    dev.rules.register(ActionType("test.unlimited", "Unlimited", (), start=start))
    return calls


async def settle_rules(dev: Device) -> None:
    await asyncio.sleep(0)
    await dev.rules.drain()
