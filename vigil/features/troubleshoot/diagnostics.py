"""What the debug archive adds to the server report: the configuration with every secret
redacted, the state of the process and the system, and the recent crash traces.

Redaction, as Home Assistant's diagnostics do it: a value stored sealed, a member whose name
says it is a secret (password, secret, token, key, psk, credential) and any text holding a
private key become `REDACTED`, wherever they sit in a stored JSON body."""

from __future__ import annotations

import asyncio
import json
import os
import platform
import re
import shutil
import sys
import threading
import time
import traceback
from typing import TYPE_CHECKING, Any

from vigil import __version__
from vigil.core import crashes
from vigil.core.vault import is_sealed

if TYPE_CHECKING:
    from vigil.device import Device

REDACTED = "REDACTED"
SECRET_NAME = re.compile(r"pass|secret|token|(^|[^a-z])key($|[^a-z])|psk|credential|private", re.I)
CONFIG_TABLES = ("actions", "rules", "recipients", "schedules", "sources")
_STARTED = time.time()


def redact(value: Any, name: str = "") -> Any:
    """`value` with its secrets replaced (see the module's docstring)."""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, name) for v in value]
    if isinstance(value, str):
        if value and (is_sealed(value) or SECRET_NAME.search(name) or "PRIVATE KEY" in value):
            return REDACTED
        return value
    return REDACTED if SECRET_NAME.search(name) and value is not None else value


def redacted_text(raw: str, name: str) -> Any:
    """A stored value (JSON or plain text) with its secrets redacted."""
    try:
        return redact(json.loads(raw), name)
    except (ValueError, RecursionError):
        return redact(raw, name)


def configuration(device: Device) -> dict[str, str]:
    """The configuration files of the archive: parameters, the stored key-values and the
    configuration tables, secrets redacted."""
    params = device.params
    files = {"config/parameters.txt": "".join(f"root.{n}={params.shown(n)}\n" for n in params.names())}
    kv = {key: redacted_text(value, key) for key, value in device.store.query("SELECT key, value FROM kv ORDER BY key")}
    files["config/settings.json"] = json.dumps(kv, indent=1, default=str)
    for table in CONFIG_TABLES:
        rows = device.store.query(f"SELECT * FROM {table}")  # noqa: S608 - the names are this module's constants
        files[f"config/{table}.json"] = json.dumps([[redacted_text(v, "") if isinstance(v, str) else v for v in row]
                                                    for row in rows], indent=1, default=str)
    accounts = [f"{a.name} {a.role.label}" for a in device.accounts.all()]
    files["config/accounts.txt"] = "\n".join(accounts) + "\n"  # names and roles only, never a password
    return files


def process_state(device: Device) -> str:
    """The process and the system: versions, resources, threads' stacks and the event loop's tasks."""
    out = [f"Vigil {__version__} ({device.profile.name}), slot {os.environ.get('VIGIL_SLOT', 'installed program')}",
           f"Python {sys.version.split()[0]} on {platform.platform()}", f"PID {os.getpid()}, running for "
           f"{time.time() - _STARTED:.0f} s", f"Load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"]
    usage = shutil.disk_usage(device.data)
    out.append(f"Data folder {device.data}: {usage.used // 2**20} MiB used of {usage.total // 2**20} MiB, "
               f"{usage.free // 2**20} MiB free")
    try:
        with open("/proc/self/status") as status:
            out += ["", "----- /proc/self/status -----", *(line.rstrip() for line in status
                                                                  if line.split(":")[0] in ("VmRSS", "VmHWM", "Threads",
                                                                                             "FDSize", "voluntary_ctxt_switches"))]
        out.append(f"Open files: {len(os.listdir('/proc/self/fd'))}")
    except OSError:
        out.append("(no /proc on this system)")
    out += ["", "----- Threads -----"]
    names = {t.ident: t.name for t in threading.enumerate()}
    for ident, frame in sys._current_frames().items():
        out += [f"Thread {names.get(ident, ident)}:", *(line.rstrip() for line in traceback.format_stack(frame))]
    try:
        tasks = sorted(asyncio.all_tasks(), key=lambda t: t.get_name())
        out += ["", f"----- Event loop tasks ({len(tasks)}) -----",
                *(f"{t.get_name()}: {t.get_coro()!r}"[:300] for t in tasks)]
    except RuntimeError:  # no running loop (called from a thread)
        pass
    return "\n".join(out) + "\n"


def crash_traces(device: Device) -> dict[str, str]:
    return {f"crash/{name}": body for name, body in crashes.recent(device.data).items()}
