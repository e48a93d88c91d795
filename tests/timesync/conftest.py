"""Fixtures of the time tests: in-process NTP servers whose time and faults a test sets
(`ntp_servers`), a device on the host's real clock (`real_device`), and chrony, the real
NTP and NTS server (`chrony`)."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ADMIN, add_account
from tests.peers.chrony import Chrony, installed
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.timesync.ntp import HEADER, to_ntp
from vigil.features.timesync.service import TIMESYNC_SERVICE, TimeSyncService


@dataclass
class FakeNtpServer(asyncio.DatagramProtocol):
    """Answers each request with `now() + offset` (`now`: the host's time of the test's clock);
    `silent`, `kiss`, `stratum`, `leap` and `wrong_origin` make it misbehave."""

    now: Callable[[], float]
    offset: float = 0.0
    stratum: int = 2
    leap: int = 0
    kiss: str = ""
    silent: bool = False
    wrong_origin: bool = False
    requests: int = 0
    port: int = 0
    transport: asyncio.DatagramTransport | None = field(default=None, repr=False)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def datagram_received(self, data: bytes, addr: tuple) -> None:
        self.requests += 1
        if self.silent or len(data) < 48:
            return
        origin = struct.unpack_from(">Q", data, 40)[0] ^ (1 if self.wrong_origin else 0)
        moment = to_ntp(self.now() + self.offset)
        stratum, refid = (0, self.kiss.encode()) if self.kiss else (self.stratum, b"\x7f\0\0\1")
        reply = HEADER.pack((self.leap << 6) | (4 << 3) | 4, stratum, 6, -20, 0, 0, refid, moment, origin,
                            moment, moment)
        assert self.transport is not None
        self.transport.sendto(reply, addr)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@pytest.fixture
async def ntp_servers(clock) -> AsyncIterator[Callable[..., FakeNtpServer]]:
    """`make(offset=...)` starts one more fake server, `offset` seconds off the FakeClock's host time
    (the device's time before any correction)."""
    made: list[FakeNtpServer] = []
    loop = asyncio.get_running_loop()

    async def make(**options) -> FakeNtpServer:
        server = FakeNtpServer(clock.host_time, **options)
        transport, _ = await loop.create_datagram_endpoint(lambda: server, local_addr=("127.0.0.1", 0))
        server.port = transport.get_extra_info("sockname")[1]
        made.append(server)
        return server

    yield make
    for server in made:
        if server.transport is not None:
            server.transport.close()


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
