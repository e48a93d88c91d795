"""`vigil run` begins here: pick the slot to boot (slots.py), then start the device from it.

- The installed program's slot, not on trial: the device runs in this very process.
- Another slot, not on trial: this process becomes it (exec of the same interpreter with the
  slot's payload first on the module path, `-P` so that the working folder cannot shadow it).
- A slot on trial: the device runs as a child this process watches. Should it die before it
  is committed (a crash, a failed health check), the launcher rolls back and starts the old
  slot; the child dies with the launcher (PR_SET_PDEATHSIG), so a `kill -9` of the launcher
  leaves no device behind, and the next start counts the cut-off boot attempt.

The device asks for a fresh boot (after an upgrade, a rollback) by exiting with `REBOOT` when
watched, or by exec'ing the launcher again (`relaunch`). No network, no pip: a slot's payload
is the package's source, run by the interpreter (and the dependencies) the launcher has.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from vigil import __version__
from vigil.core import crashes
from vigil.release.slots import Boot, Slots

ENV_SLOT = "VIGIL_SLOT"  # in the device process: the slot it runs from
ENV_SUPERVISED = "VIGIL_SUPERVISED"  # in the device process: the launcher watches it (a trial)
ENV_BASE_PATH = "VIGIL_LAUNCH_PYTHONPATH"  # the module path the launcher was started with
REBOOT = 75  # the device's exit status that asks the launcher to boot the active slot again
_PR_SET_PDEATHSIG = 1

log = logging.getLogger("vigil.launcher")


def device_command(argv: list[str]) -> list[str]:
    return [sys.executable, "-P", "-m", "vigil", *argv]


def slot_env(boot: Boot, base_path: str) -> dict[str, str]:
    env = {**os.environ, ENV_SLOT: boot.slot, ENV_BASE_PATH: base_path}
    env.pop(ENV_SUPERVISED, None)
    paths = [str(boot.path)] if boot.path is not None else []
    paths += [base_path] if base_path else []
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
    else:
        env.pop("PYTHONPATH", None)
    return env


def launch(data: Path, argv: list[str], run_here: Callable[[], int]) -> int:
    """Boot the active slot of `data` with `argv` (the `vigil run ...` arguments); `run_here`
    serves the device in this process. Returns the exit status."""
    slots = Slots(data, __version__)
    base = os.environ.get(ENV_BASE_PATH, os.environ.get("PYTHONPATH", ""))
    clean = False
    while True:
        boot, rolled_back = slots.boot(time.time(), clean)
        if rolled_back:
            print(f"vigil: rolled back to {boot.version}: {rolled_back}", file=sys.stderr, flush=True)
        env = slot_env(boot, base)
        if not boot.trial:
            if boot.path is None:  # the program this process already is
                os.environ[ENV_SLOT] = boot.slot
                os.environ[ENV_BASE_PATH] = base
                return run_here()
            os.execve(sys.executable, device_command(argv), env)
        env[ENV_SUPERVISED] = "1"
        status = supervise(device_command(argv), env)
        clean = status == REBOOT
        if clean:
            continue
        if status != 0 and slots.load()["trial"] is not None:
            why = f"the new software {boot.version} stopped with status {status} before it was committed"
            crashes.note(data, f"vigil {boot.version} (slot {boot.slot}, on trial): {why}; rolling back")
            if slots.rollback(why, time.time()) is not None:
                continue
        return status


def _die_with_parent() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def supervise(command: list[str], env: dict[str, str]) -> int:
    """Run the device as a child, passing on SIGTERM and SIGINT; its exit status (a signal as 128+n)."""
    child = subprocess.Popen(command, env=env, preexec_fn=_die_with_parent if sys.platform == "linux" else None)

    def forward(signum: int, _frame) -> None:
        child.send_signal(signum)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        status = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return 128 - status if status < 0 else status


def relaunch(argv: list[str]) -> int:
    """After the device stopped for a fresh boot: back to the launcher (exit `REBOOT` to the
    watching one, or become the launcher again by exec)."""
    if os.environ.get(ENV_SUPERVISED):
        return REBOOT
    env = {k: v for k, v in os.environ.items() if k not in (ENV_SLOT, ENV_BASE_PATH)}
    base = os.environ.get(ENV_BASE_PATH, "")
    if base:
        env["PYTHONPATH"] = base
    else:
        env.pop("PYTHONPATH", None)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(sys.executable, device_command(argv), env)
    return REBOOT  # not reached
