"""An in-process NTP server whose time and faults the caller sets: the time tests' server
(tests/timesync/conftest.py `ntp_servers`) and the NTP benchmark's when chrony is missing.
No pytest here, so that a benchmark can start it too."""

from __future__ import annotations

import asyncio
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from vigil.features.timesync.ntp import HEADER, to_ntp


@dataclass
class FakeNtpServer(asyncio.DatagramProtocol):
    """Answers each request with `now() + offset`; `silent`, `kiss`, `stratum`, `leap` and
    `wrong_origin` make it misbehave."""

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

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


async def start_ntp_server(now: Callable[[], float], **options) -> FakeNtpServer:
    """A FakeNtpServer on a free loopback UDP port of the running loop."""
    server = FakeNtpServer(now, **options)
    transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
        lambda: server, local_addr=("127.0.0.1", 0))
    server.port = transport.get_extra_info("sockname")[1]
    return server
