"""The network interfaces discovery announces on: the IPv4 address and interface of each.

By default they follow the address the device listens on (`vigil run --host`): a specific
address is announced on its own interface only; `0.0.0.0` means every interface of the host
that has an IPv4 address; a loopback address means none, because discovery is for the local
network and no peer browses the loopback interface (avahi ignores it). The network settings
replace this choice with the interface they configure when it is one of this machine's
(`from_network`, given to `DiscoveryService.use_interfaces`); the simulated interface of the
network settings is not, and leaves the choice as it is.
Discovery is IPv4 only: WS-Discovery's and SSDP's IPv6 groups are not joined.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from dataclasses import dataclass

import ifaddr

from vigil.hal.network import InterfaceState

IP_MULTICAST_ALL = getattr(socket, "IP_MULTICAST_ALL", 49)  # Linux; the standard library may lack the name


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


def from_network(state: InterfaceState) -> list[Interface] | None:
    """The interfaces to announce on for the network settings' interface in `state`: its IPv4
    addresses (none while it is down or has no link); None when it is not one of this machine's
    interfaces (the simulated one), as nothing can be announced on its addresses."""
    if not state.on_host:
        return None
    if not (state.up and state.link):
        return []
    return [Interface(state.name, a.address, state.index) for a in state.ipv4()]


def group_socket(group: str, port: int, interfaces: Sequence[Interface], reuse_port: bool = False) -> socket.socket:
    """A non-blocking UDP socket that receives `group`:`port` as joined on each of `interfaces`,
    and no other group (IP_MULTICAST_ALL off: not the groups other sockets of the host joined)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM, socket.IPPROTO_UDP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.setsockopt(socket.IPPROTO_IP, IP_MULTICAST_ALL, 0)
        sock.bind((group, port))
        for interface in interfaces:
            membership = socket.inet_aton(group) + socket.inet_aton(interface.address)
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, membership)
        sock.setblocking(False)
    except OSError:
        sock.close()
        raise
    return sock
