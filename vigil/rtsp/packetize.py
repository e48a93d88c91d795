"""Access units into RTP payloads: H.264 (RFC 6184: single NAL unit or FU-A) and H.265
(RFC 7798: single NAL unit or FU), and the ONVIF replay header extension (0xABAC, ONVIF
Streaming Specification 6.3) that carries a frame's absolute time and its C/E/D/T flags.

Stored samples hold length-prefixed NAL units (4-byte lengths, as mp4 stores them); `nal_units`
splits them. The built-in test cameras and replay both packetize here."""

from __future__ import annotations

import struct
from collections.abc import Iterator

MTU_PAYLOAD = 1400  # bytes of RTP payload per packet: an RTP packet stays under a 1500-byte MTU
NTP_EPOCH = 2_208_988_800  # seconds from 1900-01-01 (NTP) to 1970-01-01 (Unix)
ONVIF_EXTENSION = 0xABAC
CLEAN, END, DISCONTINUITY, TERMINAL = 0x80, 0x40, 0x20, 0x10  # the flags byte of the extension
_EXTENSION = struct.Struct("!HHIIBBH")


def nal_units(sample: bytes | memoryview) -> Iterator[bytes]:
    """The NAL units of a stored sample (4-byte big-endian lengths)."""
    view = memoryview(sample)
    at, end = 0, len(view)
    while at + 4 <= end:
        size = int.from_bytes(view[at:at + 4], "big")
        if size == 0 or at + 4 + size > end:
            return
        yield bytes(view[at + 4:at + 4 + size])
        at += 4 + size


def packetize(nal: bytes, marker: bool, codec: str = "H264") -> list[tuple[bytes, bool]]:
    """(payload, marker) of the RTP packets of one NAL unit; `marker` goes on the last of them."""
    if len(nal) <= MTU_PAYLOAD:
        return [(nal, marker)]
    if codec == "H264":  # FU-A: indicator (F, NRI, type 28), FU header (S, E, type)
        head, kind, body = bytes(((nal[0] & 0xE0) | 28,)), nal[0] & 0x1F, memoryview(nal)[1:]
    else:  # FU: payload header of type 49 (layer and TID kept), FU header (S, E, type)
        head, kind, body = bytes(((nal[0] & 0x81) | (49 << 1), nal[1])), (nal[0] >> 1) & 0x3F, memoryview(nal)[2:]
    room = MTU_PAYLOAD - len(head) - 1
    out = []
    for start in range(0, len(body), room):
        last = start + room >= len(body)
        fu = kind | (0x80 if start == 0 else 0) | (0x40 if last else 0)
        out.append((head + bytes((fu,)) + body[start:start + room], marker and last))
    return out


def is_key_nal(codec: str, nal: bytes) -> bool:
    """A parameter set or an IDR (H.265: IRAP) picture."""
    if codec == "H264":
        return (nal[0] & 0x1F) in (5, 7, 8)
    return 16 <= (nal[0] >> 1) & 0x3F <= 21 or 32 <= (nal[0] >> 1) & 0x3F <= 34


def is_parameter_set(codec: str, nal: bytes) -> bool:
    return (nal[0] & 0x1F) in (7, 8) if codec == "H264" else 32 <= (nal[0] >> 1) & 0x3F <= 34


def is_reference(codec: str, nal: bytes) -> bool:
    """Whether other pictures may refer to this NAL unit's picture (H.264 nal_ref_idc > 0; H.265
    anything but a sub-layer non-reference picture): what `Frames: predicted` keeps."""
    if codec == "H264":
        return bool(nal[0] & 0x60)
    kind = (nal[0] >> 1) & 0x3F
    return not (kind <= 14 and kind % 2 == 0)


def onvif_extension(moment: float, flags: int, cseq: int) -> bytes:
    """The replay header extension (profile 0xABAC, length 3): the NTP time of the access unit
    (`moment`: Unix seconds), the C/E/D/T flags and the low byte of the PLAY's CSeq."""
    ntp = moment + NTP_EPOCH
    seconds = int(ntp)
    fraction = int((ntp - seconds) * (1 << 32)) & 0xFFFFFFFF
    return _EXTENSION.pack(ONVIF_EXTENSION, 3, seconds & 0xFFFFFFFF, fraction, flags, cseq & 0xFF, 0)
