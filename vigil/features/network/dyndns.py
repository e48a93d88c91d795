"""Dynamic DNS (RFC 2136): with `Network.DNSUpdate.Enabled`, the device registers its DNS name
(`DNSName`, with `TTL`) and its addresses in use at its DNS server, again whenever they change.

The update replaces the name's A and AAAA records with the device's global addresses and goes
to the name servers in use, in order, until one takes it (through the hardware layer: the
simulated network's DNS server, or the real one on Linux). A refusal or silence is written to
the system log, and the update is tried again a minute later."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from dataclasses import dataclass

from vigil.core.logs import Logs
from vigil.features.network.const import DNS_UPDATE_TIMEOUT
from vigil.hal.network import InterfaceState, NetworkHardware, Resolver

log = logging.getLogger("vigil.network")
RETRY_SECONDS = 60.0


@dataclass(frozen=True)
class Registration:
    """What should be registered: the name, its zone, the TTL and the addresses."""

    name: str
    zone: str
    ttl: int
    addresses: tuple[str, ...]
    servers: tuple[str, ...]


def registration(enabled: bool, name: str, ttl: int, state: InterfaceState, resolver: Resolver) -> Registration | None:
    if not enabled or not name:
        return None
    fqdn = name.rstrip(".")
    if "." not in fqdn and resolver.domain:
        fqdn = f"{fqdn}.{resolver.domain}"
    zone = fqdn.split(".", 1)[1] if "." in fqdn else fqdn
    addresses = tuple(a.address for a in state.addresses
                      if a.origin != "linkLocal" and not ipaddress.ip_address(a.address).is_link_local)
    return Registration(fqdn, zone, ttl, addresses, resolver.name_servers)


def update_message(reg: Registration) -> bytes:
    import dns.update

    update = dns.update.UpdateMessage(reg.zone)
    update.delete(reg.name + ".", "A")
    update.delete(reg.name + ".", "AAAA")
    for address in reg.addresses:
        update.add(reg.name + ".", reg.ttl, "AAAA" if ":" in address else "A", address)
    return update.to_wire()


class DynamicDns:
    def __init__(self, hardware: NetworkHardware, logs: Logs) -> None:
        self.hardware = hardware
        self.logs = logs
        self.wanted: Registration | None = None
        self.done: Registration | None = None  # the last registration a server took
        self.status = "off"  # off | pending | registered | failed
        self.message = ""
        self._task: asyncio.Task | None = None

    def follow(self, enabled: bool, name: str, ttl: int, state: InterfaceState, resolver: Resolver) -> None:
        self.wanted = registration(enabled, name, ttl, state, resolver)
        if self.wanted is None:
            self.status, self.message = "off", ""
            return
        if self.wanted == self.done or not self.wanted.addresses:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # at start-up: the service's first application in `run` comes back here
        if self._task is not None:
            self._task.cancel()
        self.status = "pending"
        self._task = loop.create_task(self._register(self.wanted))

    async def _register(self, reg: Registration) -> None:
        while reg == self.wanted:
            if await self._send(reg):
                return
            await asyncio.sleep(RETRY_SECONDS)

    async def _send(self, reg: Registration) -> bool:
        import dns.exception
        import dns.message
        import dns.rcode

        if not reg.servers:
            self._failed(reg, "no DNS server is in use (enter one, or get them from DHCP)")
            return False
        wire = update_message(reg)
        reasons = []
        for server in reg.servers:
            try:
                reply = dns.message.from_wire(await self.hardware.dns_update(server, wire, DNS_UPDATE_TIMEOUT))
            except (OSError, TimeoutError, dns.exception.DNSException) as err:
                reasons.append(f"{server} did not answer ({err or type(err).__name__})")
                continue
            rcode = reply.rcode()
            if rcode == dns.rcode.NOERROR:
                self.done, self.status = reg, "registered"
                self.message = f"{reg.name} -> {', '.join(reg.addresses)} at {server}"
                self.logs.system(f"Dynamic DNS: registered {self.message}", "info")
                return True
            reasons.append(f"{server} refused the update ({dns.rcode.to_text(rcode)})")
        self._failed(reg, "; ".join(reasons))
        return False

    def _failed(self, reg: Registration, why: str) -> None:
        self.status, self.message = "failed", why
        self.logs.system(f"Dynamic DNS: could not register {reg.name}: {why}; trying again in "
                         f"{RETRY_SECONDS:g} s", "warning")

    def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(Exception):
                self._task = None
