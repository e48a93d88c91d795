"""The wired interface of a real Linux machine, configured over netlink (pyroute2): addresses,
default routes, the link, IPv6 and its router advertisements, a DHCP client (pyroute2's, with the
lease kept in the device's data folder), the resolver file and the host name.

It manages one interface, named by VIGIL_NET_INTERFACE, and only when VIGIL_HAL=linux: the
default device never touches the machine's network. The tests run it inside a network namespace
of their own, with a DHCP server (dnsmasq) and a DNS server (BIND) on the other end of a veth
pair. The host name is set only when asked (VIGIL_NET_SET_HOSTNAME=yes): a device that owns its
machine sets it, a process sharing a machine does not.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import ipaddress
import logging
import socket
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pyroute2 import IPRoute
from pyroute2.dhcp import fsm
from pyroute2.dhcp.client import AsyncDHCPClient, ClientConfig
from pyroute2.dhcp.enums import dhcp
from pyroute2.dhcp.hooks import Trigger, hook
from pyroute2.dhcp.leases import JSONFileLease
from pyroute2.dhcp.leases import Lease as DhcpLease
from pyroute2.netlink.exceptions import NetlinkError

from vigil.core.atomic import atomic_write
from vigil.hal.network import (
    Address,
    InterfaceState,
    Lease,
    NetworkError,
    Plan,
    Resolver,
    Watchers,
    link_local_address,
)

log = logging.getLogger("vigil.network")
T = TypeVar("T")
DHCP_TIMEOUT = 10.0  # seconds without an answer before the fallbacks take over (the DHCP client keeps asking)
IFA_F_PERMANENT = 0x80  # an address set by hand, not by the kernel's autoconfiguration
REQUESTED = (dhcp.Option.SUBNET_MASK, dhcp.Option.ROUTER, dhcp.Option.NAME_SERVER, dhcp.Option.DOMAIN_NAME,
             dhcp.Option.HOST_NAME, dhcp.Option.NTP_SERVERS, dhcp.Option.BROADCAST_ADDRESS,
             dhcp.Option.LEASE_TIME, dhcp.Option.RENEWAL_TIME, dhcp.Option.REBINDING_TIME)


def lease_store(folder: Path) -> type[JSONFileLease]:
    """Leases kept as JSON in `folder` (the device's data), so that a restart asks for the same."""

    class StoredLease(JSONFileLease):
        @classmethod
        def _get_lease_dir(cls) -> Path:
            folder.mkdir(parents=True, exist_ok=True)
            return folder

    return StoredLease


def from_dhcp(lease: DhcpLease) -> Lease:
    options = lease.ack["options"]

    def addresses(name: str) -> tuple[str, ...]:
        value = options.get(name) or ()
        return tuple(value) if isinstance(value, list | tuple) else (str(value),)

    return Lease(lease.ip, lease.prefixlen, addresses("router"), addresses("name_server"),
                 str(options.get("domain_name") or ""), (), str(options.get("host_name") or ""),
                 addresses("ntp_servers"), str(options.get("server_id") or ""), int(options.get("lease_time") or 0))


class LinuxNetwork:
    def __init__(self, interface: str, folder: Path, resolv_conf: str, set_hostname: bool) -> None:
        self.name = interface
        self.folder = folder
        self.resolv_conf = Path(resolv_conf)
        self.set_hostname = set_hostname
        try:
            self.mac = Path(f"/sys/class/net/{interface}/address").read_text().strip().upper()
        except OSError:
            raise NetworkError(f"there is no network interface {interface!r} on this machine") from None
        self.plan = Plan()
        self.lease: Lease | None = None
        self.dhcp_failed = False
        self._watchers = Watchers()
        self._wake: asyncio.Event | None = None  # in the DHCP thread's loop
        self._dhcp_loop: asyncio.AbstractEventLoop | None = None
        self._device_loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False
        self._lease_type = lease_store(folder)
        # pyroute2's blocking IPRoute runs an event loop of its own: it gets a thread of its own,
        # out of the device's running loop (each netlink exchange takes milliseconds).
        self._netlink_thread = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="netlink")

    def _netlink(self, work: Callable[[], T]) -> T:
        return self._netlink_thread.submit(work).result()

    # -- reading --------------------------------------------------------------------------------
    def _index(self, ipr: IPRoute) -> int:
        found = ipr.link_lookup(ifname=self.name)
        if not found:
            raise NetworkError(f"the network interface {self.name} is gone")
        return found[0]

    def state(self) -> InterfaceState:
        return self._netlink(self._read_state)

    def _read_state(self) -> InterfaceState:
        with IPRoute() as ipr:
            index = self._index(ipr)
            link = ipr.get_links(index)[0]
            up = bool(link["flags"] & 1)
            carrier = link.get_attr("IFLA_CARRIER") == 1 and link.get_attr("IFLA_OPERSTATE") != "DOWN"
            addresses = tuple(self._address(m) for m in ipr.get_addr(index=index))
            router = self._default_router(ipr, index, socket.AF_INET)
            router6 = self._default_router(ipr, index, socket.AF_INET6)
        return InterfaceState(self.name, self.mac, carrier, up, addresses, router, router6,
                              self.lease if self.plan.dhcp else None, self.dhcp_failed and self.plan.dhcp, index)

    def _address(self, message) -> Address:  # noqa: ANN001 - a pyroute2 ifaddrmsg
        address = message.get_attr("IFA_ADDRESS")
        prefix = message["prefixlen"]
        parsed = ipaddress.ip_address(address)
        if parsed.is_link_local:
            return Address(address, prefix, "linkLocal", "link")
        if parsed.version == 4:
            return Address(address, prefix, "dhcp" if self.lease and address == self.lease.address else "static")
        flags = message.get_attr("IFA_FLAGS") or message["flags"]
        return Address(address, prefix, "static" if flags & IFA_F_PERMANENT else "RA")

    @staticmethod
    def _default_router(ipr: IPRoute, index: int, family: int) -> str:
        for route in ipr.get_default_routes(family=family):
            if route.get_attr("RTA_OIF") == index and route.get_attr("RTA_GATEWAY"):
                return route.get_attr("RTA_GATEWAY")
        return ""

    # -- applying -------------------------------------------------------------------------------
    def apply(self, plan: Plan) -> None:
        self.plan = plan
        try:
            self._netlink(lambda: self._configure(plan))
        except (NetlinkError, OSError) as err:
            raise NetworkError(f"{self.name}: {getattr(err, 'strerror', None) or err}") from None
        self._kick()  # the DHCP client starts or stops

    def _wanted_ipv4(self, plan: Plan) -> tuple[list[tuple[str, int]], str]:
        """The IPv4 addresses and default router the plan asks for, given the lease."""
        wanted: list[tuple[str, int]] = []
        router = ""
        if plan.ipv4:
            if plan.dhcp and self.lease is not None:
                wanted.append((self.lease.address, self.lease.prefix))
                router = self.lease.routers[0] if self.lease.routers else plan.router
            elif not plan.dhcp or (self.dhcp_failed and plan.static_fallback):
                wanted += [(s.address, s.prefix) for s in plan.static]
                router = plan.router
            if plan.link_local == "on" or (plan.link_local == "fallback" and not wanted and
                                           (not plan.dhcp or self.dhcp_failed)):
                wanted.append((link_local_address(self.mac), 16))
        return wanted, router

    def _configure(self, plan: Plan) -> None:
        self._sysctl("disable_ipv6", "0" if plan.ipv6 and plan.up else "1")
        if plan.ipv6:
            self._sysctl("accept_ra", "1" if plan.accept_ra else "0")
        with IPRoute() as ipr:
            index = self._index(ipr)
            ipr.link("set", index=index, state="up" if plan.up else "down")
            if not plan.up:
                return
            wanted, router = self._wanted_ipv4(plan)
            wanted6 = [(s.address, s.prefix) for s in plan.static6] if plan.ipv6 else []
            present = [(m.get_attr("IFA_ADDRESS"), m["prefixlen"], m) for m in ipr.get_addr(index=index)]
            for address, prefix, message in present:
                parsed = ipaddress.ip_address(address)
                # IPv6: only addresses set by hand go; the link-local and autoconfigured ones stay.
                manual6 = (parsed.version == 6 and not parsed.is_link_local
                           and bool((message.get_attr("IFA_FLAGS") or message["flags"]) & IFA_F_PERMANENT))
                unwanted = (address, prefix) not in (wanted if parsed.version == 4 else wanted6)
                if unwanted and (parsed.version == 4 or manual6):
                    ipr.addr("del", index=index, address=address, prefixlen=prefix)
            have = {(a, p) for a, p, _ in present}
            for address, prefix in wanted:
                if (address, prefix) not in have:
                    network = ipaddress.IPv4Network(f"{address}/{prefix}", strict=False)
                    ipr.addr("add", index=index, address=address, prefixlen=prefix,
                             broadcast=str(network.broadcast_address) if prefix < 31 else None)
            for address, prefix in wanted6:
                if (address, prefix) not in have:
                    ipr.addr("add", index=index, address=address, prefixlen=prefix)
            self._route(ipr, index, socket.AF_INET, "0.0.0.0/0", router)
            self._route(ipr, index, socket.AF_INET6, "::/0", plan.router6 if plan.ipv6 else "")

    @staticmethod
    def _route(ipr: IPRoute, index: int, family: int, default: str, router: str) -> None:
        if router:
            ipr.route("replace", dst=default, gateway=router, oif=index, family=family)
        else:
            with contextlib.suppress(NetlinkError):
                ipr.route("del", dst=default, oif=index, family=family)

    def _sysctl(self, name: str, value: str) -> None:
        path = Path(f"/proc/sys/net/ipv6/conf/{self.name}/{name}")
        if path.exists() and path.read_text().strip() != value:
            path.write_text(value)

    def apply_resolver(self, resolver: Resolver) -> None:
        lines = ["# written by Vigil (System > Network > DNS servers)"]
        if resolver.search:
            lines.append("search " + " ".join(resolver.search))
        elif resolver.domain:
            lines.append(f"domain {resolver.domain}")
        lines += [f"nameserver {server}" for server in resolver.name_servers]
        data = ("\n".join(lines) + "\n").encode()
        try:
            if not self.resolv_conf.exists() or self.resolv_conf.read_bytes() != data:
                atomic_write(self.resolv_conf, data)
        except OSError as err:  # e.g. a resolv.conf bind-mounted by a container: written in place
            try:
                self.resolv_conf.write_bytes(data)
            except OSError:
                log.warning("cannot write %s: %s", self.resolv_conf, err)

    def apply_hostname(self, hostname: str) -> None:
        if self.set_hostname and hostname and socket.gethostname() != hostname:
            try:
                socket.sethostname(hostname)
            except OSError as err:
                log.warning("cannot set the host name to %s: %s", hostname, err)

    async def dns_update(self, server: str, wire: bytes, timeout: float) -> bytes:
        import dns.asyncquery
        import dns.message

        reply = await dns.asyncquery.udp(dns.message.from_wire(wire), server, timeout=timeout)
        return reply.to_wire()

    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.add(callback)

    # -- the DHCP client ----------------------------------------------------------------------
    # pyroute2's DHCP client reads a raw packet socket, which the device's loop (uvloop) does not
    # serve: it runs on a thread of its own with a plain asyncio loop, and hands what it learns
    # back to the device's loop.
    def _wants_dhcp(self) -> bool:
        return self.plan.up and self.plan.ipv4 and self.plan.dhcp and not self._stopping

    def _kick(self) -> None:
        loop, wake = self._dhcp_loop, self._wake
        if loop is not None and wake is not None:
            loop.call_soon_threadsafe(wake.set)

    async def run(self) -> None:
        self._device_loop = asyncio.get_running_loop()
        self._stopping = False
        thread = threading.Thread(target=self._dhcp_thread, name=f"dhcp-{self.name}", daemon=True)
        thread.start()
        try:
            await asyncio.Event().wait()
        finally:
            self._stopping = True
            self._kick()
            await asyncio.to_thread(thread.join, 10)

    def _dhcp_thread(self) -> None:
        loop = asyncio.SelectorEventLoop()
        try:
            loop.run_until_complete(self._dhcp_main())
        except Exception:  # noqa: BLE001 - the device keeps running; the fallbacks stay
            log.exception("the DHCP client on %s stopped", self.name)
        finally:
            self._dhcp_loop = None
            loop.close()

    async def _dhcp_main(self) -> None:
        self._wake = asyncio.Event()
        self._dhcp_loop = asyncio.get_running_loop()
        while not self._stopping:
            if self._wants_dhcp():
                await self._dhcp_session(self.plan.hostname)
            else:
                self._wake.clear()
                await self._wake.wait()

    def _changed(self) -> None:
        """The lease changed (on the DHCP thread): apply it, and tell the device's loop."""
        try:
            self._netlink(lambda: self._configure(self.plan))
        except (NetlinkError, OSError, NetworkError) as err:
            log.warning("applying the DHCP lease on %s failed: %s", self.name, err)
        if self._device_loop is not None and not self._device_loop.is_closed():
            self._device_loop.call_soon_threadsafe(self._watchers.notify)

    async def _dhcp_session(self, hostname: str) -> None:
        """One DHCP client run, until the plan no longer asks for DHCP (or asks another host name)."""
        assert self._wake is not None

        @hook(Trigger.BOUND, Trigger.RENEWED, Trigger.REBOUND)
        async def bound(lease: DhcpLease) -> None:
            self.lease, self.dhcp_failed = from_dhcp(lease), False
            self._changed()

        @hook(Trigger.UNBOUND, Trigger.EXPIRED)
        async def lost(lease: DhcpLease) -> None:
            self.lease = None
            self._changed()

        config = ClientConfig(interface=self.name, lease_type=self._lease_type, hooks=(bound, lost),
                              requested_parameters=REQUESTED, handle_signals=False, write_pidfile=False,
                              vendor_id="Vigil", host_name=hostname or None)
        async with AsyncDHCPClient(config) as client:
            await client.bootstrap()
            try:
                await client.wait_for_state(fsm.State.BOUND, timeout=DHCP_TIMEOUT)
            except TimeoutError:
                self.dhcp_failed = True  # the fallbacks take over; the client keeps asking
                self._changed()
            while self._wants_dhcp() and self.plan.hostname == hostname:
                self._wake.clear()
                await self._wake.wait()
        self.lease, self.dhcp_failed = None, False
        self._changed()
