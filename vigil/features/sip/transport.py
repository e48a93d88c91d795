"""SIP transports (RFC 3261 §18): one UDP socket and one TCP listener on the SIP port, and TCP
connections (accepted, or opened to a registrar whose account says TCP). A message goes back
over the connection its peer uses, else over UDP. TCP frames messages by Content-Length."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

log = logging.getLogger("vigil.sip")

Address = tuple[str, int]
Receiver = Callable[[bytes, Address], None]
MAX_MESSAGE = 65536


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, receive: Receiver) -> None:
        self.receive = receive
        self.closed = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Address) -> None:
        self.receive(data, addr)

    def error_received(self, exc: Exception) -> None:
        log.info("SIP transport error: %s", exc)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def local_address(host: str, toward: Address) -> str:
    """The address to advertise: the bound one, or the one the system routes toward the peer."""
    if host not in ("", "0.0.0.0"):
        return host
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe, contextlib.suppress(OSError):
        probe.connect(toward)  # no packet is sent
        return probe.getsockname()[0]
    return "127.0.0.1"


async def read_message(reader: asyncio.StreamReader) -> bytes:
    """One message from a stream: the head to its empty line, then Content-Length bytes."""
    head = await reader.readuntil(b"\r\n\r\n")
    while head in (b"\r\n\r\n",):  # keep-alive CRLFs
        head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() in (b"content-length", b"l"):
            length = int(value.strip()) if value.strip().isdigit() else 0
    if length > MAX_MESSAGE:
        raise ValueError("message too large")
    return head + await reader.readexactly(length)


class Transports:
    def __init__(self, host: str, port: int, receive: Receiver) -> None:
        self.host, self.port, self.receive = host, port, receive
        self.udp: asyncio.DatagramTransport | None = None
        self._datagrams: _Datagrams | None = None
        self.tcp: asyncio.Server | None = None
        self.streams: dict[Address, asyncio.StreamWriter] = {}
        self._readers: set[asyncio.Task] = set()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self.udp, self._datagrams = await loop.create_datagram_endpoint(lambda: _Datagrams(self.receive),
                                                                        local_addr=(self.host, self.port))
        self.port = self.udp.get_extra_info("sockname")[1]
        try:
            self.tcp = await asyncio.start_server(self._accepted, self.host, self.port)
        except OSError:
            self.udp.close()
            raise

    async def stop(self) -> None:
        for task in list(self._readers):
            task.cancel()
        for writer in list(self.streams.values()):
            writer.close()
        if self.tcp is not None:
            self.tcp.close()
            await self.tcp.wait_closed()
        if self.udp is not None and self._datagrams is not None:
            self.udp.close()
            await self._datagrams.closed  # the port is free again when this returns (a restart binds it)

    def reliable(self, addr: Address) -> bool:
        return addr in self.streams

    def name(self, addr: Address) -> str:
        return "TCP" if addr in self.streams else "UDP"

    def send(self, data: bytes, addr: Address) -> None:
        writer = self.streams.get(addr)
        if writer is not None and not writer.is_closing():
            writer.write(data)
        elif self.udp is not None and not self.udp.is_closing():
            self.udp.sendto(data, addr)

    async def connect(self, addr: Address) -> None:
        """A TCP connection to `addr` (kept; messages to it go over it); OSError when refused."""
        if addr in self.streams and not self.streams[addr].is_closing():
            return
        reader, writer = await asyncio.wait_for(asyncio.open_connection(addr[0], addr[1]), 5)
        self._keep(reader, writer, addr)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self._keep(reader, writer, (peer[0], peer[1]))

    def _keep(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: Address) -> None:
        self.streams[addr] = writer
        task = asyncio.get_running_loop().create_task(self._read(reader, writer, addr))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: Address) -> None:
        try:
            while True:
                self.receive(await read_message(reader), addr)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ValueError) as err:
            log.info("SIP TCP connection with %s:%s ended: %s", addr[0], addr[1], err or "closed")
        finally:
            if self.streams.get(addr) is writer:
                del self.streams[addr]
            writer.close()


async def resolve(addr: Address) -> Address:
    """`addr` with its host name looked up (in a thread: never blocking the loop); OSError when unknown."""
    infos = await asyncio.get_running_loop().getaddrinfo(addr[0], addr[1], family=socket.AF_INET,
                                                         type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"{addr[0]} is not known")
    return infos[0][4][0], addr[1]
