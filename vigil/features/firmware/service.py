"""The device's software: which release runs, upgrading to a signed one in the other slot, the
trial that follows (health check, automatic commit, the rollback timer) and commit, rollback,
purge. The slots themselves are vigil/release/slots.py; booting them vigil/release/launcher.py."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from vigil import __version__
from vigil.core.archive import ArchiveError, extract
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.features.firmware.const import AUTO_COMMIT, BUSY, FACTORY_MODES, NOT_FOUND, PURGE_UNCOMMITTED
from vigil.release import package
from vigil.release.launcher import ENV_SLOT
from vigil.release.package import Manifest, PackageError
from vigil.release.slots import DEFAULT_ROLLBACK_MINUTES, INCOMING, Slots, checkpoint

BUILT_IN_KEYS = Path(package.__file__).parent / "keys"  # the release keys this program trusts


class FirmwareError(Exception):
    """A refused firmware request, with the firmware management API's code."""

    def __init__(self, code: int, message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class UpgradeOptions:
    factory_default: str = "none"
    auto_commit: str = "started"  # never | boot | started
    rollback_minutes: int | None = None  # None: never

    @classmethod
    def parse(cls, factory: str = "none", auto_commit: str = "default", auto_rollback: str = "default") -> UpgradeOptions:
        """The upgrade's parameters as the API gives them, defaults resolved as vapix.md §8 says;
        ValueError says which one is wrong."""
        if factory not in FACTORY_MODES:
            raise ValueError(f"factoryDefaultMode must be one of {', '.join(FACTORY_MODES)}")
        if auto_commit not in AUTO_COMMIT:
            raise ValueError(f"autoCommit must be one of {', '.join(AUTO_COMMIT)}")
        if auto_rollback not in ("never", "default") and not (auto_rollback.isdigit() and 0 < int(auto_rollback) <= 100000):
            raise ValueError("autoRollback must be never, default or a number of minutes (1-100000)")
        both_default = auto_commit == "default" and auto_rollback == "default"
        if auto_commit == "default":
            auto_commit = "never" if not both_default else ("boot" if factory != "none" else "started")
        if auto_rollback == "default":
            minutes = DEFAULT_ROLLBACK_MINUTES if both_default else None
        else:
            minutes = None if auto_rollback == "never" else int(auto_rollback)
        return cls(factory, auto_commit, minutes)


def iso(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


class Firmware:
    def __init__(self, data: Path, profile: str, part: str, logs: Logs, trusted: Callable[[], list[bytes]],
                 request_stop: Callable[[str], None], health: Callable[[], Awaitable[str | None]]) -> None:
        probe = Slots(data)
        state = probe.load()
        self.slot = os.environ.get(ENV_SLOT) or state["active"]  # the slot this program runs from
        # Running the installed program: this is its version (for a state file made now).
        self.slots = Slots(data, __version__ if probe.slot_path(state, self.slot) is None else None)
        self.profile = profile
        self.part = part
        self.logs = logs
        self.trusted = trusted
        self.request_stop = request_stop
        self.health = health  # None when the device is healthy, else why not
        self.busy = False
        self.changed = asyncio.Event()  # a commit, rollback or stopAuto: the timer looks again
        self.progress = ""  # what an upgrade under way is doing, for the page

    # -- what runs -------------------------------------------------------------------
    def trial(self) -> dict[str, Any] | None:
        state = self.slots.load()
        return state["trial"] if state["active"] == self.slot else None

    def status(self) -> dict[str, Any]:
        state = self.slots.load()
        other = "b" if self.slot == "a" else "a"
        out: dict[str, Any] = {"activeFirmwareVersion": __version__, "activeFirmwarePart": self.part}
        inactive = state["slots"].get(other)
        trial = self.trial()
        if inactive is not None:
            out["inactiveFirmwareVersion"] = inactive["version"]
            out["isCommited"] = trial is None
            if state.get("lastUpgradeAt"):
                out["lastUpgradeAt"] = iso(state["lastUpgradeAt"])
        if trial is not None:
            out["isCommited"] = False
            if trial["autoCommit"] in ("boot", "started"):
                out["pendingCommit"] = "started"
            if trial["rollbackAt"] is not None:
                out["timeToRollback"] = max(0, int(trial["rollbackAt"] - time.time()))
        if state.get("lastRollback"):  # Vigil's addition: why the device went back, for the page
            last = state["lastRollback"]
            out["lastRollback"] = {"from": last["from"], "to": last["to"], "reason": last["reason"],
                                   "at": iso(last["at"])}
        return out

    # -- upgrading -------------------------------------------------------------------
    def incoming(self) -> Path:
        """Where the HTTP layer stores an upload (a fresh, empty folder's file)."""
        self.slots.staging()
        return self.slots.root / INCOMING / "package"

    @contextlib.contextmanager
    def exclusive(self):
        if self.busy:
            raise FirmwareError(BUSY)
        self.busy = True
        try:
            yield
        finally:
            self.busy, self.progress = False, ""

    def check_can_upgrade(self) -> None:
        if self.trial() is not None or not self.slots.load()["committed"]:
            raise FirmwareError(package.UNCOMMITTED, "commit or roll back the running software first")

    async def upgrade(self, upload: Path, options: UpgradeOptions, actor: str) -> str:
        """Install the uploaded release into the inactive slot and make it the one the next boot
        tries; its version. The caller has the device reboot once it has answered."""
        self.check_can_upgrade()
        self.progress = "verifying"
        try:
            manifest, slot = await asyncio.to_thread(self._install, upload, options)
        except PackageError as err:
            self.logs.system(f"software upgrade refused: {err.message}", "warning", "maintenance")
            self.logs.audit(actor, f"software upgrade refused: {err.message[:200]}", "maintenance")
            raise FirmwareError(err.code, err.message) from None
        finally:
            shutil.rmtree(self.slots.root / INCOMING, ignore_errors=True)
        self.slots.begin_trial(slot, options.auto_commit, options.rollback_minutes, options.factory_default,
                               manifest.revokes, time.time())
        rollback = "never" if options.rollback_minutes is None else f"{options.rollback_minutes} min"
        self.logs.system(f"software {manifest.version} installed in slot {slot}; restarting into it "
                         f"(auto commit {options.auto_commit}, auto rollback {rollback}, "
                         f"factory default {options.factory_default})", "notice", "maintenance")
        self.logs.audit(actor, f"upgraded the software to {manifest.version}", "maintenance")
        return manifest.version

    def _install(self, upload: Path, options: UpgradeOptions) -> tuple[Manifest, str]:
        checkpoint("received")
        self.slots.purge()  # as on Axis devices: an upgrade that starts purges the inactive slot
        staging = self.slots.root / "staging"
        try:
            names = extract(upload, staging)
        except ArchiveError as err:
            raise PackageError(package.INVALID, str(err)) from None
        checkpoint("unpacked")
        try:
            manifest = package.verify(staging, names, self.trusted())
            self._check_fits(manifest, options)
            self.progress = "installing"
            return manifest, self.slots.install(staging, manifest)
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    def _check_fits(self, manifest: Manifest, options: UpgradeOptions) -> None:
        if self.profile not in manifest.profiles:
            raise PackageError(package.WRONG_DEVICE, f"the release is for {', '.join(manifest.profiles)}, "
                               f"not for this {self.profile}")
        if manifest.version in (self.slots.load().get("revoked") or ()):
            raise PackageError(package.REVOKED, f"version {manifest.version} was revoked by a later release")
        if (package.version_key(manifest.version) < package.version_key(__version__)
                and options.factory_default != "hard"):
            raise PackageError(package.DOWNGRADE, f"{manifest.version} is older than {__version__}: a downgrade "
                               "needs factoryDefaultMode hard")

    # -- the trial -------------------------------------------------------------------
    def at_boot(self) -> None:
        """Once the device is built: say why it rolled back, if it did; commit a trial that
        asked to be committed at boot."""
        state = self.slots.load()
        last = state.get("lastRollback")
        if last and not last.get("reported"):
            self.logs.system(f"software rolled back from {last['from']} to {last['to']}: {last['reason']}",
                             "warning", "maintenance")
            last["reported"] = True
            self.slots.save(state)
        trial = self.trial()
        if trial is not None and trial["autoCommit"] == "boot":
            self.slots.commit()
            self.logs.system(f"software {__version__} committed at boot", "notice", "maintenance")

    async def run(self) -> None:
        """The health check of a trial boot (with its automatic commit), then its rollback timer."""
        if self.trial() is None:
            return
        why = await self.health()
        if why is not None:
            self._roll_back(f"the new software {__version__} failed its health check: {why}")
            return
        trial = self.slots.mark_healthy()
        if trial is not None and trial["autoCommit"] == "started":
            self.slots.commit()
            self.logs.system(f"software {__version__} started and passed its health check: committed",
                             "notice", "maintenance")
            return
        while (trial := self.trial()) is not None:
            self.changed.clear()
            if trial["rollbackAt"] is None:
                await self.changed.wait()
                continue
            left = trial["rollbackAt"] - time.time()
            if left <= 0:
                self._roll_back(f"{__version__} was not committed before its rollback time")
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), left)

    def _roll_back(self, reason: str) -> None:
        version = self.slots.rollback(reason, time.time())
        if version is None:
            self.logs.system(f"cannot roll back ({reason}): there is no other software", "error", "maintenance")
            return
        self.logs.system(f"rolling back to {version}: {reason}", "warning", "maintenance")
        self.request_stop("reboot")

    def commit(self, actor: str) -> str:
        if self.trial() is not None:
            self.slots.commit()
            self.logs.audit(actor, f"committed the software {__version__}", "maintenance")
            self.changed.set()
        return __version__

    def stop_auto_rollback(self, actor: str) -> None:
        if self.trial() is not None:
            self.slots.stop_auto_rollback()
            self.logs.audit(actor, "stopped the automatic rollback", "maintenance")
            self.changed.set()

    def rollback(self, actor: str) -> None:
        """Go back to the other slot's software (the caller reboots the device)."""
        state = self.slots.load()
        other = "b" if state["active"] == "a" else "a"
        if not self.slots.usable(state, other):
            raise FirmwareError(NOT_FOUND)
        version = self.slots.rollback(f"asked for by {actor}", time.time())
        self.logs.audit(actor, f"rolled the software back to {version}", "maintenance")
        self.changed.set()

    def purge(self, actor: str) -> None:
        if self.trial() is not None:
            raise FirmwareError(package.UNCOMMITTED, PURGE_UNCOMMITTED)
        self.slots.purge()
        self.logs.audit(actor, "purged the inactive software", "maintenance")

    def before_factory_default(self) -> None:
        """A factory default purges the inactive software; an uncommitted one without a pending
        automatic rollback is committed first (vapix.md §8)."""
        trial = self.trial()
        if trial is not None:
            if trial["rollbackAt"] is not None:
                return
            self.slots.commit()
        self.slots.purge()


FIRMWARE_SERVICE: Key[Firmware] = Key("firmware")
