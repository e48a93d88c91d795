"""The live relay's packet work (vigil/rtsp/relay.py) on made-up RTP packets: where a client
starts, what is rewritten, a camera that reconnects, a client that cannot keep up."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pytest

from vigil.rtsp.relay import PAYLOAD_TYPE, RtpRelay, starts_key, video_sdp

SPS = bytes([0x67, 0x42, 0xC0, 0x1F, 0xAA])
PPS = bytes([0x68, 0xCE, 0x3C, 0x80])


def rtp(seq: int, ts: int, payload: bytes, marker: bool = False, ssrc: int = 0x1234, pt: int = 97) -> bytes:
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | pt, seq & 0xFFFF, ts, ssrc) + payload


def frame(seq: int, ts: int, key: bool, fragments: int = 3, ssrc: int = 0x1234) -> list[bytes]:
    """One access unit: SPS, PPS and an IDR in FU-A fragments (key), or a P slice in FU-A fragments."""
    out = []
    if key:
        out += [rtp(seq, ts, SPS, ssrc=ssrc), rtp(seq + 1, ts, PPS, ssrc=ssrc)]
        seq += 2
    kind = 5 if key else 1
    for n in range(fragments):
        fu = kind | (0x80 if n == 0 else 0) | (0x40 if n == fragments - 1 else 0)
        out.append(rtp(seq + n, ts, bytes([0x7C, fu]) + bytes(10), marker=n == fragments - 1, ssrc=ssrc))
    return out


@dataclass
class FakeOutlet:
    name: str = "test"
    ssrc: int = 0
    seq: int = 0
    ts_base: int = 0
    full: bool = False
    closed: bool = False
    got: list[bytes] = field(default_factory=list)
    reports: list[bytes] = field(default_factory=list)  # RTCP

    def send(self, packets: list[bytes]) -> bool:
        if self.full or self.closed:
            return False
        self.got += packets
        return True

    def send_control(self, packets: list[bytes]) -> bool:
        self.reports += packets
        return not self.closed

    def congested(self) -> bool:
        return self.full

    async def drain(self) -> None:
        return None


def fields(packet: bytes) -> tuple[int, int, int, int, bool]:
    """(payload type, seq, timestamp, ssrc, marker)"""
    _, second, seq, ts, ssrc = struct.unpack("!BBHII", packet[:12])
    return second & 0x7F, seq, ts, ssrc, bool(second & 0x80)


def stream(frames: int, key_every: int = 5, seq: int = 100, ts: int = 9000, ssrc: int = 0x1234) -> list[list[bytes]]:
    out = []
    for n in range(frames):
        packets = frame(seq, ts, n % key_every == 0, ssrc=ssrc)
        out.append(packets)
        seq += len(packets)
        ts += 6000
    return out


def test_a_client_starts_at_the_next_key_frame_and_gets_rewritten_packets() -> None:
    relay = RtpRelay("H264")
    frames = stream(11)
    relay.deliver([p for f in frames[:2] for p in f])  # nobody watches yet
    outlet = FakeOutlet()
    relay.add(outlet)
    relay.deliver([p for f in frames[2:7] for p in f])  # P, P, P, key (frame 5), P
    expected = frames[5] + frames[6]
    assert len(outlet.got) == len(expected)
    assert outlet.got[0][12:] == SPS  # parameter sets, then the IDR
    assert [p[12:] for p in outlet.got] == [p[12:] for p in expected]  # payloads untouched
    got = [fields(p) for p in outlet.got]
    assert {pt for pt, *_ in got} == {PAYLOAD_TYPE}
    assert {ssrc for _, _, _, ssrc, _ in got} == {relay.ssrc}
    seqs = [seq for _, seq, _, _, _ in got]
    assert seqs == [(seqs[0] + i) & 0xFFFF for i in range(len(seqs))]
    assert [m for *_, m in got] == [fields(p)[4] for p in expected]  # markers kept
    stamps = sorted({ts for _, _, ts, _, _ in got})
    assert len(stamps) == 2 and (stamps[1] - stamps[0]) & 0xFFFFFFFF == 6000
    relay.deliver(frames[7])
    assert len(outlet.got) == len(expected) + len(frames[7])  # from now on, everything


def test_a_key_frame_split_over_two_passes_is_sent_whole() -> None:
    relay = RtpRelay("H264")
    outlet = FakeOutlet()
    relay.add(outlet)
    sei = rtp(9, 3000, bytes([0x06, 0x05, 0x01]))  # an access unit may begin with an SEI
    key = [sei] + frame(10, 3000, key=True, fragments=6)
    relay.deliver(frame(0, 0, key=False) + key[:1])  # the pass ends after the SEI
    assert outlet.got == []
    relay.deliver(key[1:])
    assert [p[12:] for p in outlet.got] == [p[12:] for p in key]  # from the SEI on


def test_a_camera_that_reconnects_keeps_the_clients_timestamps_going() -> None:
    relay = RtpRelay("H264")
    outlet = FakeOutlet()
    relay.add(outlet)
    relay.deliver([p for f in stream(3) for p in f])
    last = fields(outlet.got[-1])
    relay.restart()
    sent = len(outlet.got)
    again = stream(6, ssrc=0x9999, seq=40000, ts=123)
    relay.deliver([p for f in again[1:] for p in f])  # starts with P frames: waited out
    first = fields(outlet.got[sent])
    assert outlet.got[sent][12:] == SPS
    assert first[1] == (last[1] + 1 + sum(len(f) for f in again[1:5])) & 0xFFFF  # the sequence goes on
    assert 0 < (first[2] - last[2]) & 0xFFFFFFFF < 90000  # no jump back in time


def test_a_client_that_cannot_keep_up_skips_to_a_key_frame_and_holds_up_no_one() -> None:
    relay = RtpRelay("H264")
    slow, fast = FakeOutlet(name="slow"), FakeOutlet(name="fast")
    slow_client = relay.add(slow)
    relay.add(fast)
    frames = stream(20)
    relay.deliver(frames[0])
    slow.full = True
    for f in frames[1:8]:
        relay.deliver(f)
    slow.full = False
    relay.deliver(frames[8])  # a P frame: the slow client waits for the next key frame
    assert slow_client.skips == 2 and slow_client.waiting  # frame 1, then the key frame 5 did not fit
    for f in frames[9:12]:
        relay.deliver(f)
    assert len(fast.got) == sum(len(f) for f in frames[:12])  # the other client lost nothing
    assert slow.got[len(frames[0]):][0][12:] == SPS and len(slow.got) == len(frames[0]) + sum(
        len(f) for f in frames[10:12])
    slow.closed = True
    relay.deliver(frames[12])
    assert slow_client not in relay.clients  # a closed client goes


@pytest.mark.parametrize(("codec", "payload", "key"), [
    ("H264", bytes([0x65, 0]), True), ("H264", bytes([0x41, 0]), False), ("H264", SPS, True),
    ("H264", bytes([0x7C, 0x85, 0]), True), ("H264", bytes([0x7C, 0x05, 0]), False),  # FU-A start / middle
    ("H264", bytes([0x78, 0, 5]) + SPS, True), ("H264", bytes([0x78, 0, 2, 0x41, 0]), False),  # STAP-A
    ("H265", bytes([0x26, 0x01, 0]), True), ("H265", bytes([0x02, 0x01, 0]), False),  # IDR_W_RADL / TRAIL_R
    ("H265", bytes([0x40, 0x01, 0]), True),  # VPS
    ("H265", bytes([0x62, 0x01, 0x93, 0]), True), ("H265", bytes([0x62, 0x01, 0x13, 0]), False),  # FU
    ("H265", bytes([0x60, 0x01, 0, 3, 0x42, 0x01, 0]), True),  # aggregation packet starting with an SPS
])
def test_key_frame_starts(codec: str, payload: bytes, key: bool) -> None:
    assert starts_key(codec, payload) is key


def test_sdp_of_the_video_track() -> None:
    h264 = video_sdp("H264", b"", SPS, PPS)
    assert h264[0] == f"m=video 0 RTP/AVP {PAYLOAD_TYPE}" and h264[1] == f"a=rtpmap:{PAYLOAD_TYPE} H264/90000"
    assert h264[2] == f"a=fmtp:{PAYLOAD_TYPE} packetization-mode=1;profile-level-id=42C01F;sprop-parameter-sets=Z0LAH6o=,aM48gA=="
    h265 = video_sdp("H265", b"\x40\x01", b"\x42\x01", b"\x44\x01")
    assert h265[2] == f"a=fmtp:{PAYLOAD_TYPE} sprop-vps=QAE=;sprop-sps=QgE=;sprop-pps=RAE="
