"""Encryption of the onboard volume: the manual's tools (Encrypt, Decrypt, Change password,
"Encrypt the disk" when the RAID level changes), VAPIX disk encryption
(`disks/properties/enablediskencryption.cgi`, `disablediskencryption.cgi`,
`changediskpassphrase.cgi`) and mounting with the password. The footage cipher and the key
file are in vigil.footage.atrest.

As VAPIX does, two things are kept apart: whether encryption is *enabled* for a volume (a
setting: the next format encrypts) and whether its content *is* encrypted (it holds a key
file). Enabling makes the key at once and keeps it pending beside the footage, wrapped by the
passphrase, and by the device key so that the format may come after a restart; the format
erases the volume and puts the pending key in force. Disabling turns the setting off: the next
format leaves the volume plain. The manual's Encrypt and Decrypt do both steps in one job.

Whether a volume is encrypted is read from the volume itself, so it survives a factory
default; an encrypted volume is never mounted at start: it waits, locked, for its password,
and unmounting locks it again. Formatting a locked volume is the way back to a plain one when
its password is lost.
"""

from __future__ import annotations

import asyncio
import json
import os
from typing import TYPE_CHECKING

from vigil.core.atomic import fsync_dir
from vigil.features.storage import tools
from vigil.features.storage.const import (
    ALREADY_ENABLED,
    INVALID_NEW_PASSPHRASE,
    INVALID_PASSPHRASE,
    MOUNTED,
    NOT_SUPPORTED,
    UNMOUNTED,
    WRONG_PASSPHRASE,
)
from vigil.features.storage.tool_jobs import Job, StorageError
from vigil.footage import atrest
from vigil.footage.check import Progress
from vigil.footage.writer import recover

if TYPE_CHECKING:
    from vigil.features.storage.service import StorageService
    from vigil.features.storage.volumes import Volume

PENDING_KEY = ".vigil-volume-key.pending"
KV_PENDING = "storage.pendingkeys"  # volume id -> its pending data key, under the device key


class Encryption:
    def __init__(self, service: StorageService) -> None:
        self.s = service

    # -- state ---------------------------------------------------------------------------------
    def load(self, vol: Volume, saved: dict) -> None:
        vol.encrypted = atrest.is_encrypted(vol.directory)
        vol.encryption_enabled = bool(saved.get("encryption", vol.encrypted))
        if vol.encrypted:
            atrest.keyring.set(vol.directory, None)  # locked until its password is given

    def unlocked(self, vol: Volume) -> bool:
        return vol.encrypted and not atrest.keyring.locked(vol.directory)

    def locked(self, vol: Volume) -> bool:
        """Encrypted, and its password not given since the start (or since it was unmounted)."""
        return vol.encrypted and atrest.keyring.locked(vol.directory)

    def status(self, vol: Volume) -> str | None:
        """The list.cgi status of an unmounted volume that encryption explains, or None."""
        if vol.mounted:
            return None
        if vol.encrypted and not vol.encryption_enabled:
            return "no passphrase"  # encrypted, but encryption is off: format it before use
        if vol.encryption_enabled and not vol.encrypted:
            return "not encrypted"  # encryption is on: format and mount it before use
        if vol.encrypted and vol.wrong_password:
            return "wrong passphrase"
        return None

    def _pending(self) -> dict[str, str]:
        return json.loads(self.s.store.get_kv(KV_PENDING) or "{}")

    def _set_pending(self, vol: Volume, key: bytes | None) -> None:
        pending = self._pending()
        if key is None:
            pending.pop(vol.id, None)
            (vol.directory / PENDING_KEY).unlink(missing_ok=True)
        else:
            pending[vol.id] = self.s.vault.encrypt(key.hex()).hex()
        self.s.store.set_kv(KV_PENDING, json.dumps(pending))

    def _pending_key(self, vol: Volume) -> bytes | None:
        secret = self._pending().get(vol.id)
        if secret is None or not (vol.directory / PENDING_KEY).exists():
            return None
        return bytes.fromhex(self.s.vault.decrypt(bytes.fromhex(secret)))

    # -- checks --------------------------------------------------------------------------------
    def volume(self, disk_id: str) -> Volume:
        vol = self.s.volume(disk_id)
        if vol.kind != "local":
            raise StorageError(f"{vol.id} does not support disk encryption: only the onboard storage does",
                               NOT_SUPPORTED)
        return vol

    @staticmethod
    def check_new(password: str | None, code: int = INVALID_PASSPHRASE) -> str:
        problem = atrest.password_problem(password)
        if problem:
            raise StorageError(f"Encryption password refused: {problem}", code)
        assert password is not None
        return password

    # -- erasing -------------------------------------------------------------------------------
    def erase(self, vol: Volume, progress: Progress, password: str | None = None) -> int:
        """Erase the volume's footage (blocking: call it in a thread). What the volume holds
        afterwards follows its encryption setting: a new key under `password` if given; else,
        with encryption enabled, the pending key or the key it has (when unlocked); else it is
        plain. Returns the number of recordings erased."""
        pending = self._pending_key(vol)
        keep_current = password is None and vol.encryption_enabled and self.unlocked(vol) and pending is None
        keep = (PENDING_KEY, atrest.KEY_FILE) if keep_current else (PENDING_KEY,)
        recordings, _ = tools.erase(self.s.store, vol.directory, self.s.aliases(vol.id), progress, keep)
        if password is not None:
            atrest.keyring.set(vol.directory, atrest.create_key(vol.directory, password))
            vol.encrypted = vol.encryption_enabled = True
            self._set_pending(vol, None)
        elif vol.encryption_enabled and pending is not None:
            os.replace(vol.directory / PENDING_KEY, vol.directory / atrest.KEY_FILE)
            fsync_dir(vol.directory)
            atrest.keyring.set(vol.directory, pending)
            vol.encrypted = True
            self._set_pending(vol, None)
        elif not keep_current:
            if vol.encryption_enabled:
                self.s.logs.system(f"{vol.id} was erased while locked: it is plain now and encryption is off",
                                   "warning")
            self._make_plain(vol)
        self.s.save()
        return recordings

    def _make_plain(self, vol: Volume) -> None:
        (vol.directory / atrest.KEY_FILE).unlink(missing_ok=True)
        self._set_pending(vol, None)
        atrest.keyring.forget(vol.directory)
        vol.encrypted = vol.encryption_enabled = False
        vol.wrong_password = False

    # -- unlocking -----------------------------------------------------------------------------
    async def unlock(self, vol: Volume, password: str | None, job: Job | None = None) -> None:
        """Put the volume's data key (from its password; scrypt, so in a thread) in the
        keyring, then recover footage written before an unclean stop, which waited for it."""
        if not password:
            raise StorageError(f"{vol.id} is encrypted: mounting it needs its password", INVALID_PASSPHRASE)
        if job is not None:
            job.step(10, "checking the password")
        try:
            key = await asyncio.to_thread(atrest.unlock, vol.directory, password)
        except atrest.WrongPassword:
            vol.wrong_password = True
            raise StorageError(f"Wrong password for {vol.id}", WRONG_PASSPHRASE) from None
        except (OSError, ValueError, KeyError) as err:
            raise StorageError(f"The key of {vol.id} cannot be read: {err}", 10) from None
        vol.wrong_password = False
        atrest.keyring.set(vol.directory, key)
        report = await asyncio.to_thread(recover, self.s.store, self.s.clock.time(), vol.directory)
        if report.sealed or report.missing:
            self.s.logs.system(f"{vol.id}: recovered {report.sealed} segments written before the stop "
                               f"({report.indexed} fragments indexed, {report.truncated} bytes truncated)", "warning")

    def lock(self, vol: Volume) -> None:
        if vol.encrypted:
            atrest.keyring.set(vol.directory, None)  # its footage is unreadable again

    # -- VAPIX: the setting --------------------------------------------------------------------
    async def enable(self, disk_id: str, passphrase: str | None, actor: str) -> None:
        """enablediskencryption.cgi: on an unmounted volume; the next format encrypts it."""
        vol = self.volume(disk_id)
        if vol.encryption_enabled:
            raise StorageError(f"Encryption is already enabled on {vol.id}", ALREADY_ENABLED)
        if vol.mounted:
            raise StorageError(f"{vol.id} is mounted: encryption can only be enabled when it is unmounted", MOUNTED)
        password = self.check_new(passphrase)
        key = await asyncio.to_thread(atrest.create_key, vol.directory, password, PENDING_KEY)
        self._set_pending(vol, key)
        vol.encryption_enabled = True
        self.s.save()
        self.s.logs.audit(actor, f"enabled disk encryption of {vol.id} (takes effect when it is formatted)", "storage")
        self.s.refresh()

    def disable(self, disk_id: str, actor: str) -> None:
        """disablediskencryption.cgi: on an unmounted volume; the next format leaves it plain."""
        vol = self.volume(disk_id)
        if vol.mounted:
            raise StorageError(f"{vol.id} is mounted: encryption can only be disabled when it is unmounted", MOUNTED)
        self._set_pending(vol, None)
        vol.encryption_enabled = False
        self.s.save()
        self.s.logs.audit(actor, f"disabled disk encryption of {vol.id} (takes effect when it is formatted)",
                          "storage")
        self.s.refresh()

    # -- the manual's tools --------------------------------------------------------------------
    def encrypt(self, disk_id: str, password: str | None, actor: str) -> Job:
        """Encrypt: erases every file of the volume, then encrypts what is stored."""
        vol = self.volume(disk_id)
        self.s.require_present(vol)
        self.s.refuse_if_write_protected(vol, "encrypt")
        if vol.encrypted and vol.encryption_enabled:
            raise StorageError(f"{vol.id} is already encrypted (use Change password)", ALREADY_ENABLED)
        new = self.check_new(password)

        async def work(job: Job) -> str:
            async with self.s.held(vol, "encrypt"):
                vol.mounted = False
                recordings = await asyncio.to_thread(self.erase, vol, lambda p, t: job.step(p * 0.9, t), new)
                self.s.mount_local(vol, actor)
            return f"{vol.id} encrypted: {recordings} recordings erased; recording resumed"
        return self.s.jobs.start(vol.id, "encrypt", actor, work, f"encrypt {vol.id}")

    def decrypt(self, disk_id: str, password: str | None, actor: str) -> Job:
        """Decrypt: erases every file of the volume, which is plain from then on. The password
        is asked for, so that nobody wipes an encrypted disk without it."""
        vol = self.volume(disk_id)
        self.s.require_present(vol)
        self.s.refuse_if_write_protected(vol, "decrypt")
        if not vol.encrypted:
            raise StorageError(f"{vol.id} is not encrypted", NOT_SUPPORTED)
        if not password:
            raise StorageError(f"Decrypting {vol.id} needs its password", INVALID_PASSPHRASE)

        async def work(job: Job) -> str:
            await self.unlock(vol, password, job)
            async with self.s.held(vol, "decrypt"):
                vol.mounted = False
                vol.encryption_enabled = False
                self._set_pending(vol, None)
                recordings = await asyncio.to_thread(self.erase, vol, lambda p, t: job.step(20 + p * 0.75, t))
                self.s.mount_local(vol, actor)
            return f"{vol.id} decrypted: {recordings} recordings erased; recording resumed"
        return self.s.jobs.start(vol.id, "decrypt", actor, work, f"decrypt {vol.id}")

    def change_password(self, disk_id: str, old: str | None, new: str | None, actor: str) -> Job:
        """Change password: the volume's key is wrapped anew; nothing is rewritten and
        recordings go on. The volume must be mounted (VAPIX changediskpassphrase.cgi)."""
        vol = self.volume(disk_id)
        if not vol.encrypted:
            raise StorageError(f"{vol.id} is not encrypted", NOT_SUPPORTED)
        if not vol.mounted:
            raise StorageError(f"{vol.id} is unmounted: the password can only be changed when it is mounted",
                               UNMOUNTED)
        if not old:
            raise StorageError("Changing the password needs the current one", WRONG_PASSPHRASE)
        fresh = self.check_new(new, INVALID_NEW_PASSPHRASE)

        async def work(job: Job) -> str:
            job.step(10, "checking the password")
            try:
                await asyncio.to_thread(atrest.change_password, vol.directory, old, fresh)
            except atrest.WrongPassword:
                raise StorageError(f"Wrong password for {vol.id}", WRONG_PASSPHRASE) from None
            return f"The encryption password of {vol.id} is changed"
        return self.s.jobs.start(vol.id, "changepassword", actor, work, f"change the encryption password of {vol.id}")
