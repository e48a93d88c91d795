"""The composition root: reads a profile, builds the core and the feature services into a
`Device`, and returns a stopped device's data folder to factory state."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

from vigil.core.accounts import Accounts
from vigil.core.auth import Authenticator
from vigil.core.clock import OFFSET_KEY, Clock
from vigil.core.events import EventBus
from vigil.core.identity import Identity
from vigil.core.logs import Logs, SystemLogHandler
from vigil.core.params import ParamTree
from vigil.core.rules import RuleEngine
from vigil.core.schedules import Scheduler
from vigil.core.store import Store
from vigil.core.vault import SealError, Vault, is_sealed
from vigil.device import CERT_FILE, CERT_KEY_FILE, DB_FILE, IDENTITY_FILE, KEY_FILE, Device, Ports
from vigil.features import register_features
from vigil.features.certificates.const import CA_EXPORT_DIR
from vigil.features.system import register_platform
from vigil.features.system.param_groups import KEPT_ON_RESTORE
from vigil.footage import index
from vigil.http.ports import Listening
from vigil.profiles import load_profile
from vigil.rtsp.server import RtspServer

log = logging.getLogger("vigil.boot")


def build_device(profile_name: str, data: Path, ports: Ports | None = None, clock: Clock | None = None) -> Device:
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
    params = ParamTree(store, vault)
    accounts = Accounts(store, vault, logs, clock)
    realm = f"{profile.full_name.split()[0]}_{identity.serial}"
    events = EventBus(clock)
    ports = ports or Ports()
    device = Device(
        profile=profile,
        data=data,
        clock=clock,
        ports=ports,
        listening=Listening(params, logs, ports.host, ports.http, ports.https, ports.rtsp),
        identity=identity,
        store=store,
        vault=vault,
        logs=logs,
        params=params,
        accounts=accounts,
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
    rtsp = RtspServer(device.rtsp, device.listening, params, device.auth, logs, clock, ports.host)
    device.services.append(rtsp.serve)
    params.listeners.append(lambda changes, actor: _audit_params(logs, changes, actor))
    logs.system(f"{profile.full_name} started, serial {identity.serial}")
    return device


def _audit_params(logs: Logs, changes: list, actor: str) -> None:
    for change in changes:
        shown = "******" if change.secret else change.new
        logs.audit(actor, f"set root.{change.name}={shown}", "params")


def factory_reset(data: Path, hard: bool) -> None:
    """Return the data folder to factory state; a soft reset keeps the settings the manual lists.

    Runs while no device is open on `data`. The identity file and the footage index always stay.
    The device key is made anew, so a kept secret (the 802.1X and O3C passwords) is opened with
    the old key and sealed again under the new one; it is never written in clear.
    """
    data = Path(data)
    kept: list[tuple[str, str]] = []
    kept_kv: list[tuple[str, str]] = []
    previous = data / (DB_FILE + ".before-reset")  # still there: an earlier reset was cut off, start from it
    old_key = data / (KEY_FILE + ".before-reset")  # the key `previous` was sealed under
    if not previous.exists() and (data / KEY_FILE).exists():
        os.replace(data / KEY_FILE, old_key)
    source = previous if previous.exists() else data / DB_FILE
    if source.exists():
        store = Store(source)
        if not hard:
            kept = [(n, v) for n, v in store.query("SELECT name, value FROM params")
                    if any(n == k or (k.endswith(".") and n.startswith(k)) for k in KEPT_ON_RESTORE)]
            kept = _opened(kept, Vault(old_key.read_bytes()) if old_key.exists() else None)
            kept_kv = store.query("SELECT key, value FROM kv WHERE key=?", (OFFSET_KEY,))  # the system time
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # everything in the main file before it moves
        store.close()
        if source != previous:
            os.replace(source, previous)
    for name in (DB_FILE, DB_FILE + "-wal", DB_FILE + "-shm", KEY_FILE, CERT_FILE, CERT_KEY_FILE):
        (data / name).unlink(missing_ok=True)
    for child in data.iterdir():
        if child.is_dir() and (child.name.startswith("config") or child.name == CA_EXPORT_DIR):
            shutil.rmtree(child)
    store = Store(data / DB_FILE)
    if any(sealed for _n, _v, sealed in kept):
        vault = Vault.open(data / KEY_FILE)  # the new device key, made now
        kept = [(n, vault.seal(v) if sealed else v, sealed) for n, v, sealed in kept]
    with store.transaction() as db:
        db.executemany("INSERT INTO params(name, value) VALUES(?, ?)", [(n, v) for n, v, _sealed in kept])
        db.executemany("INSERT INTO kv(key, value) VALUES(?, ?)", kept_kv)
    if previous.exists():
        store.db.execute("ATTACH DATABASE ? AS previous", (str(previous),))
        with store.transaction() as db:
            # The footage index describes what is on the disks, which a reset leaves alone: it stays
            # too, so that the recordings play after a reset (an encrypted disk once mounted with its password).
            for table in index.TABLES:
                db.execute(f"INSERT INTO main.{table} SELECT * FROM previous.{table}")
        store.db.execute("DETACH DATABASE previous")
    store.close()
    previous.unlink(missing_ok=True)
    old_key.unlink(missing_ok=True)  # after `previous`: while that is there, a new reset needs this key


def _opened(rows: list[tuple[str, str]], vault: Vault | None) -> list[tuple[str, str, bool]]:
    """Kept parameter rows with their sealed values opened: (name, value, was sealed). A secret
    the old key cannot open is dropped, with a warning: it could not be used after the reset either."""
    out = []
    for name, value in rows:
        if not is_sealed(value):
            out.append((name, value, False))
            continue
        try:
            if vault is None:
                raise SealError("no device key")
            out.append((name, vault.unseal(value), True))
        except SealError:
            log.warning("root.%s cannot be decrypted and is not kept over the reset: set it again", name)
    return out
