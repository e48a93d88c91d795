"""The SNMP service: runs the agent the `SNMP.*` parameters describe and sends its traps.

- The agent (agent.py) listens on the device's listening address and SNMP port (`vigil run
  --snmp-port`, 161 by default) while SNMP.Enabled is yes and one version is on; it answers
  v1/v2c requests with the read community (read-only) or the write community (read-write),
  and v3 requests of the user "initial" (authentication and privacy, the password set once).
  A change of these settings re-initializes it at once (a warm start); the engine id stays,
  the engine boots count goes up and is kept.
- Traps go to SNMP.Trap.T0.Address (host, or host:port; 162 by default) with the trap
  community, as SNMPv2c traps when v2c is on and SNMPv1 traps otherwise: coldStart when the
  device starts, warmStart on a re-initialization, authenticationFailure for a request that
  failed authentication (also counted and logged), linkDown/linkUp when the network feature
  reports an interface lost or back, and the AXIS-VIDEO-MIB alarmNew/alarmCleared for the
  storage events on the bus (a storage disruption, a degraded or failed RAID, a storage
  alert), each kind switched by its parameter as VAPIX names them; the alarms go whenever
  traps are on, as the manual says. Traps are queued, never waited for: the event bus and the
  request path do not block on the network.
- If the agent cannot listen (a port in use, a port below 1024 without root) the reason is in
  the status and the system log, and the device goes on without it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pysnmp.proto import rfc1902
from pysnmp.smi import error as smi

from vigil.core.events import Event
from vigil.core.params import Change, ParamError
from vigil.core.registry import Key
from vigil.features.snmp import objects
from vigil.features.snmp.agent import Agent, AgentConfig, User, engine_id
from vigil.features.snmp.const import (
    ALARM_CLEARED,
    ALARM_ID,
    ALARM_NAME,
    ALARM_NEW,
    ALARM_RAID,
    ALARM_STORAGE,
    ALARM_TEMPERATURE,
    ALARM_TEXT,
    ALERT,
    AUTH_FAILURE,
    COLD_START,
    CONTACT,
    DISRUPTION,
    DSCP,
    ENABLED,
    IF_ADMIN_STATUS,
    IF_INDEX,
    IF_OPER_STATUS,
    INITIAL_AUTH,
    INITIAL_PASSWORD,
    INITIAL_PRIV,
    INITIAL_USER,
    KV_BOOTS,
    LINK_DOWN,
    LINK_UP,
    LOCATION,
    NETWORK_LOST,
    RAID,
    READ_COMMUNITY,
    SNMP_TRAP_OID_0,
    SYS_UPTIME_0,
    TRAP_ADDRESS,
    TRAP_AUTH_FAIL,
    TRAP_COLD_START,
    TRAP_COMMUNITY,
    TRAP_LINK_DOWN,
    TRAP_LINK_UP,
    TRAP_WARM_START,
    TRAPS,
    V1,
    V2C,
    V3,
    WARM_START,
    WRITE_COMMUNITY,
)
from vigil.features.snmp.mib import Oid, SetRefused
from vigil.features.snmp.params import param_defs, trap_receiver
from vigil.footage.volumes import VOLUMES
from vigil.hal.disks import DISK_HARDWARE

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.snmp")

# A change of one of these re-initializes the agent; the others are read where they are used.
ENGINE_SETTINGS = frozenset({ENABLED, V1, V2C, V3, READ_COMMUNITY, WRITE_COMMUNITY, DSCP, INITIAL_PASSWORD,
                             INITIAL_AUTH, INITIAL_PRIV, TRAP_COMMUNITY})
QUEUE_SIZE = 256  # traps waiting to be sent; more are dropped (counted)
AUTH_TRAPS_PER_SECOND = 10  # a guessing client does not turn into a trap flood
LOG_EVERY = 60.0  # seconds between two log entries about failed authentication from one address
RAID_ALARMS = {"degraded": "The RAID is degraded: it has no redundancy until a drive is replaced",
               "failure": "The RAID has failed: the system is not recording"}


class SnmpService:
    def __init__(self, device: Device) -> None:
        self.params = device.params
        self.bus = device.events
        self.logs = device.logs
        self.store = device.store
        self.host = device.ports.host
        self.port = device.ports.snmp
        self.listening = device.listening  # its `admits`: the firewall's say on each datagram
        self.engine_id = engine_id(device.identity.mac)
        self.sources = objects.Sources(
            profile=device.profile, mac=device.identity.mac, params=device.params, bus=device.events,
            store=device.store, volumes=device.features.get(VOLUMES), disks=device.hardware.get(DISK_HARDWARE),
            uptime=self.uptime, counter=self.counter, set_param=self.set_param)
        self.mib, self.interfaces = objects.build(self.sources)
        self.agent: Agent | None = None
        self.error = ""  # why the agent is not running although it should
        self.alarms: dict[tuple[int, str], str] = {}  # active alarms: (kind, source) -> text
        self.queue: asyncio.Queue[list[tuple[Oid, Any]]] | None = None
        self.traps_dropped = 0
        self._reconfigure: asyncio.Event | None = None
        self._auth_budget = (0.0, 0)  # (second, authenticationFailure traps sent in it)
        self._logged: dict[str, tuple[float, int]] = {}  # address -> (last log time, failures since)
        self._started = time.monotonic()
        self.starts = 0  # (re)initializations done, whether the agent then runs or not
        device.params.listeners.append(self._on_params)

    def param_defs(self):
        return param_defs(self.params, lambda: self.store.get_kv(KV_BOOTS) or "0")

    # -- reading for the objects ---------------------------------------------------------------
    def uptime(self) -> int:
        """sysUpTime: centiseconds since the agent (re)started."""
        return self.agent.uptime() if self.agent is not None else int((time.monotonic() - self._started) * 100)

    def counter(self, name: str) -> int:
        return self.agent.counter(name) if self.agent is not None else 0

    def set_param(self, name: str, value: str, actor: str) -> None:
        try:
            self.params.set_internal({name: value}, actor)
        except ParamError as err:
            raise SetRefused(smi.InconsistentValueError, str(err)) from err

    # -- configuration -------------------------------------------------------------------------
    def wanted(self) -> bool:
        p = self.params
        return p.get_bool(ENABLED) and (p.get_bool(V1) or p.get_bool(V2C) or p.get_bool(V3))

    def config(self) -> AgentConfig:
        p = self.params
        users: tuple[User, ...] = ()
        password = p.get(INITIAL_PASSWORD)
        if password:
            users = (User(INITIAL_USER, password, p.get(INITIAL_AUTH), p.get(INITIAL_PRIV), write=True),)
        boots = int(self.store.get_kv(KV_BOOTS) or "0") + 1
        self.store.set_kv(KV_BOOTS, str(boots))
        return AgentConfig(
            host=self.host, port=self.port, engine_id=self.engine_id, boots=boots, v1=p.get_bool(V1),
            v2c=p.get_bool(V2C), v3=p.get_bool(V3), read_community=p.get(READ_COMMUNITY),
            write_community=p.get(WRITE_COMMUNITY), users=users, dscp=p.get_int(DSCP),
            trap_community=p.get(TRAP_COMMUNITY), trap_version=1 if p.get_bool(V2C) else 0)

    def _on_params(self, changes: list[Change], actor: str) -> None:
        if self._reconfigure is not None and any(c.name in ENGINE_SETTINGS for c in changes):
            self._reconfigure.set()

    # -- running -------------------------------------------------------------------------------
    async def run(self) -> None:
        """The device's service: the agent while it is wanted, re-initialized on changes."""
        self._reconfigure = asyncio.Event()
        self.queue = asyncio.Queue(QUEUE_SIZE)
        sender = asyncio.create_task(self._send_traps())
        subscription = self.bus.subscribe(self._on_event)
        for topic in (DISRUPTION, RAID, ALERT, NETWORK_LOST):  # what was published before: the state to start from
            for event in self.bus.states(topic):
                self._on_event(event)  # no agent yet: recorded, not sent
        try:
            await self._start(cold=True)
            while True:
                await self._reconfigure.wait()
                self._reconfigure.clear()
                await self._start(cold=False)
        finally:
            subscription.cancel()
            sender.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sender
            self._stop()
            self._reconfigure = None

    def _stop(self) -> None:
        if self.agent is not None:
            self.agent.close()
            self.agent = None

    async def _start(self, cold: bool) -> None:
        try:
            await self._initialize(cold)
        finally:
            self.starts += 1

    async def _initialize(self, cold: bool) -> None:
        self._stop()
        self.error = ""
        if not self.wanted():
            return
        agent = Agent(self.config(), self.mib, "snmp:", self._on_auth_failure, self.listening.admits)
        await asyncio.to_thread(agent.build)
        try:
            agent.open()
        except OSError as err:
            agent.close()
            self.error = f"cannot listen on {self.host}:{self.port}: {err.strerror or err}"
            if err.errno == 13:
                self.error += " (ports below 1024 need root; start vigil with --snmp-port)"
            self.logs.system(f"SNMP agent not started: {self.error}", "error")
            return
        self.agent = agent
        host, port = agent.address()
        self.logs.system(f"SNMP agent listening on {host}:{port} ({', '.join(self.versions())}), "
                         f"engine boots {agent.cfg.boots}")
        self.trap(COLD_START if cold else WARM_START, TRAP_COLD_START if cold else TRAP_WARM_START)
        if cold:
            for (kind, source), text in sorted(self.alarms.items()):
                self._alarm(ALARM_NEW, kind, source, text)

    def versions(self) -> list[str]:
        p = self.params
        return [name for name, key in (("v1", V1), ("v2c", V2C), ("v3", V3)) if p.get_bool(key)]

    # -- traps ---------------------------------------------------------------------------------
    def traps_on(self) -> bool:
        p = self.params
        return (self.agent is not None and p.get_bool(TRAPS) and bool(p.get(TRAP_ADDRESS))
                and (p.get_bool(V1) or p.get_bool(V2C)))

    def trap(self, oid: Oid, switch: str | None, objects_: list[tuple[Oid, Any]] = ()) -> bool:
        """Queue a trap (sysUpTime, snmpTrapOID, `objects_`) when traps are on and `switch`
        (a parameter; None: always) is yes. False when it was not queued."""
        if not self.traps_on() or (switch is not None and not self.params.get_bool(switch)):
            return False
        varbinds = [(SYS_UPTIME_0, rfc1902.TimeTicks(self.uptime())),
                    (SNMP_TRAP_OID_0, rfc1902.ObjectIdentifier(oid)), *objects_]
        assert self.queue is not None
        try:
            self.queue.put_nowait(varbinds)
        except asyncio.QueueFull:
            self.traps_dropped += 1
            return False
        return True

    async def _send_traps(self) -> None:
        assert self.queue is not None
        loop = asyncio.get_running_loop()
        while True:
            varbinds = await self.queue.get()
            agent = self.agent
            if agent is None:
                continue
            try:
                host, port = trap_receiver(self.params.get(TRAP_ADDRESS))
                address = await self._resolve(loop, host, agent)
                agent.send((address, port), varbinds)
            except (OSError, ValueError) as err:
                agent.stats.traps_failed += 1
                agent.stats.last_trap_error = f"{self.params.get(TRAP_ADDRESS)}: {err}"
                self.logs.system(f"SNMP trap not sent: {agent.stats.last_trap_error}", "warning")
            except Exception as err:  # noqa: BLE001 - a failed trap must not stop the sender
                agent.stats.traps_failed += 1
                agent.stats.last_trap_error = str(err)
                log.exception("SNMP trap not sent")

    @staticmethod
    async def _resolve(loop: asyncio.AbstractEventLoop, host: str, agent: Agent) -> str:
        try:
            return str(ipaddress.ip_address(host))
        except ValueError:
            pass
        family = socket.AF_INET6 if agent.sock is not None and agent.sock.family == socket.AF_INET6 else socket.AF_INET
        found = await loop.getaddrinfo(host, None, family=family, type=socket.SOCK_DGRAM)
        if not found:
            raise OSError(f"{host} has no address")
        return str(found[0][4][0])

    def _on_auth_failure(self, peer: str) -> None:
        now = time.monotonic()
        last, since = self._logged.get(peer, (0.0, 0))
        if now - last >= LOG_EVERY:
            more = f" ({since} more since the last entry)" if since else ""
            self.logs.system(f"SNMP request from {peer} refused: wrong community or credentials{more}", "warning")
            self._logged[peer] = (now, 0)
            if len(self._logged) > 1000:
                self._logged.clear()
        else:
            self._logged[peer] = (last, since + 1)
        second, sent = self._auth_budget
        if int(now) != second:
            second, sent = int(now), 0
        if sent < AUTH_TRAPS_PER_SECOND and self.trap(AUTH_FAILURE, TRAP_AUTH_FAIL):
            sent += 1
        self._auth_budget = (second, sent)

    # -- events --------------------------------------------------------------------------------
    def _on_event(self, event: Event) -> None:
        if event.topic == NETWORK_LOST:
            self._on_link(event)
            return
        if event.topic not in (DISRUPTION, RAID, ALERT):
            return
        self.mib.changed()  # volumes and drives may have come or gone
        source = event.source.get("disk_id", "")
        if event.topic == DISRUPTION:
            self._set_alarm(ALARM_STORAGE, source, event.data.get("disruption") == "1",
                            f"Check the {source} storage device")
        elif event.topic == RAID:
            state = event.data.get("raidstate", "")
            self._set_alarm(ALARM_RAID, "", state in RAID_ALARMS, RAID_ALARMS.get(state, ""))
        else:
            kelvin = int(event.data.get("temperature", "-1") or -1)
            health = "failed" if event.data.get("overall_health") == "0" else "ok"
            self._set_alarm(ALARM_TEMPERATURE, source, event.data.get("alert") == "1",
                            f"Storage alert on {source}: health {health}"
                            + (f", {kelvin - 273} °C" if kelvin > 0 else ""))

    def _set_alarm(self, kind: int, source: str, active: bool, text: str) -> None:
        key = (kind, source)
        if active and key not in self.alarms:
            self.alarms[key] = text
            self._alarm(ALARM_NEW, kind, source, text)
        elif not active and key in self.alarms:
            self._alarm(ALARM_CLEARED, kind, source, self.alarms.pop(key))

    def _alarm(self, oid: Oid, kind: int, source: str, text: str) -> None:
        names = {ALARM_STORAGE: "Edge Storage Operation", ALARM_RAID: "RAID", ALARM_TEMPERATURE: "Storage alert"}
        self.trap(oid, None, [(ALARM_ID, rfc1902.Unsigned32(self.alarm_id(kind, source))),
                              (ALARM_NAME, objects.text(names[kind])), (ALARM_TEXT, objects.text(text))])

    def alarm_id(self, kind: int, source: str) -> int:
        """The same id for an alarm's alarmNew and alarmCleared: the kind, and the disk's number."""
        ids = self.sources.volumes.ids() if self.sources.volumes is not None else []
        return kind * 100 + (ids.index(source) + 1 if source in ids else 0)

    def _on_link(self, event: Event) -> None:
        lost = event.data.get("lost") in ("1", "true")
        interface, changed = self.interfaces.update(event.source.get("interface", "eth0"), not lost)
        if changed:
            index = (interface.index,)
            self.trap(LINK_DOWN if lost else LINK_UP, TRAP_LINK_DOWN if lost else TRAP_LINK_UP,
                      [(IF_INDEX + index, rfc1902.Integer32(interface.index)),
                       (IF_ADMIN_STATUS + index, rfc1902.Integer32(1)),
                       (IF_OPER_STATUS + index, rfc1902.Integer32(2 if lost else 1))])

    # -- status ----------------------------------------------------------------------------------
    def status(self) -> Mapping[str, Any]:
        agent = self.agent
        out: dict[str, Any] = {
            "enabled": self.params.get_bool(ENABLED), "running": agent is not None, "error": self.error,
            "versions": self.versions(), "engineId": self.engine_id.hex(),
            "engineBoots": int(self.store.get_kv(KV_BOOTS) or "0"), "objects": len(self.mib),
            "contact": self.params.get(CONTACT), "location": self.params.get(LOCATION),
            "activeAlarms": [{"id": self.alarm_id(k, s), "text": t} for (k, s), t in sorted(self.alarms.items())],
            "trapsDropped": self.traps_dropped,
        }
        if agent is not None:
            host, port = agent.address()
            stats = agent.stats
            out |= {"address": host, "port": port, "uptime": agent.uptime() // 100,
                    "datagrams": stats.requests, "authenticationFailures": stats.auth_failures,
                    "droppedDatagrams": stats.dropped, "trapsSent": stats.traps_sent,
                    "trapsFailed": stats.traps_failed, "lastTrapError": stats.last_trap_error,
                    "badCommunityNames": agent.counter("snmpInBadCommunityNames"),
                    "parseErrors": agent.counter("snmpInASNParseErrs")}
        return out


SNMP_SERVICE: Key[SnmpService] = Key("snmp")
