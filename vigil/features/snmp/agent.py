"""One running pysnmp engine: the agent's UDP socket, its communities and v3 users with their
access (VACM), the command responders over the object tree, and the notification originator
that sends traps to the receiver.

pysnmp does the BER encoding, the message processing and the security models; this module
configures it from `AgentConfig` and watches what it does with each datagram: a request that
fails authentication (an unknown community, an unknown v3 user, a wrong digest) is reported
to `on_auth_failure`, and a datagram that makes pysnmp raise is counted and dropped; the
agent keeps running.

Building an engine loads pysnmp's MIB modules (about 0.15 s of CPU); `build` runs in a worker
thread so the event loop (HTTP, recording) stays responsive, and `open` then attaches the
socket on the loop.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pysnmp.carrier.asyncio.dgram import udp, udp6
from pysnmp.entity import config, engine
from pysnmp.entity.rfc3413 import cmdrsp, context, ntforg
from pysnmp.proto import rfc1902

from vigil.features.snmp.const import MAX_BULK_VARBINDS
from vigil.features.snmp.mib import Instrumentation, Mib, Oid

log = logging.getLogger("vigil.snmp")

AUTH = {"MD5": config.USM_AUTH_HMAC96_MD5, "SHA": config.USM_AUTH_HMAC96_SHA,
        "SHA224": config.USM_AUTH_HMAC128_SHA224, "SHA256": config.USM_AUTH_HMAC192_SHA256,
        "SHA384": config.USM_AUTH_HMAC256_SHA384, "SHA512": config.USM_AUTH_HMAC384_SHA512}
PRIV = {"DES": config.USM_PRIV_CBC56_DES, "AES": config.USM_PRIV_CFB128_AES,
        # AES-192/256 with the key extension net-snmp uses (draft-blumenthal-aes-usm)
        "AES192": config.USM_PRIV_CFB192_AES_BLUMENTHAL, "AES256": config.USM_PRIV_CFB256_AES_BLUMENTHAL}
EVERYTHING = (1, 3, 6, 1)
SNMP_TRAP_ADDRESS_0 = (1, 3, 6, 1, 6, 3, 18, 1, 3, 0)
V1, V2C, V3 = 1, 2, 3  # security models
TRAP_TARGET, TRAP_PARAMS, TRAP_TAG, TRAP_NOTIFY, TRAP_SECURITY = "t0", "t0-params", "t0", "t0-notify", "trap"
# Counters whose growth means a request failed authentication.
AUTH_FAILURE_COUNTERS = (("__SNMPv2-MIB", "snmpInBadCommunityNames"),
                         ("__SNMP-USER-BASED-SM-MIB", "usmStatsUnknownUserNames"),
                         ("__SNMP-USER-BASED-SM-MIB", "usmStatsWrongDigests"))


@dataclass(frozen=True)
class User:
    name: str
    password: str
    auth: str  # a key of AUTH
    priv: str  # a key of PRIV
    write: bool


@dataclass(frozen=True)
class AgentConfig:
    """What the agent answers, to whom, and where its traps go."""

    host: str
    port: int
    engine_id: bytes
    boots: int
    v1: bool = False
    v2c: bool = False
    v3: bool = False
    read_community: str = "public"
    write_community: str = "write"
    users: tuple[User, ...] = ()
    dscp: int = 0
    trap_community: str = "public"
    trap_version: int = 1  # 0: SNMPv1 Trap-PDU, 1: SNMPv2c Trap


def engine_id(mac: str) -> bytes:
    """An RFC 3411 engine id from the MAC address (format 3), under Axis's enterprise number:
    the same across restarts, so that v3 managers keep their localized keys."""
    return bytes.fromhex("80000170") + b"\x03" + bytes.fromhex(mac.replace(":", ""))


def bind(host: str, port: int, dscp: int) -> socket.socket:
    """The agent's socket, bound now, so that a port in use or a privileged port is a clear
    error here; DSCP marks its packets (answers and traps)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        set_dscp(sock, dscp)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def set_dscp(sock: socket.socket, dscp: int) -> None:
    if sock.family == socket.AF_INET6:
        sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_TCLASS, dscp << 2)
    else:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_TOS, dscp << 2)


@dataclass
class Stats:
    requests: int = 0
    auth_failures: int = 0
    dropped: int = 0  # datagrams pysnmp could not handle
    traps_sent: int = 0
    traps_failed: int = 0
    last_trap_error: str = ""
    by_address: dict[str, int] = field(default_factory=dict)  # authentication failures per address


class Agent:
    """A configured engine; `build` in a worker thread, then `open` on the event loop."""

    def __init__(self, cfg: AgentConfig, mib: Mib, actor_prefix: str,
                 on_auth_failure: Callable[[str], None],
                 admits: Callable[[str, int, str], bool] | None = None) -> None:
        self.cfg = cfg
        self.admits = admits  # the firewall's say on a datagram (vigil.http.ports.Listening.admits)
        self.mib = mib
        self.actor_prefix = actor_prefix
        self.on_auth_failure = on_auth_failure
        self.stats = Stats()
        self.started = time.monotonic()
        self.engine: engine.SnmpEngine | None = None
        self.sock: socket.socket | None = None
        self._counters: dict[str, Any] = {}  # pysnmp's counter instances, by name
        self._originator = ntforg.NotificationOriginator()
        self._has_udp6 = False

    # -- building ---------------------------------------------------------------------------
    def build(self) -> None:
        cfg = self.cfg
        eng = engine.SnmpEngine(snmpEngineID=rfc1902.OctetString(cfg.engine_id))
        builder = eng.get_mib_builder()
        (boots,) = builder.import_symbols("__SNMP-FRAMEWORK-MIB", "snmpEngineBoots")
        boots.syntax = boots.syntax.clone(cfg.boots)
        self._add_views(eng)
        for model, on in ((V1, cfg.v1), (V2C, cfg.v2c)):
            if on:
                self._grant(eng, model, "read", "noAuthNoPriv", write=False)
                self._grant(eng, model, "write", "noAuthNoPriv", write=True)
        if cfg.v1 or cfg.v2c:
            config.add_v1_system(eng, "read", cfg.read_community)
            config.add_v1_system(eng, "write", cfg.write_community)
        if cfg.v3:
            for user in cfg.users:
                config.add_v3_user(eng, user.name, AUTH[user.auth], user.password, PRIV[user.priv], user.password)
                self._grant(eng, V3, user.name, "authPriv", write=user.write)
                self._grant(eng, V3, user.name, "authNoPriv", write=user.write)
        # The trap community is only for sending: its transport tag matches no incoming transport.
        config.add_v1_system(eng, TRAP_SECURITY, cfg.trap_community, transportTag=TRAP_SECURITY)
        config.add_target_parameters(eng, TRAP_PARAMS, TRAP_SECURITY, "noAuthNoPriv", cfg.trap_version)
        # pysnmp sends a notification only with objects the target's security name may be notified of
        self._grant(eng, cfg.trap_version + 1, TRAP_SECURITY, "noAuthNoPriv", write=False, read=False)
        config.add_notification_target(eng, TRAP_NOTIFY, TRAP_PARAMS, TRAP_TAG, "trap")
        snmp_context = context.SnmpContext(eng)
        snmp_context.unregister_context_name(b"")
        snmp_context.register_context_name(b"", Instrumentation(self.mib, self._actor))
        cmdrsp.GetCommandResponder(eng, snmp_context)
        cmdrsp.NextCommandResponder(eng, snmp_context)
        bulk = cmdrsp.BulkCommandResponder(eng, snmp_context)
        bulk.max_varbinds = MAX_BULK_VARBINDS
        cmdrsp.SetCommandResponder(eng, snmp_context)
        for module, name in (("__SNMPv2-MIB", n) for n in (
                "snmpInPkts", "snmpInBadVersions", "snmpInBadCommunityNames", "snmpInBadCommunityUses",
                "snmpInASNParseErrs", "snmpSilentDrops", "snmpProxyDrops")):
            (self._counters[name],) = builder.import_symbols(module, name)
        for module, name in AUTH_FAILURE_COUNTERS[1:]:
            (self._counters[name],) = builder.import_symbols(module, name)
        self.engine = eng

    @staticmethod
    def _add_views(eng: engine.SnmpEngine) -> None:
        config.add_context(eng, b"")
        config.add_vacm_view(eng, "all", "included", EVERYTHING, b"")
        # A view with no subtree lets everything through in pysnmp 7.1 (its access check returns
        # instead of raising), so "nothing" is a view that excludes the whole tree.
        config.add_vacm_view(eng, "none", "excluded", EVERYTHING, b"")

    @staticmethod
    def _grant(eng: engine.SnmpEngine, model: int, name: str, level: str, write: bool, read: bool = True) -> None:
        group = f"{name}-{model}"
        config.add_vacm_group(eng, group, model, name)
        config.add_vacm_access(eng, group, b"", model, level, "exact", "all" if read else "none",
                               "all" if write else "none", "all")

    def counter(self, name: str) -> int:
        found = self._counters.get(name)
        return int(found.syntax) if found is not None else 0

    def _auth_failures(self) -> int:
        return sum(self.counter(name) for _module, name in AUTH_FAILURE_COUNTERS)

    def _actor(self, ctx: dict) -> str:
        """Who a set comes from, for the audit log: the community's role or the v3 user, and the address."""
        request = ctx["snmpEngine"].observer.get_execution_context("rfc3412.receiveMessage:request")
        address = request["transportAddress"]
        return f"{self.actor_prefix}{request['securityName']}@{address[0]}"

    # -- running ----------------------------------------------------------------------------
    def open(self) -> None:
        """Attach the bound socket (event loop)."""
        eng = self.engine
        assert eng is not None
        self.sock = bind(self.cfg.host, self.cfg.port, self.cfg.dscp)
        transport = udp6.Udp6Transport() if self.sock.family == socket.AF_INET6 else udp.UdpTransport()
        domain = udp6.DOMAIN_NAME if self.sock.family == socket.AF_INET6 else udp.DOMAIN_NAME
        config.add_transport(eng, domain, transport.open_server_mode(sock=self.sock))
        dispatcher = eng.transport_dispatcher
        dispatcher.unregister_recv_callback()
        dispatcher.register_recv_callback(self._receive)
        eng.open_dispatcher()
        self.started = time.monotonic()

    def address(self) -> tuple[str, int]:
        assert self.sock is not None
        host, port = self.sock.getsockname()[:2]
        return host, port

    def uptime(self) -> int:
        return int((time.monotonic() - self.started) * 100) & 0xFFFFFFFF

    def _receive(self, _dispatcher, domain, address, message: bytes) -> None:
        """Every datagram, through pysnmp; an authentication failure is reported, a datagram
        that makes pysnmp raise is dropped and counted."""
        eng = self.engine
        if eng is None:
            return
        if self.admits is not None and self.sock is not None \
                and not self.admits(str(address[0]), self.sock.getsockname()[1], "UDP"):
            return  # the firewall drops it: no answer at all
        self.stats.requests += 1
        before = self._auth_failures()
        try:
            eng.message_dispatcher.receive_message(eng, domain, address, message)
        except Exception:  # noqa: BLE001 - one bad datagram must not stop the agent
            self.stats.dropped += 1
            log.debug("SNMP datagram from %s dropped", address[0], exc_info=True)
        if self._auth_failures() > before:
            self.stats.auth_failures += 1
            peer = str(address[0])
            self.stats.by_address[peer] = self.stats.by_address.get(peer, 0) + 1
            if len(self.stats.by_address) > 1000:  # addresses come from the network: bound the table
                self.stats.by_address.clear()
            self.on_auth_failure(peer)

    def send(self, address: tuple[str, int], varbinds: list[tuple[Oid, object]]) -> None:
        """A trap to `address` (an IP address and port): sysUpTime first, then snmpTrapOID and
        the objects. pysnmp turns it into an SNMPv1 Trap-PDU when the trap version is 1."""
        eng = self.engine
        assert eng is not None
        host, port = address
        if ipaddress.ip_address(host).version == 6:
            if not self._has_udp6:
                config.add_transport(eng, udp6.DOMAIN_NAME, udp6.Udp6Transport().open_client_mode())
                self._has_udp6 = True
            config.add_target_address(eng, TRAP_TARGET, udp6.DOMAIN_NAME, (host, port), TRAP_PARAMS, tagList=TRAP_TAG)
        elif self.sock is not None and self.sock.family == socket.AF_INET:
            config.add_target_address(eng, TRAP_TARGET, udp.DOMAIN_NAME, (host, port), TRAP_PARAMS, tagList=TRAP_TAG)
        else:
            raise OSError(f"the agent listens on IPv6 only; it cannot send to {host}")
        if self.cfg.trap_version == 0 and self.sock is not None and self.sock.family == socket.AF_INET:
            agent_address = self.sock.getsockname()[0]
            if agent_address != "0.0.0.0":  # the v1 Trap-PDU's agent-addr (pysnmp takes it from snmpTrapAddress)
                varbinds = [*varbinds, (SNMP_TRAP_ADDRESS_0, rfc1902.IpAddress(agent_address))]
        self._originator.send_varbinds(eng, TRAP_NOTIFY, None, b"", varbinds)  # bytes: the VACM context map is keyed by bytes
        self.stats.traps_sent += 1

    def close(self) -> None:
        eng, self.engine = self.engine, None
        if eng is not None:
            try:
                eng.close_dispatcher()
            except Exception:  # noqa: BLE001 - closing a half-opened engine
                log.debug("closing the SNMP engine", exc_info=True)
        if self.sock is not None:
            self.sock.close()
            self.sock = None
