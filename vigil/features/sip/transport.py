"""SIP transports (RFC 3261 §18): one UDP socket and one TCP listener on the SIP port, a TLS
listener on the TLS port (when given a server context, tls.py), and TCP or TLS connections
(accepted, or opened to a registrar, proxy or peer whose account says TCP or TLS). A message goes
back over the connection its peer uses, else over UDP. Streams frame messages by Content-Length.
Connections opened with different TLS contexts to one address (two accounts at one registrar, one
with a client certificate) are separate flows; the last one `connect` asked for carries the messages
to that address. The owner hears of a connection that ends (`closed`): a registration kept over it
is renewed at once, and a transaction waiting on it fails at once."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable

log = logging.getLogger("vigil.sip")

Address = tuple[str, int]
Receiver = Callable[[bytes, Address], None]
Closed = Callable[[Address, asyncio.StreamWriter, str], None]  # the peer, the connection that ended, why
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
    def __init__(self, host: str, port: int, receive: Receiver, tls_port: int = 0,
                 tls_server: ssl.SSLContext | None = None, closed: Closed | None = None) -> None:
        self.host, self.port, self.receive = host, port, receive
        self.tls_port, self.tls_server, self.closed = tls_port, tls_server, closed
        self.tls: asyncio.Server | None = None
        self.tls_error = ""  # why the TLS port does not listen
        self.secure: set[Address] = set()  # peers reached over TLS (kept when the connection ends: never UDP to them)
        self.udp: asyncio.DatagramTransport | None = None
        self._datagrams: _Datagrams | None = None
        self.tcp: asyncio.Server | None = None
        self.streams: dict[Address, asyncio.StreamWriter] = {}  # the connection messages to an address go over
        self.flows: dict[tuple[Address, int], asyncio.StreamWriter] = {}  # opened ones by (address, id of the context)
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
        if self.tls_server is not None:
            try:
                self.tls = await asyncio.start_server(self._accepted, self.host, self.tls_port, ssl=self.tls_server,
                                                      ssl_handshake_timeout=5)
                self.tls_port = self.tls.sockets[0].getsockname()[1]
            except OSError as err:  # UDP and TCP still serve; the owner reports `tls_error`
                self.tls_error = str(err)

    async def stop(self) -> None:
        for task in list(self._readers):
            task.cancel()
        for writer in {*self.streams.values(), *self.flows.values()}:
            writer.close()
        for server in (self.tcp, self.tls):
            if server is not None:
                server.close()
                await server.wait_closed()
        if self.udp is not None and self._datagrams is not None:
            self.udp.close()
            await self._datagrams.closed  # the port is free again when this returns (a restart binds it)

    def reliable(self, addr: Address) -> bool:
        return addr in self.streams

    def name(self, addr: Address) -> str:
        if addr not in self.streams:
            return "UDP"
        return "TLS" if addr in self.secure else "TCP"

    def local_port(self, addr: Address) -> int:
        """The port to advertise to `addr` (Via, Contact): the TLS port over TLS, else the SIP port."""
        return self.tls_port if addr in self.secure and addr in self.streams else self.port

    def send(self, data: bytes, addr: Address) -> None:
        writer = self.streams.get(addr)
        if writer is not None and not writer.is_closing():
            writer.write(data)
        elif addr in self.secure:  # its TLS connection ended: nothing goes to it in clear
            log.info("SIP message to %s:%s dropped: its TLS connection has ended", addr[0], addr[1])
        elif self.udp is not None and not self.udp.is_closing():
            self.udp.sendto(data, addr)

    async def connect(self, addr: Address, tls: ssl.SSLContext | None = None, server_name: str = "") -> None:
        """A TCP connection, or a TLS one with `tls`, to `addr` (kept; messages to it go over it);
        OSError when refused (ssl.SSLError, an OSError, when the handshake fails)."""
        flow = (addr, id(tls) if tls is not None else 0)
        current = self.flows.get(flow)
        if current is None and tls is None:
            current = self.streams.get(addr)  # a TCP connection the peer opened serves as well
        if current is not None and not current.is_closing() and (
                current.get_extra_info("ssl_object") is None) == (tls is None):
            self._carry(addr, current)
            return
        reader, writer = await asyncio.wait_for(asyncio.open_connection(
            addr[0], addr[1], ssl=tls, server_hostname=(server_name or addr[0]) if tls is not None else None,
            ssl_handshake_timeout=5 if tls is not None else None), 6)
        self.flows[flow] = writer
        self._keep(reader, writer, addr)

    async def _accepted(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        self._keep(reader, writer, (peer[0], peer[1]))

    def _carry(self, addr: Address, writer: asyncio.StreamWriter) -> None:
        """Messages to `addr` go over `writer` from now on."""
        self.streams[addr] = writer
        if writer.get_extra_info("ssl_object") is not None:
            self.secure.add(addr)
        else:
            self.secure.discard(addr)

    def _keep(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: Address) -> None:
        self._carry(addr, writer)
        task = asyncio.get_running_loop().create_task(self._read(reader, writer, addr))
        self._readers.add(task)
        task.add_done_callback(self._readers.discard)

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, addr: Address) -> None:
        why = "closed"
        try:
            while True:
                self.receive(await read_message(reader), addr)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, OSError, ValueError) as err:
            why = str(err) if isinstance(err, OSError) and str(err) else "closed"
            log.info("SIP %s connection with %s:%s ended: %s", self.name(addr), addr[0], addr[1], why)
        finally:
            writer.close()
            self.flows = {k: w for k, w in self.flows.items() if w is not writer}
            if self.streams.get(addr) is writer:
                del self.streams[addr]
                other = next((w for (a, _), w in self.flows.items() if a == addr and not w.is_closing()), None)
                if other is not None:  # another account's flow to the same peer carries on
                    self._carry(addr, other)
            if self.closed is not None:
                self.closed(addr, writer, why)


async def resolve(addr: Address) -> Address:
    """`addr` with its host name looked up (in a thread: never blocking the loop); OSError when unknown."""
    infos = await asyncio.get_running_loop().getaddrinfo(addr[0], addr[1], family=socket.AF_INET,
                                                         type=socket.SOCK_DGRAM)
    if not infos:
        raise OSError(f"{addr[0]} is not known")
    return infos[0][4][0], addr[1]
