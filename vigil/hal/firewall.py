"""The host firewall hardware: the rule set the device enforces on what comes in, and how a
rule decides a connection.

The firewall feature hands a `Ruleset` (or None: the firewall is off) to `apply`; the backend
makes it so. The simulated backend (the default) enforces it in the device's own listeners
(HTTP, HTTPS, RTSP: a connection the rules drop is closed unanswered as it is accepted,
vigil/hal/sim/firewall.py); the Linux backend writes it as an nftables table
(vigil/hal/linux/firewall.py). Both decide with `verdict`: the first rule that matches a packet
decides, else the default policy.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from vigil.core.registry import Key

ACCEPT, DROP = "ACCEPT", "DROP"
POLICIES = (ACCEPT, DROP)
PROTOCOLS = ("TCP", "UDP", "BOTH")
PACKET_TYPES = ("UNICAST", "MULTICAST", "BROADCAST")
NEIGHBOURS = Path("/proc/net/arp")


class FirewallError(Exception):
    """The backend could not apply a rule set; the text is for the system log and the user."""


@dataclass(frozen=True)
class Rule:
    """One FILTER rule, checked: every criterion given must match (None: any)."""

    policy: str  # ACCEPT | DROP
    network: str | None = None  # an address or a CIDR network, normalised ("192.168.0.0/20")
    ip_range: tuple[str, str] | None = None  # first and last address, both included
    mac: str | None = None  # lower case, colon separated
    pkt_type: str | None = None  # UNICAST | MULTICAST | BROADCAST
    protocol: str | None = None  # TCP | UDP | BOTH; given with a port
    ports: tuple[int, int] | None = None  # first and last destination port, both included

    def matches(self, packet: Packet) -> bool:
        if self.network is not None:
            net = ipaddress.ip_network(self.network)
            address = ipaddress.ip_address(packet.source)
            if address.version != net.version or address not in net:
                return False
        if self.ip_range is not None:
            address = ipaddress.ip_address(packet.source)
            first, last = (ipaddress.ip_address(a) for a in self.ip_range)
            if address.version != first.version or not first <= address <= last:  # type: ignore[operator]
                return False
        if self.mac is not None and self.mac != (packet.mac or "").lower():
            return False
        if self.pkt_type is not None and self.pkt_type != packet.pkt_type:
            return False
        if self.protocol is not None and self.protocol != "BOTH" and self.protocol != packet.protocol:
            return False
        return self.ports is None or self.ports[0] <= packet.port <= self.ports[1]


@dataclass(frozen=True)
class Ruleset:
    default_policy: str = ACCEPT
    rules: tuple[Rule, ...] = ()

    def verdict(self, packet: Packet) -> str:
        for rule in self.rules:
            if rule.matches(packet):
                return rule.policy
        return self.default_policy


@dataclass(frozen=True)
class Packet:
    """What a rule looks at of an incoming packet (for a TCP connection: its first one)."""

    source: str  # the sender's IP address
    protocol: str  # TCP | UDP
    port: int  # the device's port it is sent to
    mac: str | None = None  # the sender's MAC, when known (None: not on the local link, or loopback)
    pkt_type: str = "UNICAST"


def neighbour_mac(address: str, table: Path = NEIGHBOURS) -> str | None:
    """The MAC the host's ARP table has for an IPv4 `address`, or None (loopback, another link)."""
    try:
        lines = table.read_text().splitlines()[1:]
    except OSError:
        return None
    for line in lines:
        fields = line.split()
        if len(fields) >= 4 and fields[0] == address and fields[3] != "00:00:00:00:00:00":
            return fields[3].lower()
    return None


def plain_address(address: str) -> str:
    """`address` with an IPv4-mapped IPv6 address (a dual-stack socket's peer) as IPv4;
    ValueError when it is no IP address."""
    parsed = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        return str(parsed.ipv4_mapped)
    return str(parsed)


def incoming(peer: str, port: int, protocol: str = "TCP") -> Packet:
    """A unicast packet from `peer` to the device's `port` (for TCP: a connection's first), as
    the rules see it; ValueError when `peer` is no IP address."""
    source = plain_address(peer)
    return Packet(source, protocol, port, neighbour_mac(source))


class FirewallHardware(Protocol):
    name: str  # "simulated" | "nftables": shown in the page and the system log

    def apply(self, ruleset: Ruleset | None) -> None:
        """Enforce `ruleset` from now on, replacing what was enforced (None: let everything in);
        FirewallError when it cannot, and then what was enforced before stays."""

    def close(self) -> None:
        """The device stops: remove what `apply` put in place."""

    def lets_in(self, ruleset: Ruleset, packet: Packet) -> bool:
        """Whether `packet` would get in under `ruleset` (the check before a rule set that
        could lock out the client that sends it)."""


FIREWALL_HARDWARE: Key[FirewallHardware] = Key("firewall")
