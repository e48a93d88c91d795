"""A small RTP reader for replay tests and the bench: the access units of a replay as a client
sees them (interleaved packets until the RTCP BYE), each with its RTP timestamp, sequence numbers
and the ONVIF replay header extension (0xABAC: NTP time, C/E/D/T flags, CSeq byte) read straight
from the bytes, independently of the server's own code."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

from tests.peers.rtsp_client import RtspClient

NTP_UNIX = 2_208_988_800
C, E, D, T = 0x80, 0x40, 0x20, 0x10


@dataclass
class Unit:
    """One access unit: its packets' sequence numbers, RTP time, and the extension of its first packet."""

    rtp_time: int
    seqs: list[int] = field(default_factory=list)
    ntp: float | None = None  # Unix seconds
    flags: int = 0
    cseq: int | None = None
    marker: bool = False
    nal_types: list[int] = field(default_factory=list)

    def has(self, flag: int) -> bool:
        return bool(self.flags & flag)


def extension(packet: bytes) -> tuple[float, int, int] | None:
    if not packet[0] & 0x10:
        return None
    at = 12 + 4 * (packet[0] & 0x0F)
    profile, length = struct.unpack_from("!HH", packet, at)
    if profile != 0xABAC or length < 3:
        return None
    seconds, fraction, flags, cseq = struct.unpack_from("!IIBB", packet, at + 4)
    return seconds - NTP_UNIX + fraction / 2**32, flags, cseq


def payload(packet: bytes) -> bytes:
    at = 12 + 4 * (packet[0] & 0x0F)
    if packet[0] & 0x10:
        at += 4 + 4 * struct.unpack_from("!H", packet, at + 2)[0]
    return packet[at:]


def units(packets: list[bytes]) -> list[Unit]:
    """Packets grouped into access units: a unit ends with the marker bit."""
    out: list[Unit] = []
    current: Unit | None = None
    for packet in packets:
        seq, rtp_time = struct.unpack_from("!HI", packet, 2)
        if current is None:
            current = Unit(rtp_time)
            found = extension(packet)
            if found is not None:
                current.ntp, current.flags, current.cseq = found
        current.seqs.append(seq)
        body = payload(packet)
        kind = body[0] & 0x1F
        current.nal_types.append(body[1] & 0x1F if kind == 28 else kind)
        if packet[1] & 0x80:
            current.marker = True
            out.append(current)
            current = None
    if current is not None:
        out.append(current)
    return out


async def until_bye(client: RtspClient, timeout: float = 10.0, rtp_channel: int = 0) -> list[bytes]:
    """The RTP packets of `rtp_channel` up to the RTCP BYE on the next channel."""
    packets = []
    while True:
        channel, packet = await client.packet(timeout)
        if channel == rtp_channel:
            packets.append(packet)
        elif channel == rtp_channel + 1 and is_bye(packet):
            return packets


def is_bye(rtcp: bytes) -> bool:
    """Whether a compound RTCP packet holds a BYE."""
    at = 0
    while at + 4 <= len(rtcp):
        if rtcp[at + 1] == 203:
            return True
        at += 4 * (struct.unpack_from("!H", rtcp, at + 2)[0] + 1)
    return False
