"""Network shares (the manuals' "Network storage"): the shares an administrator adds, the one
bound to the NetworkShare volume, its connection, and the uploader that copies sealed footage to
it (how footage reaches a share is in network.py). Passwords are stored sealed by the vault.

A connection test sends the share's user name and password to the share's address, so what it
may use is limited (see `settings_to_test`): a stored share is tested as stored by any operator
(the Storage page's "Test connection"); other settings are an administrator's to test, and the
stored password goes only to the server it was stored for, never to an address, share or user
that a caller changed. Modifying a share keeps the same rule: a share whose address, share or user
changes needs its password given again (`settings_to_store`).

The share state the volumes read (`StorageService.shares`, `.bound`, `.share`) lives on the
service; the operations on it are here, as encryption's are in encryption.py.
"""

from __future__ import annotations

import asyncio
import functools
import json
import posixpath
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from vigil.features.storage import network
from vigil.features.storage.const import (
    ALREADY_BOUND,
    CONNECT_ERROR,
    INVALID_VALUE,
    KV_SHARES,
    MAX_SHARES,
    MODIFY_BOUND,
    NETWORK,
    NO_FREE_DISK,
    PROBE_TIMEOUT,
    REMOVE_BOUND,
    RENAME_EXISTS,
    SHARE_ID_EXISTS,
    SHARE_NAME_EXISTS,
    TOO_MANY_SHARES,
    UNBIND_MOUNTED,
)
from vigil.features.storage.network import MASKED
from vigil.features.storage.tool_jobs import Job, StorageError
from vigil.footage import index

if TYPE_CHECKING:
    from vigil.features.storage.service import StorageService

CONNECTION_SETTINGS = ("address", "share", "user", "password", "version")  # what a test may change


# Share I/O waits on servers that may never answer, and a thread whose wait timed out runs on
# until the server gives up: these threads are the shares' own, so that tests of dead servers
# queue behind each other instead of taking every thread the rest of the device shares
# (asyncio.to_thread's default pool).
SHARE_THREADS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="vigil-share")


async def in_thread(seconds: float, func, *args):
    """Run blocking `func` in a share thread for at most `seconds` (TimeoutError after that; the
    thread is left to finish). asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a
    cancellation that races its timeout, and a service that ignores its cancellation never stops."""
    async with asyncio.timeout(seconds):
        return await asyncio.get_running_loop().run_in_executor(SHARE_THREADS, functools.partial(func, *args))


@dataclass
class ShareState:
    """The bound share's connection and what the uploader knows."""

    client: network.SmbShare | None = None
    online: bool = False
    error: str = ""
    dialect: str = ""
    next_try: float = 0.0
    remote: dict[str, int] = field(default_factory=dict)  # what the device folder holds: rel -> bytes
    uploaded: dict[int, str] = field(default_factory=dict)  # segment id -> rel, copied this session
    total: int = 0
    free: int | None = None
    uploaded_bytes: int = 0
    upload_seconds: float = 0.0
    last_lag: float | None = None  # seconds from a segment's end to its copy on the share
    lags: list[float] = field(default_factory=list)


def _server(config: network.ShareConfig) -> tuple[str, int, str, str]:
    """Where a share's credentials go: host, port, share and user (SMB names ignore case)."""
    return config.host.lower(), config.port, config.share.lower(), config.user.lower()


def settings_to_test(stored: network.ShareConfig | None, given: dict[str, str]) -> network.ShareConfig:
    """The settings a connection test uses: a stored share's (None: a new share's) with the
    `given` ones over them. The stored password is kept only while the address, share and user
    are the stored ones; anywhere else the test uses the password given with the test, or none."""
    base = stored or network.ShareConfig("", "", "", "")
    merged = asdict(base) | {k: v for k, v in given.items() if k in CONNECTION_SETTINGS or k in ("id", "nicename")}
    password = given.get("password")
    config = network.ShareConfig(**(merged | {"password": "" if password in (None, MASKED) else password}))
    config.nicename = config.nicename or "test"
    config.version = config.version or "auto"
    if stored is not None and password in (None, MASKED) and _server(config) == _server(stored):
        config.password = stored.password
    return config


def settings_to_store(stored: network.ShareConfig, given: dict[str, str]) -> network.ShareConfig:
    """A stored share's settings with the `given` changes over them (a password not given, or
    given masked, is the stored one). The stored password stays only with the server, share and
    user it was stored for: a change of any of them without the password is refused, so an
    administrator's typing mistake or another administrator cannot redirect it elsewhere."""
    password = given.get("password")
    keep = password in (None, MASKED)
    config = network.ShareConfig(**(asdict(stored) | given | {"password": stored.password if keep else password}))
    if keep and stored.password and _server(config) != _server(stored):
        raise StorageError("The address, share or user changes: give the share's password again "
                           "(the stored one goes only to the server it was stored for)", INVALID_VALUE)
    return config


def changes_connection(given: dict[str, str]) -> bool:
    """Whether a test request changes anything of where and how a stored share is reached."""
    return any(key in given for key in CONNECTION_SETTINGS)


class NetworkShares:
    """The operations on the service's shares: settings, binding, the test, the connection and
    the uploader."""

    def __init__(self, service: StorageService) -> None:
        self.s = service
        self.lock = asyncio.Lock()  # one talker on the share connection at a time

    # -- stored settings (passwords sealed) ----------------------------------------------------
    def load(self) -> None:
        s = self.s
        raw = json.loads(s.store.get_kv(KV_SHARES) or "{}")
        for body in raw.get("shares", []):
            secret = body.pop("secret", "")
            body["password"] = s.vault.decrypt(bytes.fromhex(secret)) if secret else ""
            config = network.ShareConfig(**body)
            s.shares[config.id] = config
        s.bound = raw.get("bound") if raw.get("bound") in s.shares else None

    def save(self) -> None:
        s = self.s
        shares = []
        for config in s.shares.values():
            body = config.public()
            del body["password"]
            body["secret"] = s.vault.encrypt(config.password).hex() if config.password else ""
            shares.append(body)
        s.store.set_kv(KV_SHARES, json.dumps({"shares": shares, "bound": s.bound}))

    def get(self, share_id: str) -> network.ShareConfig:
        config = self.s.shares.get(share_id)
        if config is None:
            raise StorageError(f"There is no network share {share_id!r}", INVALID_VALUE)
        return config

    # -- add, modify, remove -----------------------------------------------------------------------
    async def add(self, config: network.ShareConfig, actor: str, test: bool = True) -> network.ShareConfig:
        s = self.s
        if not config.id:
            config.id = f"share-{len(s.shares) + 1}"
            while config.id in s.shares:
                config.id += "x"
        network.check_config(config)
        if config.id in s.shares:
            raise StorageError(f"A share with id {config.id!r} exists", SHARE_ID_EXISTS)
        if any(other.nicename == config.nicename for other in s.shares.values()):
            raise StorageError(f"A share named {config.nicename!r} exists", SHARE_NAME_EXISTS)
        if len(s.shares) >= MAX_SHARES:
            raise StorageError(f"At most {MAX_SHARES} network shares can be added", TOO_MANY_SHARES)
        if test:
            await self._bounded_test(config, lambda p, t: None)
        s.shares[config.id] = config
        self.save()
        s.logs.audit(actor, f"added network share {config.id} //{config.address}/{config.share}"
                     + ("" if test else " without testing"), "storage")
        return config

    def modify(self, share_id: str, changes: dict[str, str], actor: str) -> network.ShareConfig:
        s = self.s
        config = self.get(share_id)
        if set(changes) - {"nicename"} and share_id == s.bound:
            raise StorageError("The network share is bound and cannot be modified: unbind it first", MODIFY_BOUND)
        if "nicename" in changes and any(other.nicename == changes["nicename"] and other.id != share_id
                                         for other in s.shares.values()):
            raise StorageError(f"A share named {changes['nicename']!r} exists", RENAME_EXISTS)
        updated = network.check_config(settings_to_store(config, changes))
        s.shares[share_id] = updated
        self.save()
        s.logs.audit(actor, f"modified network share {share_id}", "storage")
        return updated

    def remove(self, share_ids: list[str], actor: str) -> None:
        """Remove the shares, all or none: each is checked before any is removed."""
        s = self.s
        share_ids = list(dict.fromkeys(share_ids))
        for share_id in share_ids:
            self.get(share_id)
            if share_id == s.bound:
                raise StorageError(f"The network share {share_id} is bound and cannot be removed: unbind it first",
                                   REMOVE_BOUND)
        for share_id in share_ids:
            del s.shares[share_id]
        self.save()
        for share_id in share_ids:
            s.logs.audit(actor, f"removed network share {share_id}", "storage")

    # -- bind, unbind ---------------------------------------------------------------------------------
    def bind(self, share_id: str, actor: str, automount: bool = True) -> str:
        s = self.s
        self.get(share_id)
        if s.bound == share_id:
            raise StorageError("The network share is already bound to a disk", ALREADY_BOUND)
        if s.bound is not None or NETWORK not in s.volumes:
            raise StorageError("No available disk: another network share is bound", NO_FREE_DISK)
        s.bound = share_id
        self.save()
        vol = s.volumes[NETWORK]
        vol.formatted_on = share_id
        vol.mounted = automount and s.params.get(f"{vol.group}.Enabled") == "yes"
        s.share = ShareState()
        s.logs.audit(actor, f"bound network share {share_id} to {NETWORK}", "storage")
        s._wake.set()  # the run loop connects it now
        s.refresh()
        return NETWORK

    async def unbind(self, share_id: str, actor: str) -> None:
        s = self.s
        self.get(share_id)
        if s.bound != share_id:
            raise StorageError("The network share is not bound", INVALID_VALUE)
        if s.volumes[NETWORK].mounted:
            raise StorageError("The network share is mounted and cannot be unbound: unmount it first", UNBIND_MOUNTED)
        await self.disconnect()
        s.bound = None
        self.save()
        s.logs.audit(actor, f"unbound network share {share_id}", "storage")
        s.refresh()

    # -- connection test -------------------------------------------------------------------------------
    def test(self, config: network.ShareConfig, actor: str) -> Job:
        """The manuals' "Test connection" as a job. `config` is what `settings_to_test` made."""
        config = network.ShareConfig(**{**config.__dict__, "id": config.id or "test",
                                        "nicename": config.nicename or "test"})
        network.check_config(config)

        async def work(job: Job) -> str:
            return await self._bounded_test(config, job.step)
        return self.s.jobs.start(config.id, "test", actor, work,
                                 f"test network share //{config.address}/{config.share}")

    async def _bounded_test(self, config: network.ShareConfig, progress) -> str:
        try:
            return await in_thread(PROBE_TIMEOUT * 3, network.test_share, config, self.s.folder, progress)
        except TimeoutError:
            raise StorageError(f"The server at {config.address} does not answer", CONNECT_ERROR) from None

    # -- the bound share's connection ------------------------------------------------------------------
    async def connect(self, raise_errors: bool = False) -> bool:
        s = self.s
        config = s.share_config()
        if config is None:
            return False
        async with self.lock:
            if s.share.client is not None and s.share.client.connected:
                return True
            client = network.SmbShare(config, s.folder)
            try:
                await in_thread(PROBE_TIMEOUT, client.connect)
                remote = await in_thread(PROBE_TIMEOUT * 3, client.listing)
                total, free = await in_thread(PROBE_TIMEOUT, client.space)
            except Exception as err:  # noqa: BLE001 - any failure: offline
                client.close()
                s.share.online = False
                s.share.error = str(err)
                if raise_errors:
                    raise err if isinstance(err, StorageError) else StorageError(str(err), CONNECT_ERROR) from None
                return False
            s.share.client, s.share.online, s.share.error = client, True, ""
            s.share.dialect, s.share.remote = client.dialect, remote
            s.share.total, s.share.free = total, free
            self._match_uploaded()
        s.logs.system(f"network share {config.id} (//{config.address}/{config.share}) reachable, SMB "
                      f"{client.dialect}")
        s.refresh()
        return True

    async def disconnect(self) -> None:
        # Without the lock: closing is what ends a copy that hangs on a share that went away.
        s = self.s
        client, s.share.client = s.share.client, None
        s.share.online = False
        if client is not None:
            with suppress(TimeoutError):
                await in_thread(PROBE_TIMEOUT, client.close)

    # -- the uploader ------------------------------------------------------------------------------------
    def _spool_rel(self, path: str) -> str | None:
        try:
            rel = Path(path).resolve().relative_to(self.s.volumes[NETWORK].directory.resolve())
        except ValueError:
            return None
        return posixpath.join(*rel.parts)

    def _match_uploaded(self) -> None:
        """After (re)connecting: the segments the share already holds, whole."""
        share = self.s.share
        share.uploaded = {}
        for seg_id, path, size in self._segments(sealed_only=True):
            rel = self._spool_rel(path)
            if rel is not None and share.remote.get(rel) == size:
                share.uploaded[seg_id] = rel

    def _segments(self, sealed_only: bool) -> list[tuple[int, str, int]]:
        return index.segments_on(self.s.store, (NETWORK,), sealed_only)

    async def sync(self) -> int:
        """One round of the uploader: copy sealed segments the share lacks, delete from the share
        what retention or a user deleted here. Returns the number of files copied."""
        s = self.s
        vol = s.volumes.get(NETWORK)
        client = s.share.client
        if vol is None or client is None or not s.share.online or not vol.mounted or s.locked(vol):
            return 0
        share = s.share
        copied = 0
        async with self.lock:
            rows = self._segments(sealed_only=True)
            known = {seg_id for seg_id, _p, _s in rows}
            pending = [r for r in rows if r[0] not in share.uploaded]
            for seg_id, path, size in pending:
                rel = self._spool_rel(path)
                if rel is None or not Path(path).exists():
                    continue
                began = time.perf_counter()
                # A server that stops answering (rather than closing) must not hold the copies for ever.
                await in_thread(PROBE_TIMEOUT + size / 2e6, client.put, Path(path), rel)
                share.upload_seconds += time.perf_counter() - began
                share.uploaded[seg_id] = rel
                share.remote[rel] = size
                share.uploaded_bytes += size
                stop = index.segment_stop(s.store, seg_id)
                if stop is not None and len(pending) == 1:  # steady state, not a backlog after an outage
                    share.last_lag = max(0.0, s.clock.time() - stop)
                    share.lags = (share.lags + [share.last_lag])[-100:]
                copied += 1
            for seg_id in [k for k in share.uploaded if k not in known]:
                rel = share.uploaded.pop(seg_id)
                await in_thread(PROBE_TIMEOUT, client.remove, rel)
                share.remote.pop(rel, None)
            if copied:
                total, free = await in_thread(PROBE_TIMEOUT, client.space)
                share.total, share.free = total, free
        return copied

    async def round(self) -> None:
        """The run loop's turn: connect the bound, mounted share (retrying each second), probe
        it and copy; a share that stops answering is lost until it answers again."""
        s = self.s
        vol = s.volumes.get(NETWORK)
        if vol is None or s.share_config() is None or not vol.mounted:
            if s.share.client is not None:
                await self.disconnect()
            return
        if s.share.client is None:
            if time.monotonic() < s.share.next_try:
                return
            if not await self.connect():
                s.share.next_try = time.monotonic() + 1.0
                s.refresh()  # the buffer may have filled up meanwhile
            return
        try:
            await in_thread(PROBE_TIMEOUT, s.share.client.probe)
            await self.sync()
        except Exception as err:  # noqa: BLE001 - whatever broke, the share is lost until it answers again
            config = s.share_config()
            s.logs.system(f"network share {config.id if config else ''} lost: {err}", "warning")
            s.share.error = str(err) or type(err).__name__
            await self.disconnect()
            s.refresh()
