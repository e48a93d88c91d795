"""A simulated wired interface on a simulated LAN: a DHCP server that offers a lease (or none),
a link that can be pulled, and a DNS server that takes dynamic updates (RFC 2136) into a zone.

The device applies its settings here exactly as on a real interface and reports the outcome
(addresses, routers, the lease); tests and the simulation API (`/vigil/sim/network`) change
what the simulated network does. Nothing of the host machine's own network changes and no
packet leaves it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from vigil.hal.network import (
    Address,
    DnsZoneRecord,
    InterfaceState,
    Lease,
    Plan,
    Resolver,
    Watchers,
    eui64_link_local,
    link_local_address,
)

DEFAULT_LEASE = Lease(address="192.168.0.90", prefix=24, routers=("192.168.0.1",), name_servers=("192.168.0.1",),
                      domain="", search=(), server="192.168.0.1", lease_seconds=86400)


class SimulatedNetwork:
    def __init__(self, mac: str, name: str = "eth0") -> None:
        self.name = name
        self.mac = mac
        self.link = True
        self.dhcp_offer: Lease | None = DEFAULT_LEASE  # what the simulated DHCP server gives
        self.dns_servers: set[str] = {"192.168.0.1"}  # the simulated DNS servers that take updates
        self.zone: dict[tuple[str, str], DnsZoneRecord] = {}
        self.ra_prefix = ""  # an IPv6 prefix a simulated router advertises ('' for none), e.g. 2001:db8:1::/64
        self.plan = Plan()
        self.resolver = Resolver()
        self.hostname = ""
        self.applied = 0  # how many plans were applied
        self._watchers = Watchers()

    # -- what the device does ----------------------------------------------------------------
    def state(self) -> InterfaceState:
        plan = self.plan
        if not plan.up or not self.link:
            return InterfaceState(self.name, self.mac, self.link, plan.up)
        addresses: list[Address] = []
        router = router6 = ""
        lease = None
        failed = False
        if plan.ipv4:
            if plan.dhcp and self.dhcp_offer is not None:
                lease = self.dhcp_offer
                addresses.append(Address(lease.address, lease.prefix, "dhcp"))
                router = lease.routers[0] if lease.routers else plan.router
            elif plan.dhcp:
                failed = True
                if plan.static_fallback:
                    addresses += [Address(s.address, s.prefix, "static") for s in plan.static]
                    router = plan.router
            else:
                addresses += [Address(s.address, s.prefix, "static") for s in plan.static]
                router = plan.router
            if plan.link_local == "on" or (plan.link_local == "fallback" and not addresses):
                addresses.append(Address(link_local_address(self.mac), 16, "linkLocal", "link"))
        if plan.ipv6:
            addresses.append(Address(eui64_link_local(self.mac), 64, "linkLocal", "link"))
            if plan.accept_ra and self.ra_prefix:
                network = self.ra_prefix.split("/")[0].rstrip(":")
                addresses.append(Address(f"{network}:{eui64_link_local(self.mac)[6:]}", 64, "RA"))
            addresses += [Address(s.address, s.prefix, "static") for s in plan.static6]
            router6 = plan.router6
        return InterfaceState(self.name, self.mac, True, True, tuple(addresses), router, router6, lease, failed)

    def apply(self, plan: Plan) -> None:
        self.plan = plan
        self.applied += 1

    def apply_resolver(self, resolver: Resolver) -> None:
        self.resolver = resolver

    def apply_hostname(self, hostname: str) -> None:
        self.hostname = hostname

    async def dns_update(self, server: str, wire: bytes, timeout: float) -> bytes:
        """The simulated DNS server at `server` applies the update to its zone and answers."""
        import dns.message
        import dns.opcode
        import dns.rcode
        import dns.rdatatype

        if server not in self.dns_servers or not self.link or not self.plan.up:
            await asyncio.sleep(0)
            raise TimeoutError(f"no DNS server answers at {server}")
        update = dns.message.from_wire(wire)
        reply = dns.message.make_response(update)
        if update.opcode() != dns.opcode.UPDATE:
            reply.set_rcode(dns.rcode.NOTIMP)
            return reply.to_wire()
        for rrset in update.update:  # type: ignore[attr-defined]  # the UPDATE section
            name = rrset.name.to_text(omit_final_dot=True).lower()
            kind = dns.rdatatype.to_text(rrset.rdtype)
            if rrset.deleting is not None:  # delete an RRset (class ANY) or one record (class NONE)
                self.zone.pop((name, kind), None)
            else:
                for rdata in rrset:
                    self.zone[(name, kind)] = DnsZoneRecord(name, kind, rrset.ttl, rdata.to_text())
        return reply.to_wire()

    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.add(callback)

    async def run(self) -> None:
        return None

    # -- what the simulated network does (tests, the simulation API) ---------------------------
    def offer(self, lease: Lease | None) -> None:
        """The DHCP server now offers `lease` (None: no DHCP server answers)."""
        self.dhcp_offer = lease
        self._watchers.notify()

    def set_link(self, up: bool) -> None:
        self.link = up
        self._watchers.notify()
