"""The remote system log: every log entry the device writes, filtered by each server's severity
threshold and type (all logs, or the audit log only), goes to up to two syslog servers.

The settings live in the parameter tree (`API.RemoteSyslog1.*`); the service follows them with a
listener, so remotesyslog.cgi, param.cgi and the Plain config page all take effect at once. As
the API page says, changing a server's parameters on their own turns remote logging off (set
`Enabled=true` again), and `Enabled=true` without a usable Server1 falls back to false.

Entries arrive through the logs' subscriber hook (`Logs.subscribe`) on whatever thread wrote
them; the senders (sender.py) run on the device's event loop, one task per server, and never make
the log path wait.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import ssl
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from vigil.core.logs import LogEntry
from vigil.core.params import Change
from vigil.core.registry import Key
from vigil.features.certificates.service import KEYSTORE
from vigil.features.syslog import config as model
from vigil.features.syslog.config import ServerConfig, SetupError
from vigil.features.syslog.const import (
    BACKOFF_MAX,
    BACKOFF_MIN,
    ENABLED,
    FALSE,
    GROUP,
    KV_CA_CERTIFICATES,
    PARAMS,
    SEVERITIES,
    TRUE,
)
from vigil.features.syslog.formats import severity_number
from vigil.features.syslog.sender import Sender, Unreachable, send_once, tls_context
from vigil.http.vapix import ConfigCodes

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.syslog")
TEST_SOURCE = "remotesyslog"


class SyslogService:
    def __init__(self, device: Device) -> None:
        self.params = device.params
        self.logs = device.logs
        self.store = device.store
        self.clock = device.clock
        self.keystore = device.features[KEYSTORE]
        self.host = device.logs.host  # the HOSTNAME of every message
        self.backoff = (BACKOFF_MIN, BACKOFF_MAX)  # tests make it shorter
        self.enabled = False
        self.servers: list[ServerConfig] = []
        self.senders: list[Sender] = []
        self._tasks: list[asyncio.Task] = []
        self._running: tuple[tuple[ServerConfig, ...], tuple[str, ...]] = ((), ())
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread = 0
        self._changed: asyncio.Event | None = None
        self._writing = False  # the service writes the parameters itself (setup, enable, disable)
        self.params.listeners.append(self._on_params)
        self.logs.subscribe(self.offer)

    # -- settings ---------------------------------------------------------------------------------
    def load(self) -> None:
        """Read the stored settings (once the parameters are loaded)."""
        self._read()

    def _read(self) -> None:
        self.servers = model.from_params({n: self.params.get(n) for n in PARAMS})
        self.enabled = self.params.get(ENABLED) == TRUE and bool(self.servers)

    @property
    def ca_certificates(self) -> list[str]:
        """The CA certificates TLS servers are verified against (none: the system's trusted CAs)."""
        try:
            ids = json.loads(self.store.get_kv(KV_CA_CERTIFICATES) or "[]")
        except ValueError:
            return []
        return [i for i in ids if isinstance(i, str)] if isinstance(ids, list) else []

    def tls(self, ca_ids: list[str]) -> Callable[[], ssl.SSLContext]:
        return lambda: tls_context(ca_ids, self.keystore)

    def _on_params(self, changes: list[Change], actor: str) -> None:
        names = {c.name for c in changes if c.name.startswith(GROUP)}
        if not names:
            return
        if not self._writing:
            if ENABLED not in names and self.params.get(ENABLED) == TRUE:
                self._set_enabled(False, actor)  # the API page: a server parameter changed turns it off
                self.logs.system("remote syslog turned off: its server settings changed; set "
                                 f"root.{ENABLED}=true to turn it on again", "notice", "syslog")
            elif ENABLED in names and self.params.get(ENABLED) == TRUE:
                servers = model.from_params({n: self.params.get(n) for n in PARAMS})
                problem = "no Server1.Address" if not servers else "identical servers" if model.identical(
                    servers) else ""
                if problem:
                    self._set_enabled(False, actor)
                    self.logs.system(f"remote syslog cannot be turned on: {problem}", "warning", "syslog")
        self._read()
        self._poke()

    def _set_enabled(self, on: bool, actor: str) -> None:
        self._writing = True
        try:
            self.params.set_internal({ENABLED: TRUE if on else FALSE}, actor)
        finally:
            self._writing = False

    def setup(self, servers: list[ServerConfig], ca_ids: list[str] | None, actor: str) -> None:
        """Save the servers (and the CA certificates, when given) and send to them; with no server,
        remote logging is off. SetupError when a CA certificate cannot be used."""
        if ca_ids is not None:
            try:
                tls_context(ca_ids, self.keystore)
            except Unreachable as err:
                raise SetupError([(ConfigCodes.INVALID, "caCertificates", "")]) from err
            if ca_ids != self.ca_certificates:
                self.store.set_kv(KV_CA_CERTIFICATES, json.dumps(ca_ids))
                self.logs.audit(actor, "set the CA certificates of remote syslog over TLS: "
                                + (", ".join(ca_ids) or "none (the device's trusted CAs)"), "syslog")
        self._writing = True
        try:
            self.params.set_internal({**model.to_params(servers), ENABLED: TRUE if servers else FALSE}, actor)
        finally:
            self._writing = False
        self._read()
        self._poke()

    def set_enabled(self, on: bool, actor: str) -> None:
        self._set_enabled(on, actor)
        self._read()
        self._poke()

    # -- the log path -----------------------------------------------------------------------------
    def offer(self, entry: LogEntry) -> None:
        """The logs' subscriber: hand `entry` to the senders that want it. Returns at once, on any
        thread; never raises (it is on the path of every log line)."""
        if not self.senders:
            return
        if threading.get_ident() == self._thread:
            self._deliver(entry)
            return
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile: the device is stopping
                loop.call_soon_threadsafe(self._deliver, entry)

    def _deliver(self, entry: LogEntry) -> None:
        number = severity_number(entry.severity)
        for sender in self.senders:
            if number <= sender.threshold and (entry.kind == "audit" or not sender.audit_only):
                sender.offer(entry)

    def test(self, actor: str) -> None:
        """Generate a test message of every severity; each server gets those its threshold lets
        through (whatever its type: it is a test of the setup). Delivery is not awaited."""
        self.logs.audit(actor, "sent remote syslog test messages", "syslog")
        for entry in self.test_entries():
            for sender in self.senders:
                if severity_number(entry.severity) <= sender.threshold:
                    sender.offer(entry)

    async def test_servers(self, servers: list[ServerConfig], ca_ids: list[str], actor: str) -> list[dict[str, Any]]:
        """Test settings not saved yet: one connection to each server with the test messages."""
        self.logs.audit(actor, "tested remote syslog servers: " + ", ".join(s.where for s in servers), "syslog")
        entries = self.test_entries()

        async def one(server: ServerConfig) -> dict[str, Any]:
            wanted = [e for e in entries if severity_number(e.severity) <= server.threshold]
            error = await send_once(server, self.host, wanted, self.tls(ca_ids) if server.protocol == "TLS" else None)
            if error:
                self.logs.system(f"remote syslog test: {error}", "warning", "syslog")
            return {**server.shown(), "result": "failed" if error else "sent", "messages": len(wanted),
                    **({"message": error} if error else {})}

        return list(await asyncio.gather(*(one(server) for server in servers)))

    def test_entries(self) -> list[LogEntry]:
        now = self.clock.time()
        return [LogEntry("system", now, name.lower(), TEST_SOURCE,
                         f"Remote syslog test message from {self.host} (severity {name})") for name in SEVERITIES]

    def status(self) -> dict[str, Any]:
        return {"enabled": self.enabled, "servers": [s.shown() for s in self.servers]}

    def delivery(self) -> list[dict[str, Any]]:
        return [sender.status() for sender in self.senders]

    # -- the senders ------------------------------------------------------------------------------
    def _poke(self) -> None:
        if self._changed is not None:
            self._changed.set()

    async def run(self) -> None:
        self._loop, self._thread = asyncio.get_running_loop(), threading.get_ident()
        self._changed = asyncio.Event()
        self._changed.set()
        try:
            while True:
                await self._changed.wait()
                self._changed.clear()
                await self._apply()
        finally:
            await self._stop_senders()
            self._loop, self._thread, self._changed = None, 0, None

    async def _apply(self) -> None:
        wanted = (tuple(self.servers) if self.enabled else (), tuple(self.ca_certificates))
        if wanted == self._running:
            return
        await self._stop_senders()
        self._running = wanted
        servers, ca_ids = wanted
        for server in servers:
            sender = Sender(server, self.host, self.logs, self.tls(list(ca_ids)) if server.protocol == "TLS" else None,
                            self.backoff)
            task = asyncio.create_task(sender.run(), name=f"syslog {server.where}")
            task.add_done_callback(self._ended)
            self.senders.append(sender)
            self._tasks.append(task)

    async def _stop_senders(self) -> None:
        tasks, self._tasks, self.senders = self._tasks, [], []
        self._running = ((), self._running[1])
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _ended(self, task: asyncio.Task) -> None:
        if not task.cancelled() and task.exception() is not None:
            log.error("remote syslog: the sender of %s stopped: %r", task.get_name(), task.exception())


SYSLOG_SERVICE: Key[SyslogService] = Key("syslog")
