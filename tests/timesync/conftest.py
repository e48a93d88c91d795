"""Fixtures of the time tests: in-process NTP servers whose time and faults a test sets
(`ntp_servers`), a device on the host's real clock (`real_device`), and chrony, the real
NTP and NTS server (`chrony`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN, add_account
from tests.peers.chrony import Chrony, installed
from tests.peers.ntp import FakeNtpServer, start_ntp_server
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.timesync.service import TIMESYNC_SERVICE, TimeSyncService


@pytest.fixture
async def ntp_servers(clock) -> AsyncIterator[Callable[..., FakeNtpServer]]:
    """`make(offset=...)` starts one more fake server, `offset` seconds off the FakeClock's host time
    (the device's time before any correction)."""
    made: list[FakeNtpServer] = []

    async def make(**options) -> FakeNtpServer:
        server = await start_ntp_server(clock.host_time, **options)
        made.append(server)
        return server

    yield make
    for server in made:
        server.close()


def service_of(device: Device) -> TimeSyncService:
    return device.features[TIMESYNC_SERVICE]


@pytest.fixture
def real_device(tmp_path: Path) -> Iterator[Device]:
    """An S3016 on the host's clock (as `vigil run` has it), with the test administrator."""
    device = build_device("s3016", tmp_path / "data", Ports(http=80, https=443), Clock())
    add_account(device, *ADMIN, "admin", ptz=True)
    yield device
    device.close()


@pytest.fixture(scope="module")
def chrony(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrony]:
    if not installed():
        pytest.skip("chrony is not installed (make debs installs it)")
    server = Chrony(tmp_path_factory.mktemp("chrony")).start()
    yield server
    server.stop()
