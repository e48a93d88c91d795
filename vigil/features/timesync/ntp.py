"""One NTP client exchange (RFC 5905, the client side of SNTP, RFC 4330): a mode 3 request over
UDP, the server's mode 4 reply, and what it says of the device's clock.

Times T1 (request sent) and T4 (reply received) are read from the device's clock, T2 and T3 are
the server's, so the offset is the correction the device's clock needs:
offset = ((T2 - T1) + (T3 - T4)) / 2, round trip delay = (T4 - T1) - (T3 - T2).
The request carries a random transmit timestamp (RFC 9109's advice: nothing about the device's
time goes on the wire), and a reply counts only when its origin timestamp is that one.
"""

from __future__ import annotations

import asyncio
import os
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass

from vigil.core.clock import Clock

NTP_EPOCH = 2_208_988_800  # seconds from 1900-01-01 to 1970-01-01
HEADER = struct.Struct(">BBbbII4sQQQQ")  # 48 bytes
MODE_CLIENT, MODE_SERVER = 3, 4
VERSION = 4
LEAP_UNSYNCHRONISED = 3
MAX_STRATUM = 15


class NtpError(Exception):
    """A failed exchange; the text says why in words for the status and the log. `kiss` is the
    code of a kiss-o'-death reply (RATE, DENY, NTSN...)."""

    def __init__(self, message: str, kiss: str = "") -> None:
        super().__init__(message)
        self.kiss = kiss


def to_ntp(moment: float) -> int:
    return int((moment + NTP_EPOCH) * 2**32) & 0xFFFF_FFFF_FFFF_FFFF


def from_ntp(value: int, pivot: float) -> float:
    """A 64-bit NTP timestamp as seconds since 1970, in the NTP era (136 years, the first ending
    in 2036) that puts it nearest to `pivot`, a time known to be roughly right."""
    era = 2.0**32
    moment = value / 2**32 - NTP_EPOCH
    return moment + era * round((pivot - moment) / era)


@dataclass(frozen=True)
class Reply:
    leap: int
    version: int
    mode: int
    stratum: int
    refid: bytes
    origin: int
    receive: int
    transmit: int
    raw: bytes  # the reply as received (NTS authenticates it)

    @property
    def reference(self) -> str:
        """The reference id as people read it: four letters at stratum 0 and 1, else an IPv4 address."""
        if self.stratum <= 1:
            return self.refid.rstrip(b"\0").decode("ascii", "replace")
        return ".".join(str(b) for b in self.refid)


@dataclass(frozen=True)
class Sample:
    """What one exchange says: the correction the device's clock needs, and how sure it is."""

    server: str
    offset: float  # seconds to add to the device's clock
    delay: float  # round trip, seconds
    stratum: int
    reference: str
    nts: bool = False


def request(transmit: int, extensions: bytes = b"") -> bytes:
    first = (0 << 6) | (VERSION << 3) | MODE_CLIENT
    return HEADER.pack(first, 0, 0, 0, 0, 0, b"\0" * 4, 0, 0, 0, transmit) + extensions


def parse_reply(data: bytes) -> Reply:
    if len(data) < HEADER.size:
        raise NtpError(f"a reply of {len(data)} bytes, shorter than an NTP header")
    first, stratum, _poll, _precision, _delay, _dispersion, refid, _ref, origin, receive, transmit = \
        HEADER.unpack_from(data)
    return Reply(first >> 6, (first >> 3) & 7, first & 7, stratum, refid, origin, receive, transmit, data)


def check_reply(reply: Reply, sent: int) -> None:
    """Refuse a reply that is not an answer to our request, or whose time must not be used."""
    if reply.mode != MODE_SERVER:
        raise NtpError(f"a reply in mode {reply.mode}, not from a server")
    if reply.origin != sent:
        raise NtpError("a reply to another request (its origin timestamp is not ours)")
    if reply.stratum == 0:  # a kiss-o'-death: the reference id is the code
        code = reply.refid.rstrip(b"\0").decode("ascii", "replace")
        raise NtpError(f"the server refused with kiss code {code}", kiss=code)
    if reply.leap == LEAP_UNSYNCHRONISED or reply.stratum > MAX_STRATUM:
        raise NtpError("the server is not synchronised itself")
    if reply.transmit == 0:
        raise NtpError("a reply without a transmit timestamp")


class _Exchange(asyncio.DatagramProtocol):
    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.answer: asyncio.Future[tuple[bytes, float]] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: object) -> None:
        if not self.answer.done():
            self.answer.set_result((data, self.clock.time()))

    def error_received(self, exc: Exception) -> None:
        if not self.answer.done():
            self.answer.set_exception(exc)


async def resolve(host: str, port: int) -> tuple[int, tuple]:
    """The socket family and address of `host`; NtpError when it has none."""
    loop = asyncio.get_running_loop()
    try:
        found = await loop.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as err:
        raise NtpError(f"the name {host} could not be resolved ({err})") from None
    if not found:
        raise NtpError(f"the name {host} has no address")
    family, _type, _proto, _name, address = found[0]
    return family, address


async def exchange(host: str, port: int, clock: Clock, timeout: float,
                   extensions: Callable[[bytes], bytes] | None = None) -> tuple[Reply, float, float, bytes]:
    """Send one request and wait for its reply: (reply, T1, T4, the request sent).
    `extensions(header)` adds extension fields to the 48-byte request header (NTS)."""
    family, address = await resolve(host, port)
    loop = asyncio.get_running_loop()
    try:
        transport, protocol = await loop.create_datagram_endpoint(lambda: _Exchange(clock), family=family,
                                                                  remote_addr=address)
    except OSError as err:
        raise NtpError(f"no route to {host}:{port} ({err.strerror or err})") from None
    try:
        sent = int.from_bytes(os.urandom(8), "big")
        packet = request(sent)
        if extensions is not None:
            packet += extensions(packet)
        t1 = clock.time()
        transport.sendto(packet)
        try:
            data, t4 = await asyncio.wait_for(protocol.answer, timeout)
        except TimeoutError:
            raise NtpError(f"no answer from {host}:{port} within {timeout:g} s") from None
        except ConnectionRefusedError:
            raise NtpError(f"{host}:{port} refused (no NTP server listens there)") from None
        except OSError as err:
            raise NtpError(f"{host}:{port}: {err.strerror or err}") from None
    finally:
        transport.close()
    reply = parse_reply(data)
    check_reply(reply, sent)
    return reply, t1, t4, packet


def sample_of(server: str, reply: Reply, t1: float, t4: float, pivot: float, nts: bool = False) -> Sample:
    """The sample an exchange gives; `pivot` (the host's time) picks the NTP era of the server's times."""
    t2, t3 = from_ntp(reply.receive, pivot), from_ntp(reply.transmit, pivot)
    offset = ((t2 - t1) + (t3 - t4)) / 2
    delay = max(0.0, (t4 - t1) - (t3 - t2))
    return Sample(server, offset, delay, reply.stratum, reply.reference, nts)
