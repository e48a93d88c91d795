"""RTP over RTSP (interleaved TCP) reassembly into access units, without per-byte Python work.

The reader hands in whatever bytes arrived since its last pass; `InterleavedParser` splits
them into RTP packets per channel, and a depacketizer per track (H.264, H.265, AAC, G.711)
turns packets into access units: one video frame (length-prefixed NAL units, as MP4 stores
them) or one audio frame, with its RTP timestamp and whether it is a key frame.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass, field

_HEADER = struct.Struct("!BBHII")  # v/p/x/cc, m/pt, seq, timestamp, ssrc


@dataclass(slots=True)
class AccessUnit:
    timestamp: int  # RTP clock units, unwrapped to 64 bits
    data: bytes  # video: 4-byte length-prefixed NAL units; audio: the raw frame
    key: bool


@dataclass(slots=True)
class ParameterSets:
    """SPS/PPS (and VPS for H.265) as last seen in band or in the SDP."""

    vps: bytes = b""
    sps: bytes = b""
    pps: bytes = b""
    changed: bool = False

    def update(self, kind: str, nal: bytes) -> None:
        if getattr(self, kind) != nal:
            setattr(self, kind, nal)
            self.changed = True


class Depacketizer:
    """Turns one track's RTP packets into access units."""

    def __init__(self, emit: Callable[[AccessUnit], None]) -> None:
        self.emit = emit
        self._last_ts: int | None = None
        self._high = 0  # RTP timestamps wrap at 2**32: keep a running high part
        self.lost = 0
        self._seq: int | None = None
        # Called with every packet as it came (the live relay); None: nobody wants them.
        self.on_packet: Callable[[memoryview], None] | None = None

    def _unwrap(self, ts: int) -> int:
        if self._last_ts is not None:
            low = self._last_ts & 0xFFFFFFFF
            if ts < low and low - ts > 0x80000000:
                self._high += 1 << 32
            elif ts > low and ts - low > 0x80000000 and self._high:
                self._high -= 1 << 32
        full = self._high + ts
        self._last_ts = full
        return full

    def packet(self, data: memoryview) -> None:
        if len(data) < 12:
            return
        if self.on_packet is not None:
            self.on_packet(data)
        first, second, seq, ts, _ssrc = _HEADER.unpack_from(data)
        offset = 12 + 4 * (first & 0x0F)
        if first & 0x10:  # header extension
            if len(data) < offset + 4:
                return
            offset += 4 + 4 * int.from_bytes(data[offset + 2:offset + 4], "big")
        end = len(data)
        if first & 0x20:  # padding
            end -= data[-1]
        if self._seq is not None and seq != (self._seq + 1) & 0xFFFF:
            self.lost += (seq - self._seq - 1) & 0xFFFF
            self.discontinuity()
        self._seq = seq
        if offset < end:
            self.payload(data[offset:end], self._unwrap(ts), bool(second & 0x80))

    def discontinuity(self) -> None:
        """A packet went missing: drop the partial access unit."""

    def payload(self, payload: memoryview, ts: int, marker: bool) -> None:
        raise NotImplementedError


class _VideoDepacketizer(Depacketizer):
    """Shared frame assembly for H.264 and H.265: NAL units collected per timestamp."""

    nal_header = 1
    key_types: frozenset[int] = frozenset()
    param_types: dict[int, str] = {}

    def __init__(self, emit: Callable[[AccessUnit], None], params: ParameterSets) -> None:
        super().__init__(emit)
        self.params = params
        self._nals: list[bytes] = []
        self._ts: int | None = None
        self._key = False
        self._fragment: list[bytes] = []
        self._broken = False

    def nal_type(self, first: int) -> int:
        raise NotImplementedError

    def discontinuity(self) -> None:
        self._fragment.clear()
        self._broken = True

    def _add(self, nal: bytes) -> None:
        kind = self.nal_type(nal[0])
        name = self.param_types.get(kind)
        if name is not None:
            self.params.update(name, nal)
            return  # parameter sets live in the init segment, not in samples
        if kind in self.key_types:
            self._key = True
        self._nals.append(len(nal).to_bytes(4, "big"))
        self._nals.append(nal)

    def _flush(self) -> None:
        if self._nals and self._ts is not None and not self._broken:
            self.emit(AccessUnit(self._ts, b"".join(self._nals), self._key))
        self._nals = []
        self._key = False
        self._broken = False

    def begin(self, ts: int) -> None:
        if self._ts != ts:
            self._flush()
            self._ts = ts


class H264Depacketizer(_VideoDepacketizer):
    """RFC 6184: single NAL unit, STAP-A and FU-A packets."""

    key_types = frozenset({5})
    param_types = {7: "sps", 8: "pps"}

    def nal_type(self, first: int) -> int:
        return first & 0x1F

    def payload(self, payload: memoryview, ts: int, marker: bool) -> None:
        self.begin(ts)
        kind = payload[0] & 0x1F
        if 1 <= kind <= 23:
            self._add(bytes(payload))
        elif kind == 24:  # STAP-A: 16-bit sizes
            pos = 1
            while pos + 2 <= len(payload):
                size = int.from_bytes(payload[pos:pos + 2], "big")
                pos += 2
                if size:
                    self._add(bytes(payload[pos:pos + size]))
                pos += size
        elif kind == 28 and len(payload) > 2:  # FU-A
            header = payload[1]
            if header & 0x80:
                self._fragment = [bytes(((payload[0] & 0xE0) | (header & 0x1F),))]
            elif not self._fragment:
                return  # the start was lost
            self._fragment.append(bytes(payload[2:]))
            if header & 0x40:
                self._add(b"".join(self._fragment))
                self._fragment = []
        if marker:
            self._flush()
            self._ts = None


class H265Depacketizer(_VideoDepacketizer):
    """RFC 7798: single NAL unit, aggregation (48) and fragmentation (49) packets."""

    key_types = frozenset({16, 17, 18, 19, 20, 21})
    param_types = {32: "vps", 33: "sps", 34: "pps"}

    def nal_type(self, first: int) -> int:
        return (first >> 1) & 0x3F

    def payload(self, payload: memoryview, ts: int, marker: bool) -> None:
        self.begin(ts)
        if len(payload) < 3:
            return
        kind = (payload[0] >> 1) & 0x3F
        if kind == 48:
            pos = 2
            while pos + 2 <= len(payload):
                size = int.from_bytes(payload[pos:pos + 2], "big")
                pos += 2
                if size:
                    self._add(bytes(payload[pos:pos + size]))
                pos += size
        elif kind == 49:
            header = payload[2]
            if header & 0x80:
                fu_type = header & 0x3F
                self._fragment = [bytes((((payload[0] & 0x81) | (fu_type << 1)), payload[1]))]
            elif not self._fragment:
                return
            self._fragment.append(bytes(payload[3:]))
            if header & 0x40:
                self._add(b"".join(self._fragment))
                self._fragment = []
        else:
            self._add(bytes(payload))
        if marker:
            self._flush()
            self._ts = None


class AacDepacketizer(Depacketizer):
    """RFC 3640 mpeg4-generic, AAC-hbr: AU-headers of 13-bit size + 3-bit index."""

    def __init__(self, emit: Callable[[AccessUnit], None], frame_samples: int = 1024) -> None:
        super().__init__(emit)
        self.frame_samples = frame_samples

    def payload(self, payload: memoryview, ts: int, marker: bool) -> None:
        if len(payload) < 2:
            return
        header_bits = int.from_bytes(payload[0:2], "big")
        count = header_bits // 16
        pos = 2 + (header_bits + 7) // 8
        for n in range(count):
            size = int.from_bytes(payload[2 + 2 * n:4 + 2 * n], "big") >> 3
            self.emit(AccessUnit(ts + n * self.frame_samples, bytes(payload[pos:pos + size]), True))
            pos += size


class RawAudioDepacketizer(Depacketizer):
    """G.711 and similar: the payload is the audio."""

    def payload(self, payload: memoryview, ts: int, marker: bool) -> None:
        self.emit(AccessUnit(ts, bytes(payload), True))


@dataclass
class InterleavedParser:
    """Splits an RTSP interleaved byte stream into RTP packets by channel.

    RTSP replies (to keep-alives) can arrive between packets; they are skipped whole.
    """

    channels: dict[int, Depacketizer]
    _buffer: bytearray = field(default_factory=bytearray)
    replies: int = 0

    def feed(self, chunk: bytes | memoryview) -> None:
        buf = self._buffer
        buf += chunk
        view = memoryview(buf)
        pos = 0
        size = len(buf)
        channels = self.channels
        try:
            while pos + 4 <= size:
                if buf[pos] == 0x24:  # '$'
                    length = (buf[pos + 2] << 8) | buf[pos + 3]
                    end = pos + 4 + length
                    if end > size:
                        break
                    track = channels.get(buf[pos + 1])
                    if track is not None:
                        track.packet(view[pos + 4:end])
                    pos = end
                elif buf.startswith(b"RTSP/", pos):
                    head_end = buf.find(b"\r\n\r\n", pos)
                    if head_end < 0:
                        break
                    length = 0
                    for line in bytes(buf[pos:head_end]).split(b"\r\n"):
                        if line.lower().startswith(b"content-length:"):
                            length = int(line.split(b":", 1)[1])
                    if head_end + 4 + length > size:
                        break
                    pos = head_end + 4 + length
                    self.replies += 1
                else:  # out of step: resynchronise on the next '$'
                    nxt = buf.find(b"$", pos + 1)
                    pos = nxt if nxt >= 0 else size
        finally:
            view.release()
        del buf[:pos]
