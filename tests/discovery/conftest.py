"""The discovery tests' fixtures: a device served in this process on the device's end of a
private veth LAN (tests/peers/lan.py), an administrator's client over real HTTP, and waiting
for a peer's view (peers run as blocking commands, so off the device's event loop)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

from tests.conftest import ADMIN, add_account
from tests.peers.lan import Lan, avahi, lan  # noqa: F401 (fixtures)
from tests.peers.processes import free_port
from vigil.boot import build_device
from vigil.core.clock import Clock, FakeClock
from vigil.device import Device, Ports
from vigil.features.discovery.service import DISCOVERY_SERVICE, DiscoveryService
from vigil.http.server import serve_device

T = TypeVar("T")


@dataclass
class Served:
    device: Device
    lan: Lan
    admin: httpx.AsyncClient

    @property
    def discovery(self) -> DiscoveryService:
        return self.device.features[DISCOVERY_SERVICE]

    @property
    def base(self) -> str:
        return f"http://{self.lan.device_address}:{self.device.ports.http}"

    async def set(self, **params: str) -> None:
        """param.cgi update, as the Network page does it."""
        r = await self.admin.post("/axis-cgi/param.cgi", data={"action": "update", **params})
        assert r.text == "OK\r\n", r.text


async def until(probe: Callable[[], T], timeout: float, what: str) -> T:
    """Run the blocking `probe` in a thread until it returns something true, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = await asyncio.to_thread(probe)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")


@asynccontextmanager
async def serve_on(network: Lan, data: Path, profile: str = "s3016", clock: Clock | None = None) -> AsyncIterator[Served]:
    """A device of `profile` served on the device's end of `network`, once its discovery has started;
    a fake clock unless `clock` (a client that signs with its own time needs the real one)."""
    ports = Ports(http=free_port(), https=free_port(), rtsp=free_port(), host=network.device_address)
    device = build_device(profile, data, ports, clock or FakeClock())
    add_account(device, *ADMIN, "admin", ptz=True)
    task = asyncio.create_task(serve_device(device))
    client = httpx.AsyncClient(base_url=f"http://{network.device_address}:{ports.http}",
                               auth=httpx.DigestAuth(*ADMIN), timeout=10)
    try:
        service = device.features[DISCOVERY_SERVICE]
        deadline = time.monotonic() + 20
        while any(s.state == "off" for s in service.states.values()):
            assert time.monotonic() < deadline and not task.done(), "discovery did not start"
            await asyncio.sleep(0.05)
        yield Served(device, network, client)
    finally:
        await client.aclose()
        device.request_stop("shutdown")
        await asyncio.wait_for(task, 20)
        device.close()


@pytest.fixture
async def served(tmp_path: Path, lan: Lan) -> AsyncIterator[Served]:  # noqa: F811
    async with serve_on(lan, tmp_path / "data") as served:
        yield served
