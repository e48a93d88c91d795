"""What a powered device asks for over LLDP: the power request of an LLDP-MED Extended
Power-via-MDI TLV (TIA-1057, OUI 00-12-BB subtype 4) or of an IEEE 802.3at Power via MDI TLV
(OUI 00-12-0F subtype 2, its type 1/2 extension), and the neighbour's chassis MAC and system
name for the port's default friendly name.

A whole Ethernet frame is read (an 802.1Q tag is skipped). The TLVs are few and fixed, so they
are read here rather than through scapy's large contrib module; frames sent by lldpd check it.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

ETH_P_LLDP = 0x88CC
ETH_P_8021Q = 0x8100
TIA_OUI = bytes.fromhex("0012bb")
IEEE_8023_OUI = bytes.fromhex("00120f")
MED_EXTENDED_POWER = 4
DOT3_POWER_VIA_MDI = 2
PRIORITIES = {0: "unknown", 1: "critical", 2: "high", 3: "low"}


class LldpError(ValueError):
    """A frame that is not a well-formed LLDPDU."""


@dataclass(frozen=True)
class PowerRequest:
    requested_w: float  # the power the powered device asks for, in watts
    priority: str  # critical | high | low | unknown
    source: str  # "med" (LLDP-MED) or "dot3" (IEEE 802.3at)


@dataclass(frozen=True)
class Neighbour:
    chassis_mac: str  # empty unless the chassis ID is a MAC address
    system_name: str
    system_description: str
    power: PowerRequest | None


def tlvs(frame: bytes) -> list[tuple[int, bytes]]:
    """The TLVs of the LLDPDU in an Ethernet frame, up to End of LLDPDU."""
    if len(frame) < 14:
        raise LldpError("the frame is shorter than an Ethernet header")
    offset = 12
    (ethertype,) = struct.unpack_from("!H", frame, offset)
    if ethertype == ETH_P_8021Q:
        offset += 4
        if len(frame) < offset + 2:
            raise LldpError("the VLAN-tagged frame is cut short")
        (ethertype,) = struct.unpack_from("!H", frame, offset)
    if ethertype != ETH_P_LLDP:
        raise LldpError(f"ethertype 0x{ethertype:04x} is not LLDP")
    offset += 2
    found: list[tuple[int, bytes]] = []
    while offset + 2 <= len(frame):
        (header,) = struct.unpack_from("!H", frame, offset)
        kind, length = header >> 9, header & 0x1FF
        offset += 2
        if kind == 0:
            return found
        if offset + length > len(frame):
            raise LldpError(f"TLV {kind} runs past the end of the frame")
        found.append((kind, frame[offset:offset + length]))
        offset += length
    raise LldpError("the LLDPDU has no End of LLDPDU TLV")


def power_request(kind: int, value: bytes) -> PowerRequest | None:
    """The power request in one organizationally specific TLV, or None when it carries none."""
    if kind != 127 or len(value) < 4:
        return None
    oui, subtype, body = value[:3], value[3], value[4:]
    if oui == TIA_OUI and subtype == MED_EXTENDED_POWER and len(body) >= 3:
        power_type = body[0] >> 6
        if power_type != 1:  # 1: a PD's request; 0 is a PSE announcing itself
            return None
        (tenths,) = struct.unpack_from("!H", body, 1)
        return PowerRequest(tenths / 10, PRIORITIES.get(body[0] & 0x0F, "unknown"), "med")
    if oui == IEEE_8023_OUI and subtype == DOT3_POWER_VIA_MDI and len(body) >= 8:
        type_source_priority = body[3]
        if not type_source_priority & 0x40:  # bit 6 set: a PD (type 1 or 2)
            return None
        (tenths,) = struct.unpack_from("!H", body, 4)
        return PowerRequest(tenths / 10, PRIORITIES[type_source_priority & 0x03], "dot3")
    return None


def parse(frame: bytes) -> Neighbour:
    mac, name, description = "", "", ""
    power: PowerRequest | None = None
    for kind, value in tlvs(frame):
        if kind == 1 and len(value) == 7 and value[0] == 4:  # chassis ID, subtype MAC address
            mac = ":".join(f"{b:02x}" for b in value[1:])
        elif kind == 5:
            name = value.decode("utf-8", "replace")
        elif kind == 6:
            description = value.decode("utf-8", "replace")
        else:
            request = power_request(kind, value)
            if request is not None and (power is None or request.source == "med"):
                power = request  # LLDP-MED wins when a device sends both
    return Neighbour(mac, name, description, power)
