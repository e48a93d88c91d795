"""The advertisement a body-worn system sends (and the device broadcasts), as Vigil reads it.

No public description of the body-worn system's radio format exists, so Vigil defines one and
documents it here (the README points here). A beacon is a non-connectable LE advertisement
with manufacturer-specific data (AD type 0xFF) under company identifier 0xFFFF (the Bluetooth
SIG's identifier for tests and internal use), 7 bytes:

| byte | field        | meaning                                                            |
|------|--------------|--------------------------------------------------------------------|
| 0    | format       | 0x01                                                               |
| 1-4  | System ID    | the body-worn system's ID, 32 bits big-endian (shown as 8 hex digits) |
| 5    | message type | 1-255; 1 = "lightbar active" (the manual's example)                |
| 6    | sequence     | 0-255, a new value for each new signal; repeats of one signal keep it |

Other companies' data is not a beacon and is ignored; data under 0xFFFF that does not read as
above is a malformed beacon (`MalformedBeacon`).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass

COMPANY_ID = 0xFFFF
FORMAT = 0x01
LENGTH = 7
MESSAGE_TYPES = {1: "lightbar active"}
SYSTEM_ID = re.compile(r"[0-9A-Fa-f]{1,8}")


class MalformedBeacon(ValueError):
    """Data under the beacon company identifier that is not a beacon, with the reason."""


@dataclass(frozen=True)
class Signal:
    system_id: int
    message_type: int
    sequence: int

    @property
    def system(self) -> str:
        return format_system_id(self.system_id)


def parse_system_id(text: str) -> int:
    """A System ID as users type it (1 to 8 hexadecimal digits, e.g. 00C0FFEE) -> its number."""
    text = text.strip()
    if not SYSTEM_ID.fullmatch(text):
        raise ValueError("a System ID is 1 to 8 hexadecimal digits (0-9, A-F), as AXIS Body Worn Manager "
                         "shows it under About")
    return int(text, 16)


def format_system_id(number: int) -> str:
    return f"{number:08X}"


def parse_message_type(text: str) -> int:
    text = text.strip()
    if not re.fullmatch(r"[0-9]{1,3}", text) or not 1 <= int(text) <= 255:
        raise ValueError("a message type is a whole number from 1 to 255 (1 = lightbar active)")
    return int(text)


def encode(signal: Signal) -> bytes:
    return struct.pack(">BIBB", FORMAT, signal.system_id, signal.message_type, signal.sequence)


def decode(data: bytes) -> Signal:
    if len(data) != LENGTH:
        raise MalformedBeacon(f"{len(data)} bytes of beacon data, expected {LENGTH}")
    version, system_id, message_type, sequence = struct.unpack(">BIBB", data)
    if version != FORMAT:
        raise MalformedBeacon(f"unknown beacon format {version}")
    if message_type == 0:
        raise MalformedBeacon("message type 0 is not a signal")
    return Signal(system_id, message_type, sequence)
