"""Value rules shared by parameter declarations and JSON APIs."""

from __future__ import annotations

import functools
import ipaddress
import re

_DIGITS_AND_DOTS = re.compile(r"^[0-9.]+$")
_HOST = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$")


def ipv4(value: str) -> str | None:
    try:
        ipaddress.IPv4Address(value)
    except ValueError:
        return "not an IPv4 address"
    return None


def ipv4_or_empty(value: str) -> str | None:
    return None if value == "" else ipv4(value)


def hostname(value: str) -> str | None:
    return None if _HOST.match(value) else "not a valid host name"


def hostname_or_empty(value: str) -> str | None:
    return None if value == "" else hostname(value)


def host_or_address(value: str) -> str | None:
    """A host name, an IPv4 or an IPv6 address: where a client connects to."""
    try:
        ipaddress.ip_address(value)
    except ValueError:
        if _HOST.match(value) and not _DIGITS_AND_DOTS.match(value):  # 999.1.1.1 is a bad address, no name
            return None
        return "not a host name nor an IP address"
    return None


def host_list(value: str) -> str | None:
    for item in filter(None, (v.strip() for v in value.split(","))):
        if hostname(item) and ipv4(item):
            return f"{item!r} is neither a host name nor an IPv4 address"
    return None


def service_port(value: str) -> str | None:
    """The manual's rule for HTTP/HTTPS ports: the standard port or 1024-65535 (1-1023 allowed with a warning)."""
    port = int(value)
    return None if 1 <= port <= 65535 else "ports are 1 to 65535"


@functools.cache
def time_zones() -> frozenset[str]:
    """The IANA time zone names this system knows (read once: listing them walks the tz database)."""
    from zoneinfo import available_timezones

    return frozenset(available_timezones())


def iana_zone(value: str) -> str | None:
    return None if value in time_zones() else "not an IANA time zone name"
