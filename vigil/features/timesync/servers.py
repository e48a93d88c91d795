"""Time server addresses as the settings spell them: a host name, an IPv4 address or an IPv6
address, optionally with a port (`ntp.example.com`, `192.0.2.1:11123`, `[2001:db8::1]:123`).
A list is comma separated in the parameters and a JSON array in the NTP API."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from vigil.core import checks
from vigil.features.timesync.const import MAX_STATIC_SERVERS

_DOTTED_NUMBERS = re.compile(r"^[0-9.]+$")
_WITH_PORT = re.compile(r"^(?:\[(?P<v6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\[\]]+)):(?P<port>[0-9]{1,5})$")


@dataclass(frozen=True)
class Server:
    host: str
    port: int
    default_port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == self.default_port else f"{host}:{self.port}"


def _host_problem(host: str) -> str | None:
    if ":" in host:
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return f"{host!r} is not an IPv6 address"
        return None
    if _DOTTED_NUMBERS.match(host):  # all digits and dots: an IPv4 address or nothing
        return None if checks.ipv4(host) is None else f"{host!r} is not an IPv4 address"
    return None if checks.hostname(host) is None else f"{host!r} is neither a host name nor an IP address"


def parse_server(text: str, default_port: int) -> Server:
    """One address; ValueError says what is wrong with it."""
    text = text.strip()
    if not text:
        raise ValueError("an empty server address")
    host, port = text, default_port
    match = _WITH_PORT.match(text)
    if match:
        host = match["v6"] or match["host"]
        port = int(match["port"])
        if not 1 <= port <= 65535:
            raise ValueError(f"port {port} of {text!r} is not 1 to 65535")
    elif text.startswith("[") and text.endswith("]"):
        host = text[1:-1]
    problem = _host_problem(host)
    if problem:
        raise ValueError(problem)
    return Server(host, port, default_port)


def split_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def parse_list(value: str, default_port: int) -> list[Server]:
    return [parse_server(item, default_port) for item in split_list(value)]


def list_problem(default_port: int):
    """A parameter check for a comma separated list of at most MAX_STATIC_SERVERS servers."""

    def check(value: str) -> str | None:
        items = split_list(value)
        if len(items) > MAX_STATIC_SERVERS:
            return f"at most {MAX_STATIC_SERVERS} servers"
        for item in items:
            try:
                parse_server(item, default_port)
            except ValueError as err:
                return str(err)
        return None

    return check
