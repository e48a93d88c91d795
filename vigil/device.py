"""The device context every feature sees: the `Device` (core services, router, typed feature
registry, where it listens), API discovery entries (`Api`) and `vigil run`'s ports (`Ports`).

Building a device from a profile is `vigil.boot`; nothing here imports a feature."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.accounts import Accounts
from vigil.core.auth import Authenticator
from vigil.core.clock import Clock
from vigil.core.events import EventBus
from vigil.core.identity import Identity
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.registry import Registry
from vigil.core.rules import RuleEngine
from vigil.core.schedules import Scheduler
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.http.ports import Listening
from vigil.http.routing import Router
from vigil.profiles import Profile
from vigil.rtsp.mounts import Mounts

DB_FILE = "vigil.db"
KEY_FILE = "device.key"
IDENTITY_FILE = "device-id"
CERT_FILE = "https-cert.pem"
CERT_KEY_FILE = "https-key.pem"


@dataclass(frozen=True)
class Api:
    """One entry of API discovery."""

    id: str
    version: str
    name: str
    status: str = "released"


@dataclass(frozen=True)
class Ports:
    """What `vigil run` was given: the address every listener binds, and the factory values of
    the HTTP, HTTPS and RTSP ports (the defaults of their parameters: a port the user set wins,
    see vigil/http/ports.py). Where the device listens now is `Device.listening`."""

    http: int = 8080
    https: int = 8443
    rtsp: int = 8554
    snmp: int = 161  # the SNMP agent's UDP port
    ssh: int = 22  # the SSH server's TCP port (when SSH is on)
    test_cameras: int = 0  # recorders: built-in test cameras to serve and record
    host: str = "0.0.0.0"


@dataclass
class Device:
    profile: Profile
    data: Path
    clock: Clock
    ports: Ports
    listening: Listening  # the ports the listeners serve on now, following their parameters
    identity: Identity
    store: Store
    vault: Vault
    logs: Logs
    params: ParamTree
    accounts: Accounts
    auth: Authenticator
    events: EventBus
    rules: RuleEngine
    schedules: Scheduler
    router: Router = field(default_factory=Router)
    rtsp: Mounts = field(default_factory=Mounts)  # what the RTSP server serves: features mount here
    apis: list[Api] = field(default_factory=list)
    # Feature services (e.g. `features[IO_SERVICE]`), and the hardware parts behind them, by typed key.
    features: Registry = field(default_factory=Registry)
    hardware: Registry = field(default_factory=Registry)
    # Long-running services (RTSP server, schedulers, ...) started with the listeners and
    # cancelled when the device stops. Each is a coroutine function taking no arguments.
    services: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Called once stored parameters are loaded, before the rules: features publish their
    # initial event states here.
    on_load: list[Callable[[], None]] = field(default_factory=list)
    # What the supervisor should do once the servers stop: "restart", "factory-default",
    # "hard-factory-default", "shutdown", or "reboot" (a fresh boot of the active software slot:
    # vigil/release/launcher.py).
    next_action: str = "shutdown"
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _log_handler: logging.Handler | None = None

    def request_stop(self, action: str) -> None:
        self.next_action = action
        self.logs.system(f"{action} requested")
        self.stopping.set()

    def close(self) -> None:
        self.logs.flush()
        if self._log_handler is not None:
            logging.getLogger("vigil").removeHandler(self._log_handler)
        self.store.close()
