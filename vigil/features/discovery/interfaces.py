"""The network interfaces discovery announces on: the IPv4 address and interface of each.

By default they follow the address the device listens on (`vigil run --host`): a specific
address is announced on its own interface only; `0.0.0.0` means every interface of the host
that has an IPv4 address; a loopback address means none, because discovery is for the local
network and no peer browses the loopback interface (avahi ignores it). The network settings
replace this choice with the interfaces they configure (`DiscoveryService.use_interfaces`).
Discovery is IPv4 only: WS-Discovery's and SSDP's IPv6 groups are not joined.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import ifaddr


@dataclass(frozen=True, order=True)
class Interface:
    name: str  # the operating system's name, e.g. eth0
    address: str  # an IPv4 address of it
    index: int = 0  # the kernel's interface index (0: unknown)


def host_interfaces() -> list[Interface]:
    """Every IPv4 address of this machine's interfaces, loopback excluded."""
    found = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            if not ip.is_IPv4:
                continue
            address = ipaddress.IPv4Address(ip.ip)
            if not address.is_loopback:
                found.append(Interface(adapter.name, str(address), adapter.index or 0))
    return sorted(found)


def interfaces_for(host: str) -> list[Interface]:
    """The interfaces to announce on for a device that listens on `host` (see the module text)."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return []  # a name such as "localhost": nothing on the local network listens
    if address.version != 4 and not address.is_unspecified:
        return []
    if address.is_unspecified:
        return host_interfaces()
    if address.is_loopback:
        return []
    return [i for i in host_interfaces() if i.address == str(address)]
