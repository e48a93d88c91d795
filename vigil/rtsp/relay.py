"""Live relay of one camera's H.264/H.265 RTP stream to any number of RTSP clients.

The camera's RTP packets are relayed as they came, not depacketized and packetized again:
only the header changes (the relay's own SSRC, payload type, a continuous sequence and a
timestamp that stays continuous when the camera reconnects), once per packet for all clients.
A client starts at a key frame: from PLAY it waits for the next access unit that carries
SPS/PPS or an IDR (H.265: VPS/SPS/PPS or an IRAP picture), and the SDP's sprop parameter sets
are the latest the camera sent. A client that cannot keep up (its send buffer over the server's
limit) skips to the next key frame; it never holds up the camera or the other clients.
"""

from __future__ import annotations

import base64
import logging
import secrets
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from vigil.rtsp.mounts import Live, Outlet

log = logging.getLogger("vigil.rtsp")

PAYLOAD_TYPE = 96
CLOCK_RATE = 90_000
FRAME_GAP = 3000  # 90 kHz ticks put between the last packet before a camera restart and the first after
MAX_CARRY = 2048  # packets of one access unit kept for clients waiting for its start
_SEQ_TS_SSRC = struct.Struct("!HII")
_H264_KEY = frozenset({5, 7, 8})
_H265_KEY = frozenset({16, 17, 18, 19, 20, 21, 32, 33, 34})


def starts_key(codec: str, payload: bytes | memoryview) -> bool:
    """Whether an RTP payload holds (the start of) a key-frame NAL unit or a parameter set."""
    if codec == "H264":
        kind = payload[0] & 0x1F
        if kind == 24 and len(payload) > 3:  # STAP-A: the first aggregated NAL unit
            kind = payload[3] & 0x1F
        elif kind == 28 and len(payload) > 1:  # FU-A: the start fragment names the type
            return bool(payload[1] & 0x80) and (payload[1] & 0x1F) in _H264_KEY
        return kind in _H264_KEY
    if len(payload) < 3:
        return False
    kind = (payload[0] >> 1) & 0x3F
    if kind == 48 and len(payload) > 4:  # aggregation packet
        kind = (payload[4] >> 1) & 0x3F
    elif kind == 49:  # fragmentation unit
        return bool(payload[2] & 0x80) and (payload[2] & 0x3F) in _H265_KEY
    return kind in _H265_KEY


def video_sdp(codec: str, vps: bytes, sps: bytes, pps: bytes, payload_type: int = PAYLOAD_TYPE) -> list[str]:
    """The m= line, rtpmap and fmtp of an H.264 or H.265 track with its parameter sets."""
    def b64(nal: bytes) -> str:
        return base64.b64encode(nal).decode()

    lines = [f"m=video 0 RTP/AVP {payload_type}", f"a=rtpmap:{payload_type} {codec}/{CLOCK_RATE}"]
    if codec == "H264":
        fmtp = ["packetization-mode=1"]
        if len(sps) >= 4:
            fmtp.append(f"profile-level-id={sps[1:4].hex().upper()}")
        if sps and pps:
            fmtp.append(f"sprop-parameter-sets={b64(sps)},{b64(pps)}")
    else:
        fmtp = [f"sprop-{name}={b64(nal)}" for name, nal in (("vps", vps), ("sps", sps), ("pps", pps)) if nal]
    if fmtp:
        lines.append(f"a=fmtp:{payload_type} {';'.join(fmtp)}")
    lines.append("a=recvonly")
    return lines


@dataclass(eq=False)
class RelayClient:
    relay: RtpRelay
    outlet: Outlet
    waiting: bool = True  # for a key frame: at the start and after skipping
    skips: int = 0

    def stop(self) -> None:
        self.relay.remove(self)


@dataclass(eq=False)
class RtpRelay:
    """One camera's video for every client that plays it. `deliver` runs on the event loop
    with the packets the ingest read in one pass."""

    codec: str  # H264 | H265
    ssrc: int = field(default_factory=lambda: secrets.randbits(32))
    clients: list[RelayClient] = field(default_factory=list)
    packets: int = 0  # relayed since start, for statistics
    _seq: int = field(default_factory=lambda: secrets.randbits(16))
    _last_ts: int = field(default_factory=lambda: secrets.randbits(32))
    _offset: int = 0
    _source: int | None = None  # the camera's SSRC
    _au_ts: int | None = None  # the camera timestamp of the access unit under way
    _au_key: bool = False
    _carry: list[bytes] = field(default_factory=list)  # its packets from earlier passes

    @property
    def watched(self) -> bool:
        return bool(self.clients)

    def add(self, outlet: Outlet) -> RelayClient:
        client = RelayClient(self, outlet)
        self.clients.append(client)
        return client

    def remove(self, client: RelayClient) -> None:
        if client in self.clients:
            self.clients.remove(client)

    def restart(self) -> None:
        """The camera's stream starts again (it reconnected): every client waits for a key frame."""
        self._source = None
        self._au_ts = None
        self._carry = []
        for client in self.clients:
            client.waiting = True

    def deliver(self, packets: list[bytes]) -> None:
        out: list[bytes] = []
        entry: tuple[list[bytes], int] | None = None  # where waiting clients start: carried packets, index
        carry = self._carry
        au_start = 0
        codec = self.codec
        for raw in packets:
            if len(raw) < 13 or raw[0] >> 6 != 2:
                continue
            _seq, ts, ssrc = _SEQ_TS_SSRC.unpack_from(raw, 2)
            if ssrc != self._source:  # a new camera stream: keep our timestamps continuous
                self._source = ssrc
                self._offset = (self._last_ts + FRAME_GAP - ts) & 0xFFFFFFFF
                self._au_ts = None
            if ts != self._au_ts:
                self._au_ts = ts
                self._au_key = False
                carry = []
                au_start = len(out)
            offset = 12 + 4 * (raw[0] & 0x0F)
            if raw[0] & 0x10 and len(raw) >= offset + 4:  # header extension
                offset += 4 + 4 * int.from_bytes(raw[offset + 2:offset + 4], "big")
            if offset >= len(raw):
                continue
            if not self._au_key and starts_key(codec, memoryview(raw)[offset:]):
                self._au_key = True
                if entry is None:
                    entry = (carry, au_start)
            out_ts = (ts + self._offset) & 0xFFFFFFFF
            packet = bytearray(raw)
            packet[1] = (raw[1] & 0x80) | PAYLOAD_TYPE
            _SEQ_TS_SSRC.pack_into(packet, 2, self._seq, out_ts, self.ssrc)
            self._seq = (self._seq + 1) & 0xFFFF
            self._last_ts = out_ts
            out.append(bytes(packet))
        self._carry = (carry + out[au_start:])[-MAX_CARRY:] if self._au_ts is not None else []
        self.packets += len(out)
        if not out:
            return
        for client in list(self.clients):
            if client.waiting:
                if entry is None:
                    continue
                batch = entry[0] + out[entry[1]:]
            else:
                batch = out
            if client.outlet.send(batch):
                client.waiting = False
            elif client.outlet.closed:
                self.remove(client)
            else:  # its buffer is full: it skips to the next key frame
                client.skips += 1
                if client.skips == 1 or client.skips % 100 == 0:
                    log.warning("live relay client %s is too slow: skipped to a key frame %d times",
                                client.outlet.name, client.skips)
                client.waiting = True


@dataclass(eq=False)
class RelayTrack(Live):
    """The video track of a live relay, for the RTSP server."""

    relay: RtpRelay
    describe: Callable[[], list[str]]  # its SDP lines, with the parameter sets the camera sends now
    media: str = "video"
    payload_type: int = PAYLOAD_TYPE

    @property
    def ssrc(self) -> int:
        return self.relay.ssrc

    def sdp(self) -> list[str]:
        return self.describe()

    def rtp_info(self, outlet: Outlet) -> str:
        return ""  # the first packet is the next key frame's: not known at PLAY

    def open(self, outlet: Outlet) -> RelayClient:
        return self.relay.add(outlet)
