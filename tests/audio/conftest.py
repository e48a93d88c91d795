"""Fixtures of the audio tests: `speaker`, an in-process C1410 with the simulated audio hardware,
and `served`, one whose HTTP and RTSP servers listen on 127.0.0.1 (with the test administrator)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN, add_account, free_port, make_device
from tests.peers.processes import wait_port_async
from vigil.boot import build_device
from vigil.core.clock import Clock, FakeClock
from vigil.device import Device, Ports
from vigil.http.server import serve_device


@pytest.fixture
def speaker(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock, "c1410")
    yield dev
    dev.close()


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Device]:
    device = build_device("c1410", tmp_path / "data", Ports(http=free_port(), https=free_port(), rtsp=free_port(),
                                                            host="127.0.0.1"), Clock())
    add_account(device, *ADMIN, "admin")
    task = asyncio.create_task(serve_device(device))
    try:
        await wait_port_async(device.ports.rtsp, 20)
        yield device
    finally:
        device.request_stop("shutdown")
        await asyncio.wait_for(task, 15)
        device.close()
