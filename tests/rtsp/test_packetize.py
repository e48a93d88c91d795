"""The replay's RTP packetization (vigil/rtsp/packetize.py) read back by the recorder's own
depacketizers (RFC 6184 / RFC 7798 readers, vigil/features/recording/rtp.py): H.264 and H.265
access units of every size come back whole, and the 0xABAC extension reads back as written
(with the tests' independent reader)."""

from __future__ import annotations

import pytest

from tests.peers.rtp_reader import extension
from vigil.features.recording.rtp import AccessUnit, H264Depacketizer, H265Depacketizer, ParameterSets
from vigil.rtsp.packetize import CLEAN, END, MTU_PAYLOAD, nal_units, onvif_extension, packetize
from vigil.rtsp.protocol import rtp_packet

# (key NAL header, other NAL header) of each codec: H.264 IDR / non-IDR slice, H.265 IDR_W_RADL / TRAIL_R
HEADERS = {"H264": (b"\x65", b"\x41"), "H265": (b"\x26\x01", b"\x02\x01")}


@pytest.mark.parametrize("codec, reader", [("H264", H264Depacketizer), ("H265", H265Depacketizer)])
def test_access_units_come_back_whole(codec: str, reader: type) -> None:
    key, other = HEADERS[codec]
    sizes = [10, MTU_PAYLOAD, MTU_PAYLOAD + 1, 3 * MTU_PAYLOAD + 7, 20_000]
    units = []
    for n, size in enumerate(sizes):
        header = key if n == 0 else other
        nals = [header + bytes((n + i) % 251 for i in range(size)), other + b"\x07" * 33]
        units.append(b"".join(len(nal).to_bytes(4, "big") + nal for nal in nals))
    got: list[AccessUnit] = []
    depacketizer = reader(got.append, ParameterSets())
    seq = 0
    for n, unit in enumerate([*units, units[0]]):  # the last one only ends the one before it
        nals = list(nal_units(unit))
        ext = onvif_extension(1_790_000_000.5 + n, CLEAN | END, 7)
        for i, nal in enumerate(nals):
            for payload, marker in packetize(nal, i == len(nals) - 1, codec):
                packet = rtp_packet(96, seq, n * 3000, 1, payload, marker, ext)
                assert len(packet) <= 12 + 16 + MTU_PAYLOAD
                if ext:
                    assert extension(packet) == pytest.approx((1_790_000_000.5 + n, CLEAN | END, 7))
                ext = b""
                depacketizer.packet(memoryview(packet))
                seq += 1
    assert [u.data for u in got[:len(units)]] == units
    assert [u.key for u in got[:len(units)]] == [True] + [False] * (len(units) - 1)
