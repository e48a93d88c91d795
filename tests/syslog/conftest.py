"""Fixtures of the remote syslog tests: `dev`, an S3016 whose syslog service runs (retrying a
server quickly) with the test CA in its certificate store; `rsyslog`, the real server
(tests/peers/rsyslog.py); `receiver`, a bare asyncio server that keeps the exact bytes, for
framing, and that the tests stop and start; and configuring the service."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import eventually
from tests.peers.certs import Certs
from tests.peers.rsyslog import Rsyslog, available
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE
from vigil.features.syslog.config import ServerConfig, parse_servers
from vigil.features.syslog.service import SYSLOG_SERVICE, SyslogService

CA_ID = "syslog-test-ca"
needs_rsyslog = pytest.mark.skipif(not available(), reason="rsyslog and rsyslog-gnutls are not installed "
                                                           "(make debs installs them)")


def syslog(device: Device) -> SyslogService:
    return device.features[SYSLOG_SERVICE]


def install_ca(device: Device, certs: Certs, ident: str = CA_ID) -> None:
    device.features[KEYSTORE].add_ca(ident, certs.ca.read_bytes(), "test")


@pytest.fixture
async def dev(device: Device, certs: Certs) -> AsyncIterator[Device]:
    service = syslog(device)
    service.backoff = (0.05, 0.2)
    install_ca(device, certs)
    task = asyncio.create_task(service.run())
    yield device
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


@pytest.fixture
def rsyslog(tmp_path: Path, certs: Certs) -> Iterator[Rsyslog]:
    if not available():
        pytest.skip("rsyslog and rsyslog-gnutls are not installed (make debs installs them)")
    server = Rsyslog(tmp_path / "rsyslog", certs.ca, certs.cert, certs.key).start()
    yield server
    server.stop()


def servers(*items: dict[str, Any]) -> list[ServerConfig]:
    return parse_servers(list(items))


async def configure(device: Device, *items: dict[str, Any], ca: list[str] | None = None) -> SyslogService:
    """Set the servers (as setup would) and wait until the senders are up or known down."""
    service = syslog(device)
    service.setup(servers(*items), ca, "test")
    await eventually(lambda: len(service.senders) == len(items) and all(s.state != "connecting"
                                                                         for s in service.senders),
                     10, "the senders to connect")
    return service


# -- a bare receiver, for the exact bytes ----------------------------------------------------------
class Receiver:
    """TCP (octet-counted frames) and UDP (one message per datagram) on loopback; `messages` holds
    what came, as bytes, in order. `stop_tcp`/`start_tcp` take the TCP server away and back."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.tcp_port = 0
        self.udp_port = 0
        self.connections = 0
        self._server: asyncio.Server | None = None
        self._udp: asyncio.DatagramTransport | None = None
        self._writers: list[asyncio.StreamWriter] = []
        self.bad_frames = 0

    async def start_tcp(self, port: int = 0) -> int:
        self._server = await asyncio.start_server(self._stream, "127.0.0.1", port or self.tcp_port)
        self.tcp_port = self._server.sockets[0].getsockname()[1]
        return self.tcp_port

    async def stop_tcp(self) -> None:
        assert self._server is not None
        self._server.close()
        for writer in self._writers:
            writer.close()
        await self._server.wait_closed()
        self._server, self._writers = None, []

    async def start_udp(self) -> int:
        receiver = self

        class Datagrams(asyncio.DatagramProtocol):
            def datagram_received(self, data: bytes, addr: tuple) -> None:
                receiver.messages.append(data)

        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            Datagrams, local_addr=("127.0.0.1", 0))
        self._udp = transport
        self.udp_port = transport.get_extra_info("sockname")[1]
        return self.udp_port

    async def _stream(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                length = await reader.readuntil(b" ")
                if not length[:-1].isdigit():
                    self.bad_frames += 1
                    return
                self.messages.append(await reader.readexactly(int(length[:-1])))

    async def close(self) -> None:
        if self._server is not None:
            await self.stop_tcp()
        if self._udp is not None:
            self._udp.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    r = Receiver()
    await r.start_tcp()
    await r.start_udp()
    yield r
    await r.close()
