"""Fixtures of the SNMP tests: `agent`, an in-process S3016 whose SNMP service runs on a free
loopback UDP port (v1, v2c and v3 on, the v3 password set), `turn_on` for other settings, and
`trapd`, snmptrapd receiving its traps (tests/peers/snmp.py)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import eventually
from tests.peers.snmp import HAVE_NET_SNMP, Snmptrapd, free_udp_port
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.device import Device, Ports
from vigil.features.snmp.service import SNMP_SERVICE, SnmpService

V3_PASSWORD = "initial-secret-1"
needs_net_snmp = pytest.mark.skipif(not HAVE_NET_SNMP, reason="net-snmp tools are not installed (make debs)")


@dataclass
class Agent:
    device: Device
    port: int
    before: int = 0

    @property
    def service(self) -> SnmpService:
        return self.device.features[SNMP_SERVICE]

    def set(self, **values: str) -> None:
        """Parameters by their name with dots as double underscores (SNMP__V2c="yes"), as admin."""
        from vigil.core.roles import Role

        self.before = self.service.starts
        self.device.params.update([(k.replace("__", "."), v) for k, v in values.items()], Role.ADMIN, "root")

    async def running(self) -> None:
        """Until the agent has (re)started since the last `set`."""
        await eventually(lambda: self.service.starts > self.before, 10, "the agent to start again")


def snmp_device(tmp_path: Path, profile: str = "s3016") -> tuple[Device, int]:
    port = free_udp_port()
    device = build_device(profile, tmp_path / "data", Ports(http=80, https=443, host="127.0.0.1", snmp=port),
                          FakeClock())
    return device, port


@contextlib.asynccontextmanager
async def serving(device: Device, port: int) -> AsyncIterator[Agent]:
    task = asyncio.create_task(device.features[SNMP_SERVICE].run())
    try:
        yield Agent(device, port)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        device.close()


@pytest.fixture
async def agent(tmp_path: Path) -> AsyncIterator[Agent]:
    device, port = snmp_device(tmp_path)
    async with serving(device, port) as running:
        running.set(SNMP__V1="yes", SNMP__V2c="yes", SNMP__V3="yes", SNMP__InitialUserPasswd=V3_PASSWORD,
                    SNMP__Enabled="yes")
        await running.running()
        yield running


@pytest.fixture
def trapd(tmp_path: Path) -> Iterator[Snmptrapd]:
    receiver = Snmptrapd(tmp_path / "snmptrapd")
    receiver.start()
    yield receiver
    receiver.stop()
