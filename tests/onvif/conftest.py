"""ONVIF fixtures: a recorder with ONVIF accounts of each level (`add_onvif_accounts`), a SOAP
caller (`soap`) that signs with a UsernameToken made at the device's time, and the Python of the
`onvif-python` client's own venv (`onvif_python`)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, asgi_client, create_admin_live, start_live, wait_until
from tests.onvif.schemas import request, security
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.onvif.const import DEVICE_PATH, MEDIA_PATH, TDS, TRT

# The accounts `onvif_device` makes on a live device (as Home Assistant's user would).
ONVIF_ADMIN = ("hass", "hassPass1")
ONVIF_MEDIA = ("viewer", "view1Pass")
PAGE_HEADERS = {"Content-Type": "application/soap+xml", "X-Requested-With": "XMLHttpRequest"}
ONVIF_USERS = {"Administrator": ("onvifadmin", "adm1nPass"), "Operator": ("onvifop", "0perPass"),
               "User": ("onvifmedia", "med1aPass")}


def add_onvif_accounts(device: Device) -> None:
    device.accounts.add(*ADMIN, Role.ADMIN, True, "", "test")
    for level, role in (("Administrator", Role.ADMIN), ("Operator", Role.OPERATOR), ("User", Role.VIEWER)):
        device.accounts.add(*ONVIF_USERS[level], role, False, "", "test", onvif=True)


@dataclass
class Soap:
    client: httpx.AsyncClient
    device: Device

    async def __call__(self, operation: str, inner: str = "", namespace: str = TDS, as_level: str | None = None,
                       path: str = DEVICE_PATH, header: str = "", **token) -> httpx.Response:
        if as_level is not None:
            created = datetime.fromtimestamp(self.device.clock.time(), UTC)
            header += security(*ONVIF_USERS[as_level], created=token.pop("created", created), **token)
        return await self.client.post(path, content=request(operation, inner, namespace, header),
                                      headers={"Content-Type": "application/soap+xml; charset=utf-8"})


@pytest.fixture
async def soap(device: Device) -> AsyncIterator[Soap]:
    add_onvif_accounts(device)
    async with asgi_client(device) as c:
        yield Soap(c, device)


ONVIF_PYTHON_VENV = Path(os.environ.get("ONVIF_PYTHON_VENV", "/tmp/vigil-onvif-python-venv"))
ONVIF_PYTHON = "onvif-python==0.4.7"


@pytest.fixture(scope="session")
def onvif_python() -> Path:
    """A venv of its own with `onvif-python` (its package is `onvif` too, so it cannot share the
    project's venv with onvif-zeep-async). Made once on a machine (about 30 s) and kept outside the
    work tree, as the `axis` library's venv; ONVIF_PYTHON_VENV names another place."""
    python = ONVIF_PYTHON_VENV / "bin" / "python"

    def usable() -> bool:
        return python.exists() and subprocess.run(
            [python, "-c", "from onvif import ONVIFClient"], capture_output=True).returncode == 0

    if not usable():
        try:
            subprocess.run([sys.executable, "-m", "venv", ONVIF_PYTHON_VENV], check=True, capture_output=True,
                           timeout=120)
            subprocess.run([python, "-m", "pip", "install", "-q", ONVIF_PYTHON], check=True, capture_output=True,
                           timeout=600)
        except (subprocess.SubprocessError, OSError) as err:
            pytest.skip(f"cannot build the onvif-python venv: {err}")
    if not usable():
        pytest.skip("the onvif-python venv has no onvif-python")
    return python


def create_onvif_accounts(server: LiveDevice) -> None:
    """ONVIF_ADMIN and ONVIF_MEDIA on a live device with the test administrator, made the
    Accounts page's way: logged in as the administrator, it creates the first ONVIF accounts."""
    with httpx.Client(base_url=server.http, timeout=10) as page:
        assert page.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]}).status_code == 200
        users = "".join(f"<op:User><tt:Username>{u}</tt:Username><tt:Password>{p}</tt:Password>"
                        f"<tt:UserLevel>{level}</tt:UserLevel></op:User>"
                        for (u, p), level in ((ONVIF_ADMIN, "Administrator"), (ONVIF_MEDIA, "User")))
        r = page.post(DEVICE_PATH, content=request("CreateUsers", users), headers=PAGE_HEADERS)
        assert r.status_code == 200, r.text


def onvif_device(tmp_path_factory, profile: str, test_cameras: int = 0) -> Iterator[LiveDevice]:
    """A live device with an administrator and, made on the Accounts page's way, ONVIF accounts."""
    server = start_live(tmp_path_factory.mktemp("onvif") / "data", profile, test_cameras=test_cameras)
    try:
        server.wait_ready()
        create_admin_live(server)
        create_onvif_accounts(server)
        with httpx.Client(base_url=server.http, timeout=10) as page:
            assert page.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]}).status_code == 200
            if test_cameras:  # the built-in test camera becomes a source once the recorder runs
                wait_until(lambda: "profile_1" in page.post(MEDIA_PATH, content=request("GetProfiles", namespace=TRT),
                                                            headers=PAGE_HEADERS).text, 20, "the test camera's profile")
        yield server
    finally:
        server.stop()
