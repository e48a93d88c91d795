"""LLDP and CDP: the device tells the switch port it is plugged into who it is (IEEE 802.1AB
LLDP every 30 s, Cisco's CDP version 2 every 60 s), on each interface discovery uses.

Frames leave through a raw packet socket (AF_PACKET, which needs CAP_NET_RAW: without it the
protocol reports the permission error and stays off). No library sends LLDP well from Python
(scapy builds frames but is a large import for a handful of fixed TLVs), and the TLVs are few
and fixed, so they are built here; lldpd, a real receiver, checks them in the tests.

LLDP: chassis and port ID (the device's MAC), TTL 120 s, port description (the interface),
system name (the host name), system description (product and firmware), capabilities
(station) and the management address (IPv4, with the interface index). Turned off or stopped,
it sends a shutdown LLDPDU (TTL 0) so that the switch forgets the device at once; CDP has no
such message, so a switch forgets it when the hold time (180 s) has passed. CDP: device
ID (host name), the address, port ID, capabilities (host), software version and platform.

Receiving (the neighbours a switch announces, LLDP-MED power requests on the recorders' PoE
ports) is the PoE issue's; this module only sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import struct

from vigil.features.discovery.const import CDP_HOLD, CDP_INTERVAL, LLDP_INTERVAL, LLDP_TTL
from vigil.features.discovery.interfaces import Interface
from vigil.features.discovery.model import Facts, Settings

log = logging.getLogger("vigil.discovery")
LLDP_ADDRESS = bytes.fromhex("0180c200000e")  # nearest bridge: a switch consumes it, never forwards it
CDP_ADDRESS = bytes.fromhex("01000ccccccc")
ETH_P_LLDP = 0x88CC
MIN_FRAME = 60  # an Ethernet frame without its FCS is at least 60 bytes: pad shorter ones
STATION = 0x0080  # the LLDP capability "station only"
CDP_HOST = 0x10  # the CDP capability "host"


# -- LLDP ---------------------------------------------------------------------------------
def lldp_tlv(kind: int, value: bytes) -> bytes:
    if len(value) > 511:
        raise ValueError(f"LLDP TLV {kind} too long")
    return struct.pack("!H", kind << 9 | len(value)) + value


def lldpdu(facts: Facts, host_name: str, interface: Interface, ttl: int = LLDP_TTL) -> bytes:
    mac = bytes.fromhex(facts.mac.replace(":", ""))
    tlvs = [lldp_tlv(1, b"\x04" + mac),  # chassis ID, subtype MAC address
            lldp_tlv(2, b"\x03" + mac),  # port ID, subtype MAC address (as Axis devices send it)
            lldp_tlv(3, struct.pack("!H", ttl))]
    if ttl:
        management = (bytes([5, 1]) + socket.inet_aton(interface.address)  # length, IPv4, the address
                      + bytes([2]) + struct.pack("!I", interface.index) + bytes([0]))  # ifIndex, no OID
        tlvs += [lldp_tlv(4, interface.name.encode()[:255]),
                 lldp_tlv(5, host_name.encode()[:255]),
                 lldp_tlv(6, f"{facts.full_name} {facts.version}".encode()[:255]),
                 lldp_tlv(7, struct.pack("!HH", STATION, STATION)),
                 lldp_tlv(8, management)]
    return b"".join(tlvs) + lldp_tlv(0, b"")


def lldp_frame(source: bytes, pdu: bytes) -> bytes:
    return _padded(LLDP_ADDRESS + source + struct.pack("!H", ETH_P_LLDP) + pdu)


# -- CDP ----------------------------------------------------------------------------------
def cdp_tlv(kind: int, value: bytes) -> bytes:
    return struct.pack("!HH", kind, len(value) + 4) + value


def cdp_checksum(data: bytes) -> int:
    """The IP checksum, with Cisco's handling of an odd last byte (as tcpdump and lldpd check it)."""
    even = len(data) - len(data) % 2
    total = sum(data[i] << 8 | data[i + 1] for i in range(0, even, 2))
    if len(data) % 2:
        last = data[-1]
        total += (0xFF << 8) + last - 1 if last & 0x80 else last
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def cdp_pdu(facts: Facts, host_name: str, interface: Interface, hold: int = CDP_HOLD) -> bytes:
    address = struct.pack("!I", 1) + bytes([1, 1, 0xCC]) + struct.pack("!H", 4) + socket.inet_aton(interface.address)
    body = b"".join([cdp_tlv(0x0001, host_name.encode()), cdp_tlv(0x0002, address),
                     cdp_tlv(0x0003, interface.name.encode()), cdp_tlv(0x0004, struct.pack("!I", CDP_HOST)),
                     cdp_tlv(0x0005, f"{facts.full_name} {facts.version}".encode()),
                     cdp_tlv(0x0006, facts.model_name.encode())])
    unsummed = bytes([2, hold]) + b"\x00\x00" + body
    return bytes([2, hold]) + struct.pack("!H", cdp_checksum(unsummed)) + body


def cdp_frame(source: bytes, pdu: bytes) -> bytes:
    snap = b"\xaa\xaa\x03" + b"\x00\x00\x0c" + b"\x20\x00"  # LLC SNAP, Cisco, CDP
    payload = snap + pdu
    return _padded(CDP_ADDRESS + source + struct.pack("!H", len(payload)) + payload)  # 802.3: a length


def _padded(frame: bytes) -> bytes:
    return frame + bytes(max(0, MIN_FRAME - len(frame)))


# -- the sender ---------------------------------------------------------------------------
class Link:
    """A raw socket on one interface and its hardware address."""

    def __init__(self, interface: Interface) -> None:
        self.interface = interface
        self.sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)  # protocol 0: sends, receives nothing
        try:
            self.sock.bind((interface.name, 0))
            self.sock.setblocking(False)
            self.source = self.sock.getsockname()[4]
        except OSError:
            self.sock.close()
            raise

    def send(self, frame: bytes) -> None:
        try:
            self.sock.send(frame)
        except OSError as err:  # the link went down, the queue is full: the next period sends again
            log.debug("LLDP/CDP on %s not sent: %s", self.interface.name, err)


class Lldp:
    """LLDP and CDP on each interface; `start` and `stop` as the discovery service asks."""

    label = "LLDP and CDP"

    def __init__(self, facts: Facts) -> None:
        self.facts = facts
        self.links: list[Link] = []
        self.host_name = ""
        self._task: asyncio.Task | None = None
        self.interval = LLDP_INTERVAL  # seconds between two LLDPDUs; CDP goes every CDP_INTERVAL

    @staticmethod
    def wanted(settings: Settings) -> tuple | None:
        if not settings.lldp or not settings.interfaces:
            return None
        return settings.interfaces, settings.host_name

    async def start(self, settings: Settings) -> None:
        self.host_name = settings.host_name
        for interface in settings.interfaces:
            link = Link(interface)
            if len(link.source) != 6:  # no Ethernet address (a tunnel): no LLDP there
                link.sock.close()
                continue
            self.links.append(link)
        self._task = asyncio.create_task(self._send_periodically())

    async def _send_periodically(self) -> None:
        cdp_every = max(1, round(CDP_INTERVAL / LLDP_INTERVAL))  # every second LLDPDU
        tick = 0
        while True:
            for link in self.links:
                link.send(lldp_frame(link.source, lldpdu(self.facts, self.host_name, link.interface)))
                if tick % cdp_every == 0:
                    link.send(cdp_frame(link.source, cdp_pdu(self.facts, self.host_name, link.interface)))
            tick += 1
            await asyncio.sleep(self.interval)

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        links, self.links = self.links, []
        for link in links:
            link.send(lldp_frame(link.source, lldpdu(self.facts, self.host_name, link.interface, ttl=0)))
            link.sock.close()
