"""RTCP of a call (RFC 3550 6): what the device knows of the stream it receives (sequence
numbers, losses, interarrival jitter, the far end's last sender report) and the compound
packets it sends on the RTP port + 1: a sender report while it sends audio (a receiver report
while it does not: on hold), each with one reception report block about the far end and an SDES
CNAME, and a BYE when the call ends. The SR/RR headers and the BYE are the RTSP server's
(vigil/rtsp/protocol.py): one builder for the device's RTCP."""

from __future__ import annotations

import struct
from dataclasses import dataclass

from vigil.rtsp.protocol import rtcp_receiver_report, rtcp_sender_report

REPORT_INTERVAL = 5.0  # seconds between reports (RFC 3550 6.2's minimum)
_BLOCK = struct.Struct("!IIIIII")
SR, RR, SDES, BYE = 200, 201, 202, 203
RTP_SEQ_MOD = 1 << 16


@dataclass
class Reception:
    """Statistics of the far end's RTP (RFC 3550 A.1, A.3, A.8)."""

    ssrc: int | None = None
    base_seq: int = 0
    max_seq: int = 0
    cycles: int = 0
    received: int = 0
    expected_prior: int = 0
    received_prior: int = 0
    jitter: float = 0.0
    transit: float | None = None
    last_sr: int = 0  # middle 32 bits of the NTP time in the far end's last SR
    last_sr_arrival: float = 0.0  # wall-clock seconds it arrived
    reports: int = 0  # RTCP packets received from the far end
    byes: int = 0

    def packet(self, ssrc: int, seq: int, timestamp: int, arrival: float, clock: int) -> None:
        if self.ssrc != ssrc:  # a new source (or the first): start counting again
            self.ssrc, self.base_seq, self.max_seq, self.cycles = ssrc, seq, seq, 0
            self.received = self.expected_prior = self.received_prior = 0
            self.transit, self.jitter = None, 0.0
        elif 0 < (seq - self.max_seq) % RTP_SEQ_MOD < 3000:
            if seq < self.max_seq:
                self.cycles += RTP_SEQ_MOD
            self.max_seq = seq
        self.received += 1
        transit = arrival * clock - timestamp
        if self.transit is not None:
            delta = abs(transit - self.transit)
            self.jitter += (delta - self.jitter) / 16
        self.transit = transit

    def control(self, packet: bytes, arrival: float) -> None:
        """A (decrypted) RTCP compound packet from the far end."""
        self.reports += 1
        at = 0
        while at + 4 <= len(packet):
            kind, words = packet[at + 1], struct.unpack("!H", packet[at + 2:at + 4])[0]
            if kind == SR and at + 20 <= len(packet):
                ntp_seconds, ntp_fraction = struct.unpack("!II", packet[at + 8:at + 16])
                self.last_sr = ((ntp_seconds & 0xFFFF) << 16) | (ntp_fraction >> 16)
                self.last_sr_arrival = arrival
            elif kind == BYE:
                self.byes += 1
            at += 4 * (words + 1)

    def block(self, now: float) -> bytes:
        """The reception report block about the far end (RFC 3550 6.4.1), and the interval reset."""
        assert self.ssrc is not None
        extended = self.cycles + self.max_seq
        expected = extended - self.base_seq + 1
        lost = max(min(expected - self.received, 0x7FFFFF), -0x800000)
        interval_expected = expected - self.expected_prior
        interval_lost = interval_expected - (self.received - self.received_prior)
        self.expected_prior, self.received_prior = expected, self.received
        fraction = (interval_lost << 8) // interval_expected if interval_expected and interval_lost > 0 else 0
        delay = int((now - self.last_sr_arrival) * 65536) if self.last_sr else 0
        return _BLOCK.pack(self.ssrc, (min(fraction, 255) << 24) | (lost & 0xFFFFFF), extended & 0xFFFFFFFF,
                           int(self.jitter) & 0xFFFFFFFF, self.last_sr, delay & 0xFFFFFFFF)


def sdes_cname(ssrc: int, cname: str) -> bytes:
    """An SDES packet with the CNAME item (RFC 3550 6.5.1), padded to 32 bits."""
    item = bytes([1, len(cname)]) + cname.encode()
    chunk = struct.pack("!I", ssrc) + item + b"\0"  # the item list ends with a null octet
    chunk += b"\0" * (-len(chunk) % 4)
    return struct.pack("!BBH", 0x81, SDES, len(chunk) // 4) + chunk


def report(ssrc: int, cname: str, reception: Reception, now: float, sending: bool, rtp_timestamp: int,
           packets: int, octets: int) -> bytes:
    """The compound packet of one report interval: SR (or RR) + SDES CNAME."""
    blocks = (reception.block(now),) if reception.ssrc is not None else ()
    head = (rtcp_sender_report(ssrc, now, rtp_timestamp, packets, octets, blocks) if sending
            else rtcp_receiver_report(ssrc, blocks))
    return head + sdes_cname(ssrc, cname)

