"""The A/B slots in the data folder (`firmware/`) and what the device boots from.

`firmware/state.json` (written atomically) names two slots, "a" and "b", and which is active.
A slot is either the installed program (`path` null: the `vigil` the machine has, slot "a" at
first) or a folder `firmware/<slot>/` holding an unpacked, verified release payload. An upgrade
goes into the inactive slot and makes it the active one *on trial*; the trial ends with a commit
(by hand, or automatically at boot or once started, as asked), or with a rollback to the slot it
came from: by hand, when its rollback time passes, when it fails its health check, or when it
never became healthy (a boot-attempt counter, as RAUC keeps: a boot that was cut off, by a crash
or `kill -9`, counts).

Crash safety: every step is an atomic rename (the slot folder from `firmware/staging`, the
state file), so a process killed at any point leaves a state that names complete slots only;
`tidy` removes what a killed step left behind. `CHECKPOINT` is called between the steps: tests
replace it to kill the process there.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vigil.core.atomic import atomic_write
from vigil.release.package import PAYLOAD, Manifest

FOLDER = "firmware"
STATE = "state.json"
STAGING = "staging"
INCOMING = "incoming"
SLOTS = ("a", "b")
AUTO_COMMIT = ("never", "boot", "started")
DEFAULT_ROLLBACK_MINUTES = 10

STEPS = ("received", "unpacked", "purged", "installed", "switched", "trial-boot", "healthy")
CHECKPOINT: Callable[[str], None] = lambda step: None  # noqa: E731 - replaced by tests


def checkpoint(step: str) -> None:
    CHECKPOINT(step)


@dataclass(frozen=True)
class Boot:
    """What to start: the slot's name, its payload folder (None: the installed program), and
    whether it is on trial (the launcher then watches it and rolls back if it dies)."""

    slot: str
    path: Path | None
    version: str
    trial: bool


class Slots:
    """The slots of the data folder `data`. `installed_version`: the version of the installed
    program, which only the launcher knows for sure (it is that program); the device's own
    code, perhaps a slot's, gives None."""

    def __init__(self, data: Path, installed_version: str | None = None) -> None:
        self.root = Path(data) / FOLDER
        self.installed_version = installed_version or "0"

    # -- the state file --------------------------------------------------------------
    def load(self) -> dict[str, Any]:
        try:
            state = json.loads((self.root / STATE).read_text())
            if isinstance(state, dict) and state.get("active") in SLOTS:
                return state
        except (OSError, ValueError):
            pass
        return {"active": "a", "slots": {"a": {"version": self.installed_version, "path": None}, "b": None},
                "committed": True, "trial": None, "revoked": [], "lastUpgradeAt": None, "lastRollback": None}

    def save(self, state: dict[str, Any]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        atomic_write(self.root / STATE, json.dumps(state, indent=1).encode())

    def inactive(self, state: dict[str, Any]) -> str:
        return "b" if state["active"] == "a" else "a"

    def slot_path(self, state: dict[str, Any], name: str) -> Path | None:
        slot = state["slots"].get(name)
        if slot is None or slot.get("path") is None:
            return None
        return self.root / slot["path"]

    def usable(self, state: dict[str, Any], name: str) -> bool:
        slot = state["slots"].get(name)
        if slot is None:
            return False
        path = self.slot_path(state, name)
        return path is None or (path / "vigil" / "__init__.py").is_file()

    # -- installing ------------------------------------------------------------------
    def tidy(self) -> None:
        """Remove what an upgrade cut off left: uploads, a half-unpacked staging folder, and slot
        folders the state does not name."""
        state = self.load()
        for name in (INCOMING, STAGING):
            shutil.rmtree(self.root / name, ignore_errors=True)
        for name in SLOTS:
            folder = self.root / name
            slot = state["slots"].get(name)
            if folder.exists() and (slot is None or slot.get("path") != name):
                shutil.rmtree(folder, ignore_errors=True)

    def staging(self) -> Path:
        """A fresh folder for an upload and its unpacked contents."""
        for name in (INCOMING, STAGING):
            shutil.rmtree(self.root / name, ignore_errors=True)
        (self.root / INCOMING).mkdir(parents=True)
        return self.root / STAGING

    def install(self, unpacked: Path, manifest: Manifest) -> str:
        """Move a verified, unpacked package into the inactive slot (whatever it held before is
        purged first); the slot's name. The active slot is untouched."""
        state = self.load()
        target = self.inactive(state)
        state["slots"][target] = None
        self.save(state)
        checkpoint("purged")
        folder = self.root / target
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(unpacked / PAYLOAD, folder)
        shutil.rmtree(unpacked, ignore_errors=True)
        checkpoint("installed")
        state["slots"][target] = {"version": manifest.version, "path": target, "installedAt": time.time()}
        self.save(state)
        return target

    def begin_trial(self, slot: str, auto_commit: str, rollback_minutes: int | None, factory_default: str,
                    revokes: tuple[str, ...], now: float) -> None:
        """Make `slot` the active one, on trial: the next boot starts it."""
        state = self.load()
        state["trial"] = {"from": state["active"], "autoCommit": auto_commit, "attempts": 0, "healthy": False,
                          "rollbackAt": None if rollback_minutes is None else now + 60 * rollback_minutes,
                          "factoryDefault": factory_default}
        state["active"] = slot
        state["committed"] = False
        state["lastUpgradeAt"] = now
        state["revoked"] = sorted(set(state.get("revoked") or ()) | set(revokes))
        self.save(state)
        checkpoint("switched")

    # -- the trial -------------------------------------------------------------------
    def commit(self) -> None:
        state = self.load()
        state["committed"], state["trial"] = True, None
        self.save(state)

    def stop_auto_rollback(self) -> None:
        state = self.load()
        if state["trial"] is not None:
            state["trial"]["rollbackAt"] = None
            self.save(state)

    def mark_healthy(self) -> dict[str, Any] | None:
        """The running trial passed its health check; the trial (None when there is none)."""
        state = self.load()
        trial = state["trial"]
        if trial is not None:
            trial["healthy"] = True
            self.save(state)
            checkpoint("healthy")
        return trial

    def take_factory_default(self) -> str:
        """The factory default an upgrade asked for ("none", "soft", "hard"), once: it is done
        at the first boot of the new slot."""
        state = self.load()
        trial = state["trial"]
        mode = "none" if trial is None else trial.get("factoryDefault", "none")
        if mode != "none":
            trial["factoryDefault"] = "none"
            self.save(state)
        return mode

    def rollback(self, reason: str, now: float) -> str | None:
        """Make the other slot the active one again (committed); the version rolled back to, or
        None when there is no usable other slot."""
        state = self.load()
        trial = state["trial"]
        back = trial["from"] if trial is not None else self.inactive(state)
        if not self.usable(state, back):
            return None
        left = state["slots"][state["active"]]["version"] if state["slots"].get(state["active"]) else "?"
        state["lastRollback"] = {"from": left, "to": state["slots"][back]["version"], "reason": reason, "at": now}
        state["active"], state["committed"], state["trial"] = back, True, None
        self.save(state)
        return state["slots"][back]["version"]

    def purge(self) -> None:
        state = self.load()
        other = self.inactive(state)
        state["slots"][other] = None
        self.save(state)
        shutil.rmtree(self.root / other, ignore_errors=True)

    # -- booting ---------------------------------------------------------------------
    def boot(self, now: float, clean: bool = False) -> tuple[Boot, str | None]:
        """Decide what to start, counting the boot attempt of a trial; and why it rolled back
        first, if it did. `clean`: the device asked for this boot (a reboot keeps a trial that
        passed its health check). A trial whose last boot was cut off (a crash, `kill -9`, power
        lost) or never became healthy, whose rollback time passed while the device was off, or
        whose slot is gone is rolled back, as Axis devices do."""
        self.tidy()
        state = self.load()
        for slot in state["slots"].values():
            if slot is not None and slot.get("path") is None and slot["version"] != self.installed_version:
                slot["version"] = self.installed_version  # the installed program was updated (pip)
                self.save(state)
        reason = None
        trial = state["trial"]
        if trial is not None:
            if not self.usable(state, state["active"]):
                reason = "the new software's slot is damaged"
            elif trial["attempts"] >= 1 and not (clean and trial["healthy"]):
                reason = "the new software's boot was cut off before it was committed"
            elif trial["rollbackAt"] is not None and now >= trial["rollbackAt"]:
                reason = "it was not committed before its rollback time"
            if reason is not None and self.rollback(reason, now) is not None:
                state = self.load()
            else:
                reason = None
        if not self.usable(state, state["active"]):  # never boot a slot that is not there
            state["active"], state["slots"]["a"] = "a", {"version": self.installed_version, "path": None}
            state["committed"], state["trial"] = True, None
            self.save(state)
        trial = state["trial"]
        if trial is not None:
            trial["attempts"] = trial["attempts"] + 1
            trial["healthy"] = False  # each boot proves itself again
            self.save(state)
        active = state["active"]
        checkpoint("trial-boot" if trial is not None else "boot")
        return Boot(active, self.slot_path(state, active), state["slots"][active]["version"], trial is not None), reason
