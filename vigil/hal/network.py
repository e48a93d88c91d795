"""The network interface hardware: what the device asks of its wired interface, and what it
reports back.

The network feature turns the `Network.*` settings into a `Plan` (IPv4 by DHCP or static with a
fallback, link-local, IPv6, the interface up or down) and hands it to `apply`; the backend makes
it so and reports the addresses, routers and DHCP lease in use (`state`), calling the watchers
whenever that changes (a lease obtained, renewed or lost). The resolver, the host name and DNS
updates (RFC 2136) go through the backend too: in the simulated backend (the default) nothing
of the host machine changes and no packet leaves it; the Linux backend configures a real
interface (`vigil/hal/linux/network.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vigil.core.registry import Key


class NetworkError(Exception):
    """The backend could not apply a plan; the text is for the system log and the user."""


@dataclass(frozen=True)
class Address:
    address: str
    prefix: int
    origin: str  # static | dhcp | linkLocal | RA (the VAPIX origin values)
    scope: str = "global"  # global | link | site | host

    @property
    def family(self) -> int:
        return 6 if ":" in self.address else 4


@dataclass(frozen=True)
class Lease:
    """What a DHCP server gave: the address and the options the device uses."""

    address: str
    prefix: int
    routers: tuple[str, ...] = ()
    name_servers: tuple[str, ...] = ()
    domain: str = ""
    search: tuple[str, ...] = ()
    hostname: str = ""
    ntp_servers: tuple[str, ...] = ()
    server: str = ""  # the DHCP server's address
    lease_seconds: int = 0


@dataclass(frozen=True)
class StaticAddress:
    address: str
    prefix: int


@dataclass(frozen=True)
class Plan:
    """The interface configuration to apply."""

    up: bool = True
    ipv4: bool = True
    dhcp: bool = True
    static: tuple[StaticAddress, ...] = ()  # the static IPv4 address (also the DHCP fallback)
    router: str = ""  # the static default router ('' for none)
    static_fallback: bool = False  # DHCP without a lease: use the static address
    link_local: str = "on"  # off | on | fallback (only when there is no other address)
    ipv6: bool = True
    accept_ra: bool = True
    static6: tuple[StaticAddress, ...] = ()
    router6: str = ""
    hostname: str = ""  # sent to the DHCP server (option 12)


@dataclass(frozen=True)
class InterfaceState:
    name: str
    mac: str
    link: bool
    up: bool
    addresses: tuple[Address, ...] = ()
    router: str = ""
    router6: str = ""
    lease: Lease | None = None
    dhcp_failed: bool = False  # DHCP is on and no server answered (the fallbacks are in use)
    index: int = 0  # the kernel's interface index; 0 for the simulated interface, which is none of this machine's

    @property
    def on_host(self) -> bool:
        """The interface is one of this machine's: its addresses can be bound, packets sent on it."""
        return self.index > 0

    def ipv4(self) -> list[Address]:
        return [a for a in self.addresses if a.family == 4]

    def ipv6(self) -> list[Address]:
        return [a for a in self.addresses if a.family == 6]


@dataclass(frozen=True)
class Resolver:
    name_servers: tuple[str, ...] = ()
    search: tuple[str, ...] = ()
    domain: str = ""


@dataclass
class DnsZoneRecord:
    """A record a DNS server holds, as the simulated server reports it."""

    name: str
    kind: str
    ttl: int
    value: str


class NetworkHardware(Protocol):
    name: str
    mac: str

    def state(self) -> InterfaceState: ...

    def apply(self, plan: Plan) -> None:
        """Make the interface follow `plan` (a DHCP client started or stopped runs on in `run`);
        NetworkError when it cannot."""

    def apply_resolver(self, resolver: Resolver) -> None: ...

    def apply_hostname(self, hostname: str) -> None: ...

    async def dns_update(self, server: str, wire: bytes, timeout: float) -> bytes:
        """Send one DNS UPDATE message (RFC 2136, wire format) to `server`; the reply's bytes."""

    def watch(self, callback: Callable[[], None]) -> None:
        """`callback` runs whenever `state()` changes outside `apply` (a lease, the link)."""

    async def run(self) -> None:
        """Long-running work (the DHCP client); cancelled when the device stops."""


NETWORK_HARDWARE: Key[NetworkHardware] = Key("network")


@dataclass
class Watchers:
    """The watch list every backend keeps."""

    callbacks: list[Callable[[], None]] = field(default_factory=list)

    def add(self, callback: Callable[[], None]) -> None:
        self.callbacks.append(callback)

    def notify(self) -> None:
        for callback in list(self.callbacks):
            callback()


def link_local_address(mac: str, attempt: int = 0) -> str:
    """The IPv4 link-local address (RFC 3927: 169.254.1.0 to 169.254.254.255) the device tries
    first, seeded by its MAC so that it keeps the same one; `attempt` picks another after a conflict."""
    seed = int(mac.replace(":", ""), 16) + attempt * 7919
    host = seed % (254 * 256)
    return f"169.254.{1 + host // 256}.{host % 256}"


def eui64_link_local(mac: str) -> str:
    """The IPv6 link-local address of a MAC (modified EUI-64, RFC 4291)."""
    octets = [int(x, 16) for x in mac.split(":")]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xFF, 0xFE] + octets[3:]
    groups = [f"{eui[i] << 8 | eui[i + 1]:x}" for i in range(0, 8, 2)]
    return "fe80::" + ":".join(groups)
