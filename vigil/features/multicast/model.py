"""A multicast controller source as stored and as the API shows it, with the checks of every
field (the API's and the page's refusals come from here)."""

from __future__ import annotations

import base64
import binascii
import ipaddress
from dataclasses import asdict, dataclass
from typing import Any

from vigil.core.params import printable
from vigil.features.multicast import const as c


class SourceError(ValueError):
    """A source the controller refuses: the HTTP status and the message the client sees."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Source:
    id: str
    label: str
    address: str  # an IPv4 multicast group
    port: int
    codec: str  # empty: the controller's codec (its "Audio codec" setting)
    priority: int
    volume: int = 100
    srtp_key: str = ""  # sealed by the vault; empty: plain RTP

    def to_json(self) -> dict[str, Any]:
        """As the API shows it: never the key, only whether there is one."""
        shown = asdict(self)
        del shown["srtp_key"]
        shown["srtp"] = bool(self.srtp_key)
        shown["codec"] = self.codec or None
        return shown

    def stored(self) -> dict[str, Any]:
        return asdict(self)


FIELDS = {"label", "address", "port", "codec", "priority", "volume", "srtpKey"}


def check_label(value: Any) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > c.LABEL_MAX or not value.isprintable():
        raise SourceError(f"label must be text of 1 to {c.LABEL_MAX} printable characters")
    return value.strip()


def check_address(value: Any) -> str:
    try:
        address = ipaddress.IPv4Address(value if isinstance(value, str) else "")
    except ValueError:
        raise SourceError(f"address {printable(str(value), 64)} is not an IPv4 address") from None
    if not address.is_multicast:
        raise SourceError(f"address {address} is not a multicast address (224.0.0.0 to 239.255.255.255)")
    if address in ipaddress.IPv4Network("224.0.0.0/24"):
        raise SourceError(f"address {address} is reserved for routing protocols (224.0.0.0/24)")
    return str(address)


def _whole(name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SourceError(f"{name} must be a whole number from {low} to {high}")
    return value


def check_codec(value: Any, name: str = "codec") -> str:
    """A codec the receiver plays (const.CODECS); L16 only at the rates listed, mono."""
    if not isinstance(value, str) or value not in c.CODECS:
        raise SourceError(f"{name} {printable(str(value), 32)} is not supported: use one of {', '.join(c.CODECS)}"
                          f" (L16 is mono, at these rates only)")
    return value


def check_source_codec(value: Any) -> str:
    """A source's own codec, or empty (null) for the controller's."""
    return "" if value in (None, "") else check_codec(value)


def check_srtp_key(value: Any) -> str:
    """A clear AES_CM_128_HMAC_SHA1_80 key (base64 of 30 bytes), or empty for plain RTP."""
    if value is None or value == "":
        return ""
    try:
        raw = base64.b64decode(value if isinstance(value, str) else "", validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != c.SRTP_KEY_BYTES:
        raise SourceError("srtpKey must be an AES_CM_128_HMAC_SHA1_80 master key and salt: 30 bytes in base64 "
                          "(40 characters, as an SDP a=crypto inline key)")
    return value


def merged(data: Any, base: dict[str, Any] | None) -> dict[str, Any]:
    """The checked fields of `data` over `base` (None: a new source, which needs them all but
    codec, volume and srtpKey; without a codec it plays the controller's). The SRTP key is
    returned in clear under `srtpKey` when it is set."""
    if not isinstance(data, dict):
        raise SourceError('send {"data": {"label": ..., "address": ..., "port": ..., "priority": ...}}')
    unknown = set(data) - FIELDS
    if unknown:
        raise SourceError(f"unknown property {printable(str(sorted(unknown)[0]), 32)}")
    if base is None:
        missing = [name for name in ("label", "address", "port", "priority") if name not in data]
        if missing:
            raise SourceError(f"a new source needs {', '.join(missing)}")
    checks = {"label": check_label, "address": check_address, "codec": check_source_codec, "srtpKey": check_srtp_key,
              "port": lambda v: _whole("port", v, c.PORT_MIN, c.PORT_MAX),
              "priority": lambda v: _whole("priority", v, c.PRIORITY_MIN, c.PRIORITY_MAX),
              "volume": lambda v: _whole("volume", v, 0, c.VOLUME_MAX)}
    return {**(base or {"codec": ""}), **{name: checks[name](value) for name, value in data.items()}}
