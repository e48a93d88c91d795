"""The network settings as one service: the `Network.*` parameters become a plan for the interface
(applied through the hardware layer, re-applied on every change), the host name and resolver in
use (static, or from DHCP), dynamic DNS updates, and the global proxies every outbound client asks
for. It also says whether a change would cut off the client that asks for it.

Other features reach it through `NETWORK_SERVICE`: `lease()` and `on_lease(callback)` give what
the DHCP server sent (its NTP servers for the time feature, the host name), `state()` and
`on_interface(callback)` the interface and its addresses (where discovery announces), and
through the `PROXIES` key of `vigil.core.proxies` the proxies."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections.abc import Callable, Mapping

from vigil.core.logs import Logs
from vigil.core.params import Change, ParamTree
from vigil.core.proxies import Proxies, Proxy
from vigil.core.registry import Key
from vigil.features.network import const as c
from vigil.features.network.dyndns import DynamicDns
from vigil.features.network.model import ipv6_with_prefix, mask_of_prefix, no_proxy_entries, prefix_of_mask
from vigil.hal.network import (
    Address,
    InterfaceState,
    Lease,
    NetworkError,
    NetworkHardware,
    Plan,
    Resolver,
    StaticAddress,
    eui64_link_local,
    link_local_address,
)

log = logging.getLogger("vigil.network")
APPLY_DELAY = 0.2  # seconds between a change and its application: the reply to the change goes out first


class NetworkService:
    def __init__(self, hardware: NetworkHardware, params: ParamTree, logs: Logs) -> None:
        self.hardware = hardware
        self.params = params
        self.logs = logs
        self.dyndns = DynamicDns(hardware, logs)
        self.applied: Plan | None = None
        self.last_error = ""  # why the last plan could not be applied ('' when it was)
        self._lease_watchers: list[Callable[[Lease | None], None]] = []
        self._last_lease: Lease | None = None
        self._interface_watchers: list[Callable[[InterfaceState], None]] = []
        self._last_state: InterfaceState | None = None
        self._pending: asyncio.TimerHandle | None = None
        hardware.watch(self._on_hardware)

    # -- the plan ---------------------------------------------------------------------------
    def plan(self, changes: Mapping[str, str] | None = None) -> Plan:
        """The interface plan of the settings, or of the settings with `changes` made."""
        pending = changes or {}

        def get(name: str) -> str:
            return pending[name] if name in pending else self.params.get(name)

        def yes(name: str) -> bool:
            return get(name) == "yes"

        static6 = tuple(StaticAddress(*ipv6_with_prefix(a)) for a in get(c.IPV6_ADDRESS).split())
        router = get(c.DEFAULT_ROUTER)
        return Plan(
            up=yes(c.ENABLED),
            ipv4=yes(c.IPV4_ENABLED),
            dhcp=get(c.BOOT_PROTO) == "dhcp",
            static=(StaticAddress(get(c.IP_ADDRESS), prefix_of_mask(get(c.SUBNET_MASK))),),
            router="" if router == "0.0.0.0" else router,
            static_fallback=yes(c.STATIC_FALLBACK),
            link_local=("fallback" if yes(c.ZEROCONF_FALLBACK) else "on") if yes(c.ZEROCONF) else "off",
            ipv6=yes(c.IPV6_ENABLED),
            accept_ra=yes(c.IPV6_ACCEPT_RA),
            static6=static6,
            router6=get(c.IPV6_ROUTER),
            hostname=get(c.HOST_NAME),
        )

    def apply_now(self) -> None:
        """Apply the settings to the interface; when the backend refuses, the previous
        configuration stays and the system log says why."""
        self._pending = None
        plan = self.plan()
        try:
            self.hardware.apply(plan)
        except NetworkError as err:
            self.last_error = str(err)
            self.logs.system(f"The network settings could not be applied, the previous ones stay: {err}", "error")
            if self.applied is not None:
                try:
                    self.hardware.apply(self.applied)
                except NetworkError as again:
                    self.logs.system(f"Restoring the previous network settings failed too: {again}", "error")
            return
        if self.applied != plan:
            self.logs.system(f"Network settings applied: {self.describe()}", "info")
        self.applied = plan
        self.last_error = ""
        self._follow()

    def _schedule(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (start-up, a command): at once
            self.apply_now()
            return
        if self._pending is None:
            self._pending = loop.call_later(APPLY_DELAY, self.apply_now)

    def on_params(self, changes: list[Change], actor: str) -> None:
        names = {ch.name for ch in changes}
        if names & INTERFACE_PARAMS:
            self._schedule()  # the interface: once the reply to the change is on its way
        elif names & FOLLOWING_PARAMS:
            self._follow()  # host name, resolver, dynamic DNS: at once

    def _on_hardware(self) -> None:
        """The interface changed by itself (a lease obtained or lost, the link)."""
        self._follow()

    def _follow(self) -> None:
        """What follows the interface: host name, resolver, DHCP watchers, dynamic DNS."""
        self.hardware.apply_hostname(self.hostname())
        self.hardware.apply_resolver(self.resolver())
        state = self.state()
        if state != self._last_state:
            self._last_state = state
            for watcher in list(self._interface_watchers):
                watcher(state)
        lease = state.lease
        if lease != self._last_lease:
            self._last_lease = lease
            if lease is not None:
                self.logs.system(f"DHCP lease from {lease.server or 'the DHCP server'}: {lease.address}/{lease.prefix}",
                                 "info")
            for callback in list(self._lease_watchers):
                callback(lease)
        self.dyndns.follow(self.params.get_bool(c.DNS_UPDATE), self.params.get(c.DNS_UPDATE_NAME),
                           self.params.get_int(c.DNS_UPDATE_TTL), state, self.resolver())

    async def run(self) -> None:
        """Apply at start, then keep the backend's own work (DHCP) and dynamic DNS running."""
        self.apply_now()
        try:
            await self.hardware.run()
        finally:
            self.dyndns.close()

    # -- what is in use ---------------------------------------------------------------------
    def state(self) -> InterfaceState:
        return self.hardware.state()

    def lease(self) -> Lease | None:
        """The DHCP lease in use, None without one."""
        return self.state().lease

    def on_lease(self, callback: Callable[[Lease | None], None]) -> None:
        """`callback(lease)` runs whenever the DHCP lease changes (obtained, renewed with other
        options, lost): its `ntp_servers`, `hostname`, `name_servers`... (vigil.hal.network.Lease)."""
        self._lease_watchers.append(callback)

    def on_interface(self, callback: Callable[[InterfaceState], None]) -> None:
        """`callback(state)` runs whenever the interface's state changes, the first time when the
        settings are first applied (as the device loads), then for a lease obtained or lost, the
        link, a change of the settings: its addresses, and whether it is one of this machine's
        interfaces (`InterfaceState.on_host`; the simulated one is not)."""
        self._interface_watchers.append(callback)

    def ntp_servers_from_dhcp(self) -> tuple[str, ...]:
        """The NTP servers the DHCP server gave (option 42), () without a lease or option."""
        lease = self.lease()
        return lease.ntp_servers if lease is not None else ()

    def hostname(self) -> str:
        lease = self.lease()
        if self.params.get_bool(c.HOST_NAME_FROM_DHCP) and lease is not None and lease.hostname:
            return lease.hostname
        return self.params.get(c.HOST_NAME)

    def static_resolver(self) -> Resolver:
        p = self.params
        servers = tuple(s for s in (p.get(c.DNS_SERVER_1), p.get(c.DNS_SERVER_2)) if s and s != "0.0.0.0")
        search = tuple(d.strip() for d in p.get(c.STATIC_SEARCH).split(",") if d.strip())
        return Resolver(servers, search, p.get(c.DOMAIN_NAME))

    def resolver(self) -> Resolver:
        """DHCP's name servers and domains when asked for and given, else the static ones."""
        lease = self.lease()
        if self.params.get_bool(c.RESOLVER_FROM_DHCP) and lease is not None and lease.name_servers:
            search = lease.search or ((lease.domain,) if lease.domain else ())
            return Resolver(lease.name_servers, search, lease.domain)
        return self.static_resolver()

    def describe(self) -> str:
        state = self.state()
        shown = ", ".join(f"{a.address}/{a.prefix} ({a.origin})" for a in state.addresses) or "no address"
        return f"{shown}; router {state.router or 'none'}"

    def live(self, name: str) -> str:
        """A read-only parameter's value, worked out alone (a parameter listing asks for each)."""
        state = self.state()

        def v4() -> list[Address]:
            return [a for a in state.ipv4() if a.origin != "linkLocal"]

        def link_local() -> list[Address]:
            return [a for a in state.ipv4() if a.origin == "linkLocal"]

        def broadcast(a: Address) -> str:
            return str(ipaddress.IPv4Network(f"{a.address}/{a.prefix}", strict=False).broadcast_address)

        values: dict[str, Callable[[], str]] = {
            c.MAC_ADDRESS: lambda: state.mac,
            c.IN_USE_ADDRESS: lambda: next((a.address for a in v4()), ""),
            c.IN_USE_MASK: lambda: next((mask_of_prefix(a.prefix) for a in v4()), ""),
            c.IN_USE_BROADCAST: lambda: next((broadcast(a) for a in v4()), ""),
            c.IN_USE_IPV6: lambda: " ".join(a.address for a in state.ipv6()),
            c.IN_USE_ROUTER: lambda: state.router,
            c.IN_USE_ROUTER6: lambda: state.router6,
            c.IN_USE_LINK_LOCAL: lambda: next((a.address for a in link_local()), ""),
            c.IN_USE_LINK_LOCAL_MASK: lambda: "255.255.0.0" if link_local() else "",
            c.IN_USE_HOST_NAME: self.hostname,
            c.IN_USE_NAME_SERVERS: lambda: " ".join(self.resolver().name_servers),
            c.IN_USE_SEARCH: lambda: " ".join(self.resolver().search),
        }
        value = values.get(name)
        return value() if value is not None else ""

    # -- global proxies ----------------------------------------------------------------------
    def proxies(self) -> Proxies:
        """The global proxies in force (vigil.core.proxies.ProxySource)."""
        p = self.params
        http, https = p.get(c.HTTP_PROXY), p.get(c.HTTPS_PROXY)
        return Proxies(Proxy(http, p.get(c.HTTP_PROXY_PASSWORD)) if http else None,
                       Proxy(https, p.get(c.HTTPS_PROXY_PASSWORD)) if https else None,
                       no_proxy_entries(p.get(c.NO_PROXY)))

    # -- would a change cut the caller off? --------------------------------------------------
    def cut_off(self, plan: Plan, local: str, client: str) -> str | None:
        """Why applying `plan` would leave the client at `client`, connected to the device's
        address `local`, with no way to reach the device; None when a path stays (the request
        came over loopback or another interface, the address stays, or the client is on the
        subnet of an address the device will have)."""
        try:
            here = ipaddress.ip_address(local)
            there = ipaddress.ip_address(client)
        except ValueError:
            return None
        state = self.state()
        if here.is_loopback or local not in {a.address for a in state.addresses}:
            return None
        if not plan.up:
            return (f"this turns the network interface off, and you are connected to the device through it "
                    f"({local})")
        kept = self._known_addresses(plan, state)
        if local in {address for address, _ in kept}:
            return None
        for address, prefix in kept:
            network = ipaddress.ip_network(f"{address}/{prefix}", strict=False)
            if network.version == there.version and there in network:
                return None
        after = ", ".join(f"{a}/{p}" for a, p in kept) or ("an address from DHCP, not known yet" if plan.dhcp
                                                             else "no address")
        return (f"this change would cut you off: you are connected to the device at {local}, and after it the "
                f"device has {after}, none of which your computer ({client}) can reach directly")

    def _known_addresses(self, plan: Plan, state: InterfaceState) -> list[tuple[str, int]]:
        """The addresses the interface is sure to have under `plan`."""
        out: list[tuple[str, int]] = []
        if plan.ipv4:
            if plan.dhcp:
                if state.lease is not None and self.applied is not None and self.applied.dhcp:
                    out.append((state.lease.address, state.lease.prefix))  # the lease stays
            else:
                out += [(s.address, s.prefix) for s in plan.static]
            if plan.link_local == "on":
                out.append((link_local_address(self.hardware.mac), 16))
        if plan.ipv6:
            out.append((eui64_link_local(self.hardware.mac), 64))
            out += [(s.address, s.prefix) for s in plan.static6]
            if plan.accept_ra:
                out += [(a.address, a.prefix) for a in state.ipv6() if a.origin == "RA"]
        return out


# What each change re-applies (the proxies are read at each outbound connection).
INTERFACE_PARAMS = {c.ENABLED, c.BOOT_PROTO, c.IP_ADDRESS, c.SUBNET_MASK, c.BROADCAST, c.DEFAULT_ROUTER,
                    c.IPV4_ENABLED, c.STATIC_FALLBACK, c.ZEROCONF, c.ZEROCONF_FALLBACK, c.IPV6_ENABLED,
                    c.IPV6_ACCEPT_RA, c.IPV6_ADDRESS, c.IPV6_ROUTER}
FOLLOWING_PARAMS = {c.HOST_NAME, c.HOST_NAME_FROM_DHCP, c.DNS_SERVER_1, c.DNS_SERVER_2, c.DOMAIN_NAME,
                    c.STATIC_SEARCH, c.RESOLVER_FROM_DHCP, c.DNS_UPDATE, c.DNS_UPDATE_NAME, c.DNS_UPDATE_TTL}
NETWORK_SERVICE: Key[NetworkService] = Key("network")
