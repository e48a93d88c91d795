"""Fixtures of the storage tests: an S3016 on simulated drives (`dev`), calls to its JSON
storage API, and a plain TCP listener that records who connects to it and what they send."""

from __future__ import annotations

import asyncio
import contextlib
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import make_device
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.storage.service import STORAGE_SERVICE, StorageService


@pytest.fixture
async def dev(tmp_path: Path, clock: FakeClock) -> AsyncIterator[Device]:
    device = make_device(tmp_path, clock, "s3016")
    yield device
    await device.features[STORAGE_SERVICE].jobs.close()
    device.close()


def storage(device: Device) -> StorageService:
    return device.features[STORAGE_SERVICE]


async def call(client: httpx.AsyncClient, method: str, **params) -> dict:
    """A storage.cgi call; the JSON reply."""
    body = {"apiVersion": "1.0", "context": "t", "method": method, "params": params}
    return (await client.post("/axis-cgi/storage.cgi", json=body)).json()


def xml(response: httpx.Response) -> ET.Element:
    assert response.status_code == 200, (response.status_code, response.text)
    return ET.fromstring(response.text)


def audit(device: Device) -> list[str]:
    device.logs.flush()
    return [m for (m,) in device.store.query("SELECT message FROM log WHERE kind='audit' ORDER BY id")]


@dataclass
class Listener:
    """A TCP port that records the first bytes of each connection, then closes it (an SMB
    client gives up at once instead of waiting for a negotiation answer)."""

    port: int = 0
    received: list[bytes] = field(default_factory=list)
    connected: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
async def listener() -> AsyncIterator[Listener]:
    sink = Listener()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        sink.connected.set()
        with contextlib.suppress(OSError, asyncio.TimeoutError):
            async with asyncio.timeout(2):
                sink.received.append(await reader.read(4096))
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    sink.port = server.sockets[0].getsockname()[1]
    try:
        yield sink
    finally:
        server.close()
        await server.wait_closed()
