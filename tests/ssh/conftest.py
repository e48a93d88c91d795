"""A device whose SSH server runs in the test's event loop, on a free loopback port."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

from tests.peers.processes import free_port
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.device import Device, Ports
from vigil.features.ssh.service import SSH_SERVICE


def ssh_device(data: Path, port: int) -> Device:
    return build_device("s3016", data, Ports(http=80, https=443, ssh=port, host="127.0.0.1"), FakeClock())


@pytest_asyncio.fixture
async def device(tmp_path: Path) -> AsyncIterator[Device]:
    """The `device` of tests/conftest.py, with its SSH service running as `vigil run` runs it."""
    dev = ssh_device(tmp_path / "data", free_port())
    task = asyncio.create_task(dev.features[SSH_SERVICE].run())
    yield dev
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    dev.close()
