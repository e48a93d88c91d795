"""Fixtures of the network tests: a client of network_settings.cgi as the administrator, seen as
coming from a chosen address to a chosen device address (what decides whether a change cuts the
caller off), and the call helper."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import ADMIN, add_account
from vigil.device import Device
from vigil.http.app import create_app

API = "/axis-cgi/network_settings.cgi"


def network_client(device: Device, client: str = "127.0.0.1", server: str = "127.0.0.1") -> httpx.AsyncClient:
    """An administrator at `client` talking to the device's address `server` (in-process)."""
    if device.accounts.get(ADMIN[0]) is None:
        add_account(device, *ADMIN, "admin", ptz=True)
    app = device.__dict__.setdefault("_test_app", create_app(device))
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(client, 50000)),
                             base_url=f"http://{server}", auth=httpx.DigestAuth(*ADMIN))


async def call(client: httpx.AsyncClient, method: str, params: dict[str, Any] | None = None,
               version: str = "1.0") -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": version, "context": "t", "method": method}
    if params is not None:
        body["params"] = params
    r = await client.post(API, json=body)
    assert r.status_code == 200, r.text
    reply = r.json()
    assert reply["method"] == method and reply["context"] == "t"
    return reply


@pytest.fixture
async def net(device: Device):
    async with network_client(device) as client:
        yield client
