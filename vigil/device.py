"""The composition root: reads a profile and builds the core and the feature services."""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.core.accounts import Accounts, OnvifAccounts
from vigil.core.auth import Authenticator
from vigil.core.clock import OFFSET_KEY, Clock
from vigil.core.events import EventBus
from vigil.core.identity import Identity
from vigil.core.logs import Logs, SystemLogHandler
from vigil.core.params import ParamTree
from vigil.core.rules import RuleEngine
from vigil.core.schedules import Scheduler
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.http.routing import Router
from vigil.profiles import Profile, load_profile

log = logging.getLogger("vigil.device")

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


@dataclass
class Ports:
    http: int = 8080
    https: int = 8443
    rtsp: int = 8554
    test_cameras: int = 0  # recorders: built-in test cameras to serve and record
    host: str = "0.0.0.0"  # the address every listener binds


@dataclass
class Device:
    profile: Profile
    data: Path
    clock: Clock
    ports: Ports
    identity: Identity
    store: Store
    vault: Vault
    logs: Logs
    params: ParamTree
    accounts: Accounts
    onvif_accounts: OnvifAccounts
    auth: Authenticator
    events: EventBus
    rules: RuleEngine
    schedules: Scheduler
    router: Router = field(default_factory=Router)
    apis: list[Api] = field(default_factory=list)
    # Feature services by name (e.g. "io"), and the simulated hardware behind them.
    features: dict[str, object] = field(default_factory=dict)
    hardware: dict[str, object] = field(default_factory=dict)
    # Long-running services (RTSP server, schedulers, ...) started with the listeners and
    # cancelled when the device stops. Each is a coroutine function taking no arguments.
    services: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # Called once stored parameters are loaded, before the rules: features publish their
    # initial event states here.
    on_load: list[Callable[[], None]] = field(default_factory=list)
    # What the supervisor should do once the servers stop: "restart", "factory-default",
    # "hard-factory-default" or "shutdown".
    next_action: str = "shutdown"
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    _log_handler: logging.Handler | None = None

    @property
    def https_port(self) -> int:
        return self.ports.https

    def request_stop(self, action: str) -> None:
        self.next_action = action
        self.logs.system(f"{action} requested")
        self.stopping.set()

    def close(self) -> None:
        self.logs.flush()
        if self._log_handler is not None:
            logging.getLogger("vigil").removeHandler(self._log_handler)
        self.store.close()


def build_device(profile_name: str, data: Path, ports: Ports | None = None, clock: Clock | None = None) -> Device:
    from vigil.features import register_features
    from vigil.features.system import register_platform

    data = Path(data)
    data.mkdir(parents=True, exist_ok=True)
    profile = load_profile(profile_name)
    injected = clock is not None
    clock = clock or Clock()
    identity = Identity.load(data / IDENTITY_FILE)
    store = Store(data / DB_FILE)
    if not injected:  # the device keeps the date and time it was set to (time.cgi setDateTime)
        clock.offset = float(store.get_kv(OFFSET_KEY) or 0.0)
    vault = Vault.open(data / KEY_FILE)
    logs = Logs(store, clock, host=f"vigil-{identity.serial.lower()}")
    params = ParamTree(store)
    accounts = Accounts(store, vault, logs, clock)
    realm = f"{profile.full_name.split()[0]}_{identity.serial}"
    events = EventBus(clock)
    device = Device(
        profile=profile,
        data=data,
        clock=clock,
        ports=ports or Ports(),
        identity=identity,
        store=store,
        vault=vault,
        logs=logs,
        params=params,
        accounts=accounts,
        onvif_accounts=OnvifAccounts(store, vault, logs),
        auth=Authenticator(accounts, params, vault, clock, logs, realm),
        events=events,
        rules=RuleEngine(store, events, clock, logs),
        schedules=Scheduler(store, events, clock, params, logs),
    )
    handler = SystemLogHandler(logs)
    logging.getLogger("vigil").addHandler(handler)
    device._log_handler = handler
    register_platform(device)
    register_features(device)
    params.load()
    for start in device.on_load:
        start()
    device.rules.load()
    device.schedules.load()
    device.services.append(device.schedules.run)
    params.listeners.append(lambda changes, actor: _audit_params(logs, changes, actor))
    logs.system(f"{profile.full_name} started, serial {identity.serial}")
    return device


def _audit_params(logs: Logs, changes: list, actor: str) -> None:
    for change in changes:
        shown = "******" if change.secret else change.new
        logs.audit(actor, f"set root.{change.name}={shown}", "params")


# The footage index describes what is on the disks, which a reset leaves alone: it stays too,
# so that the recordings play after a reset (an encrypted disk once it is mounted with its password).
FOOTAGE_INDEX = ("recordings", "segments", "fragments")


def factory_reset(data: Path, hard: bool) -> None:
    """Return the data folder to factory state; a soft reset keeps the settings the manual lists.

    Runs while no device is open on `data`. The identity file and the footage index always stay.
    """
    from vigil.features.system.param_groups import KEPT_ON_RESTORE

    data = Path(data)
    kept: list[tuple[str, str]] = []
    kept_kv: list[tuple[str, str]] = []
    previous = data / (DB_FILE + ".before-reset")  # still there: an earlier reset was cut off, start from it
    source = previous if previous.exists() else data / DB_FILE
    if source.exists():
        store = Store(source)
        if not hard:
            kept = [(n, v) for n, v in store.query("SELECT name, value FROM params")
                    if any(n == k or (k.endswith(".") and n.startswith(k)) for k in KEPT_ON_RESTORE)]
            kept_kv = store.query("SELECT key, value FROM kv WHERE key=?", (OFFSET_KEY,))  # the system time
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file before it moves
        store.close()
        if source != previous:
            os.replace(source, previous)
    for name in (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", KEY_FILE, CERT_FILE, CERT_KEY_FILE):
        (data / name).unlink(missing_ok=True)
    for child in data.iterdir():
        if child.is_dir() and child.name.startswith("config"):
            shutil.rmtree(child)
    store = Store(data / DB_FILE)
    with store.transaction() as db:
        db.executemany("INSERT INTO params(name, value) VALUES(?, ?)", kept)
        db.executemany("INSERT INTO kv(key, value) VALUES(?, ?)", kept_kv)
    if previous.exists():
        store.db.execute("ATTACH DATABASE ? AS previous", (str(previous),))
        with store.transaction() as db:
            for table in FOOTAGE_INDEX:
                db.execute(f"INSERT INTO main.{table} SELECT * FROM previous.{table}")
        store.db.execute("DETACH DATABASE previous")
    store.close()
    previous.unlink(missing_ok=True)
