"""Just enough of the H.264 and H.265 bitstreams to describe a track: picture size from the
sequence parameter set, and the decoder configuration records MP4 needs."""

from __future__ import annotations

import base64


def unescape(nal: bytes) -> bytes:
    """Remove emulation-prevention bytes (00 00 03 -> 00 00)."""
    return nal.replace(b"\x00\x00\x03", b"\x00\x00")


class BitReader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.pos = 0

    def bits(self, n: int) -> int:
        value = 0
        for _ in range(n):
            byte = self.data[self.pos >> 3] if (self.pos >> 3) < len(self.data) else 0
            value = (value << 1) | ((byte >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return value

    def ue(self) -> int:
        zeros = 0
        while self.bits(1) == 0 and zeros < 32:
            zeros += 1
        return (1 << zeros) - 1 + self.bits(zeros)

    def se(self) -> int:
        value = self.ue()
        return (value + 1) // 2 if value & 1 else -(value // 2)


def _skip_scaling_list(r: BitReader, size: int) -> None:
    last, nxt = 8, 8
    for _ in range(size):
        if nxt:
            nxt = (last + r.se() + 256) % 256
        last = nxt or last


def h264_size(sps: bytes) -> tuple[int, int]:
    """Width and height in pixels from an H.264 SPS NAL unit (with its header byte)."""
    r = BitReader(unescape(sps[1:]))
    profile = r.bits(8)
    r.bits(16)  # constraint flags, level
    r.ue()  # seq_parameter_set_id
    chroma = 1
    if profile in (100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135):
        chroma = r.ue()
        if chroma == 3:
            r.bits(1)
        r.ue()
        r.ue()
        r.bits(1)
        if r.bits(1):
            for i in range(8 if chroma != 3 else 12):
                if r.bits(1):
                    _skip_scaling_list(r, 16 if i < 6 else 64)
    r.ue()  # log2_max_frame_num
    poc_type = r.ue()
    if poc_type == 0:
        r.ue()
    elif poc_type == 1:
        r.bits(1)
        r.se()
        r.se()
        for _ in range(r.ue()):
            r.se()
    r.ue()  # max_num_ref_frames
    r.bits(1)
    width_mbs = r.ue() + 1
    height_units = r.ue() + 1
    frame_mbs_only = r.bits(1)
    if not frame_mbs_only:
        r.bits(1)
    r.bits(1)
    width, height = width_mbs * 16, height_units * 16 * (2 - frame_mbs_only)
    if r.bits(1):  # cropping
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        crop_x = 1 if chroma == 0 else 2 if chroma in (1, 2) else 1
        crop_y = (1 if chroma in (0, 2, 3) else 2) * (2 - frame_mbs_only)
        width -= (left + right) * crop_x
        height -= (top + bottom) * crop_y
    return width, height


def h265_size(sps: bytes) -> tuple[int, int]:
    """Width and height from an H.265 SPS NAL unit (two header bytes)."""
    r = BitReader(unescape(sps[2:]))
    r.bits(4)
    max_sub_layers = r.bits(3) + 1
    r.bits(1)
    r.bits(8 + 32 + 48 + 8)  # general profile_tier_level
    sub_profile, sub_level = [], []
    for _ in range(max_sub_layers - 1):
        sub_profile.append(r.bits(1))
        sub_level.append(r.bits(1))
    if max_sub_layers > 1:
        for _ in range(max_sub_layers - 1, 8):
            r.bits(2)
    for p, lvl in zip(sub_profile, sub_level, strict=True):
        if p:
            r.bits(88)
        if lvl:
            r.bits(8)
    r.ue()  # sps id
    chroma = r.ue()
    if chroma == 3:
        r.bits(1)
    width, height = r.ue(), r.ue()
    if r.bits(1):  # conformance window
        left, right, top, bottom = r.ue(), r.ue(), r.ue(), r.ue()
        sub_w = 2 if chroma in (1, 2) else 1
        sub_h = 2 if chroma == 1 else 1
        width -= (left + right) * sub_w
        height -= (top + bottom) * sub_h
    return width, height


def avcc(sps: bytes, pps: bytes) -> bytes:
    """The AVCDecoderConfigurationRecord for one SPS and one PPS."""
    return (bytes([1, sps[1], sps[2], sps[3], 0xFF, 0xE1]) + len(sps).to_bytes(2, "big") + sps
            + b"\x01" + len(pps).to_bytes(2, "big") + pps)


def hvcc(vps: bytes, sps: bytes, pps: bytes) -> bytes:
    """A minimal HEVCDecoderConfigurationRecord carrying VPS, SPS and PPS arrays."""
    raw = unescape(sps[2:])
    profile_tier_level = raw[1:13] if len(raw) >= 13 else bytes(12)
    record = bytearray([1]) + profile_tier_level + bytes([0xF0, 0x00, 0xFC, 0xFD, 0xF8, 0xF8, 0x00, 0x00, 0x0F])
    arrays = [(32, vps), (33, sps), (34, pps)]
    record.append(len(arrays))
    for kind, nal in arrays:
        record += bytes([0x80 | kind]) + (1).to_bytes(2, "big") + len(nal).to_bytes(2, "big") + nal
    return bytes(record)


def sdp_parameter_sets(fmtp: dict[str, str]) -> list[bytes]:
    """Parameter sets announced in the SDP (sprop-parameter-sets, sprop-vps/sps/pps)."""
    out: list[bytes] = []
    for key in ("sprop-parameter-sets", "sprop-vps", "sprop-sps", "sprop-pps"):
        for item in filter(None, fmtp.get(key, "").split(",")):
            try:
                out.append(base64.b64decode(item + "=" * (-len(item) % 4)))
            except ValueError:
                continue
    return out


def config_parameter_sets(codec: str, config: bytes) -> tuple[bytes, bytes, bytes]:
    """The first VPS, SPS and PPS of an avcC (H264: no VPS) or hvcC record; b"" where absent."""
    found: dict[int, bytes] = {}
    try:
        if codec == "H264":
            pos = 5
            for kind in (7, 8):
                count = config[pos] & (0x1F if kind == 7 else 0xFF)
                pos += 1
                for _ in range(count):
                    size = int.from_bytes(config[pos:pos + 2], "big")
                    found.setdefault(kind, config[pos + 2:pos + 2 + size])
                    pos += 2 + size
            return b"", found.get(7, b""), found.get(8, b"")
        arrays, pos = config[22], 23
        for _ in range(arrays):
            kind, count = config[pos] & 0x3F, int.from_bytes(config[pos + 1:pos + 3], "big")
            pos += 3
            for _ in range(count):
                size = int.from_bytes(config[pos:pos + 2], "big")
                found.setdefault(kind, config[pos + 2:pos + 2 + size])
                pos += 2 + size
    except IndexError:
        pass
    return found.get(32, b""), found.get(33, b""), found.get(34, b"")


def mime_codec(codec: str, sps: bytes) -> str:
    """The RFC 6381 `codecs` value of a stream (what MediaSource.addSourceBuffer needs):
    `avc1.PPCCLL` from an H.264 SPS, `hvc1.P.C.TL.B` from an H.265 SPS."""
    if codec == "H264":
        return f"avc1.{sps[1]:02X}{sps[2]:02X}{sps[3]:02X}" if len(sps) >= 4 else "avc1.42E01E"
    raw = unescape(sps[2:])
    if len(raw) < 13:
        return "hvc1.1.6.L93.B0"
    ptl = raw[1:13]
    space = "" if ptl[0] >> 6 == 0 else "ABC"[(ptl[0] >> 6) - 1]
    compat = int.from_bytes(ptl[1:5], "big")
    reversed_compat = int(f"{compat:032b}"[::-1], 2)
    constraints = [f"{b:X}" for b in ptl[5:11]]
    while constraints and constraints[-1] == "0":
        constraints.pop()
    tier = "H" if ptl[0] & 0x20 else "L"
    return ".".join([f"hvc1.{space}{ptl[0] & 0x1F}", f"{reversed_compat:X}", f"{tier}{ptl[11]}",
                     *constraints])
