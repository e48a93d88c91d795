"""The rules of network settings, shared by the parameters and the network settings API: what an
address, a subnet, a router, a host name, a search domain or a proxy must be, each refusal as a
sentence (and the API's sub-code), and the conversions between the two APIs' spellings."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

_LABEL = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$")


@dataclass
class Refusal(Exception):
    """A setting refused: `why` for the user, `sub_code` for the network settings API."""

    why: str
    sub_code: int = 0
    name: str = ""  # the parameter to name in a param.cgi refusal

    def __str__(self) -> str:
        return self.why


# -- single values ------------------------------------------------------------------------
def host_address(value: str, sub_code: int = 104, what: str = "address") -> ipaddress.IPv4Address:
    """A unicast IPv4 address a host can have."""
    try:
        address = ipaddress.IPv4Address(value)
    except ValueError:
        raise Refusal(f"{value[:64]!r} is not an IPv4 address", sub_code) from None
    if address.is_unspecified or address.is_multicast or address.is_loopback or address.is_reserved \
            or address == ipaddress.IPv4Address("255.255.255.255"):
        raise Refusal(f"{value} cannot be a device's {what} (it is a {_kind(address)} address)", sub_code)
    return address


def _kind(address: ipaddress.IPv4Address) -> str:
    if address.is_unspecified:
        return "placeholder"
    if address.is_multicast:
        return "multicast"
    if address.is_loopback:
        return "loopback"
    return "reserved or broadcast"


def prefix_of_mask(mask: str) -> int:
    """255.255.255.0 -> 24; a mask with holes is refused."""
    try:
        return ipaddress.IPv4Network(f"0.0.0.0/{mask}").prefixlen
    except ValueError:
        raise Refusal(f"{mask[:64]!r} is not a subnet mask (its one bits must be contiguous, as in "
                      f"255.255.255.0)", 105) from None


def mask_of_prefix(prefix: int) -> str:
    return str(ipaddress.IPv4Network(f"0.0.0.0/{prefix}").netmask)


def check_prefix(prefix: object, largest: int = 32) -> int:
    if isinstance(prefix, bool) or not isinstance(prefix, int) or not 1 <= prefix <= largest:
        raise Refusal(f"the prefix length must be a whole number from 1 to {largest}", 105)
    return prefix


def host_name(value: str, sub_code: int = 100) -> str:
    """One label: letters, digits and '-', as the manual allows."""
    if not _LABEL.match(value):
        raise Refusal(f"{value[:64]!r} is not a valid host name: use 1 to 63 letters (A-Z, a-z), digits and "
                      f"'-', not starting or ending with '-'", sub_code)
    return value


def domain_name(value: str, sub_code: int, what: str = "domain name") -> str:
    if not _DOMAIN.match(value):
        raise Refusal(f"{value[:64]!r} is not a valid {what}", sub_code)
    return value.rstrip(".")


def name_server(value: str, sub_code: int = 101) -> str:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        raise Refusal(f"{value[:64]!r} is not the IP address of a DNS server", sub_code) from None
    if address.is_unspecified or address.is_multicast:
        raise Refusal(f"{value} cannot be a DNS server's address", sub_code)
    return str(address)


def ipv6_with_prefix(value: str, sub_code: int = 104) -> tuple[str, int]:
    """'2001:db8::5/64' (the prefix is 64 when left out) -> ('2001:db8::5', 64)."""
    address, _, prefix = value.partition("/")
    try:
        parsed = ipaddress.IPv6Address(address)
        length = int(prefix) if prefix else 64
    except ValueError:
        raise Refusal(f"{value[:64]!r} is not an IPv6 address", sub_code) from None
    if not 1 <= length <= 128:
        raise Refusal(f"{value[:64]!r}: the prefix length must be 1 to 128", 105)
    if parsed.is_unspecified or parsed.is_multicast or parsed.is_loopback or parsed.is_link_local:
        raise Refusal(f"{address} cannot be a device's static IPv6 address", sub_code)
    return str(parsed), length


# -- a whole IPv4 configuration ------------------------------------------------------------
@dataclass(frozen=True)
class IPv4Static:
    address: str
    prefix: int
    broadcast: str
    router: str  # '' for none

    @property
    def network(self) -> ipaddress.IPv4Network:
        return ipaddress.IPv4Network(f"{self.address}/{self.prefix}", strict=False)


def check_static(address: str, prefix: int, broadcast: str, router: str) -> IPv4Static:
    """A static IPv4 configuration that holds together: the address is a host of its subnet
    (not its network or broadcast address), the broadcast address is the subnet's, and the
    router ('' or 0.0.0.0 for none) is another host of the same subnet."""
    host = host_address(address)
    check_prefix(prefix)
    network = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
    if prefix <= 30 and host in (network.network_address, network.broadcast_address):
        which = "network" if host == network.network_address else "broadcast"
        raise Refusal(f"{address} is the {which} address of the subnet {network}, not an address a device "
                      f"can have", 107)
    if host.is_link_local:
        raise Refusal(f"{address} is a link-local address (169.254.0.0/16): the device takes one of those by "
                      f"itself (link-local addressing); enter another static address", 104)
    expected = str(network.broadcast_address)
    if broadcast and broadcast != expected:
        try:
            ipaddress.IPv4Address(broadcast)
        except ValueError:
            raise Refusal(f"{broadcast[:64]!r} is not an IPv4 address", 106) from None
        raise Refusal(f"the broadcast address of {network} is {expected}, not {broadcast}", 107)
    if router in ("", "0.0.0.0"):
        return IPv4Static(str(host), prefix, expected, "")
    gateway = host_address(router, 102, "router")
    if gateway not in network:
        raise Refusal(f"the router {router} is outside the subnet {network} of the address {address}: the "
                      f"device could not reach it (check the subnet mask)", 102)
    if gateway == host:
        raise Refusal(f"the router {router} cannot be the device's own address", 102)
    if prefix <= 30 and gateway in (network.network_address, network.broadcast_address):
        raise Refusal(f"the router {router} is the network or broadcast address of {network}", 102)
    return IPv4Static(str(host), prefix, expected, str(gateway))


# -- proxies ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ProxySetting:
    url: str  # scheme://[user@]host:port, no password
    password: str


def parse_proxy(value: str, sub_code: int) -> ProxySetting | None:
    """`http(s)://[user[:pass]@]host:port` (the manual's formats), or '' for none."""
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    try:
        port = parts.port
    except ValueError:
        port = None
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or port is None or parts.path not in ("", "/") \
            or parts.query or parts.fragment:
        raise Refusal(f"{value.split('@')[-1][:80]!r} is not a proxy address: write it as http://host:port, "
                      f"http://user@host:port or http://user:password@host:port", sub_code)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _DOMAIN.match(host):
            raise Refusal(f"{host[:64]!r} is not a host name or an IP address", sub_code) from None
    shown = f"[{host}]" if ":" in host else host
    user = f"{parts.username}@" if parts.username else ""
    return ProxySetting(f"{parts.scheme}://{user}{shown}:{port}", parts.password or "")


def check_proxy_url(value: str) -> str | None:
    """The rule of the stored proxy parameter: a proxy address without a password in it."""
    try:
        setting = parse_proxy(value, 0)
    except Refusal as refusal:
        return refusal.why
    if setting is not None and setting.password:
        return "the password goes in its own parameter, not in the address"
    return None


def no_proxy_entries(value: str, sub_code: int = 102) -> tuple[str, ...]:
    """The no-proxy list: addresses, networks in CIDR form, names and `.domain` suffixes,
    separated by commas. No wildcards (the API's rule)."""
    entries = []
    for raw in value.split(","):
        entry = raw.strip()
        if not entry:
            continue
        if "*" in entry:
            raise Refusal(f"{entry[:64]!r}: wildcards are not allowed; write .example.com for every name under "
                          f"example.com", sub_code)
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            domain_name(entry[1:] if entry.startswith(".") else entry, sub_code, "name, address or network")
        entries.append(entry)
    return tuple(entries)


def check_no_proxy(value: str) -> str | None:
    try:
        no_proxy_entries(value)
    except Refusal as refusal:
        return refusal.why
    return None


def masked_proxy(url: str, has_password: bool) -> str:
    """A proxy as the API shows it: the password obscured."""
    if not url or not has_password:
        return url
    scheme, _, rest = url.partition("://")
    user, _, host = rest.rpartition("@")
    return f"{scheme}://{user}:******@{host}" if user else url
