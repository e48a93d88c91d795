"""Shared fixtures: an in-process device behind httpx, and a real `vigil run` process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.device import Device, Ports
from vigil.http.app import create_app

ADMIN = ("root", "pass1234")
# The shared folder sits beside the checkout (CI clones next to it); this machine also has /work/shared.
SHARED = next((p for p in (Path(__file__).resolve().parents[2] / "shared", Path("/work/shared")) if p.exists()),
              Path("/work/shared"))
CONFORMANCE_HARNESS = SHARED / "conformance" / "run-axis-check"
pytest_plugins = ("tests.recording.live",)  # the `recorded` fixture: a live recorder with test cameras


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_device(tmp_path: Path, clock: FakeClock, profile: str = "s3016") -> Device:
    return build_device(profile, tmp_path / "data", Ports(http=80, https=443), clock)


@pytest.fixture
def device(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock)
    yield dev
    dev.close()


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
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start_live(data: Path, profile: str = "s3016", ports: tuple[int, int, int] | None = None,
               test_cameras: int = 0) -> LiveDevice:
    http_port, https_port, rtsp_port = ports or (free_port(), free_port(), free_port())
    cmd = [sys.executable, "-m", "vigil", "run", "--profile", profile, "--data", str(data), "--host", "127.0.0.1",
           "--http-port", str(http_port), "--https-port", str(https_port), "--rtsp-port", str(rtsp_port)]
    if test_cameras:
        cmd += ["--test-cameras", str(test_cameras)]
    process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               env={**os.environ, "PYTHONUNBUFFERED": "1"})
    live = LiveDevice(process, data, http_port, https_port, rtsp_port, profile)
    live.wait_ready()
    return live


@pytest.fixture
def live(tmp_path: Path) -> Iterator[LiveDevice]:
    server = start_live(tmp_path / "live-data")
    yield server
    server.stop()


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
