"""Running one app: a process of its own, as a user of its own, in a sandbox where one is
available, started and stopped on request, restarted by its run mode, backed off when it
keeps exiting.

How an app runs depends on what the device may do (`Isolation.detect`):
- the device runs as root: the app runs as its own uid (APP_UID_BASE + its slot), no groups,
  no capabilities, no new privileges (bubblewrap sets the sandbox up as root, then `setpriv`
  drops to the app's uid; without bubblewrap the process starts as that uid);
- `bwrap` (bubblewrap) works: inside a sandbox with the system's /usr read-only, its package
  read-only at /app, its data folder writable at /data, private /tmp, /proc, /dev, its own PID,
  IPC and UTS namespaces, and dies with the device; the network is shared (it reaches the
  device's APIs over loopback with its own account);
- neither: as a plain child process of the device's own user, and the system log says so.

Run modes (the manifest's runMode): `respawn` restarts the app whenever it exits, waiting
`Backoff.first` seconds, doubling after each exit that came sooner than `Backoff.reset` after its
start, up to `Backoff.limit`; `crash_loop` such exits in a row are reported once (system log,
event, the state's message). `once` runs it until it exits. `never`: the device does not run it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vigil.features.apps.const import (
    BACKOFF_FIRST,
    BACKOFF_MAX,
    BACKOFF_RESET,
    CRASH_LOOP,
    STOP_GRACE,
)

RESIGNAL = 0.2  # seconds between SIGTERMs to a sandbox that is still being set up
SETPRIV = "/usr/bin/setpriv"  # util-linux: drops to the app's uid inside the sandbox


@dataclass(frozen=True)
class Backoff:
    first: float = BACKOFF_FIRST
    limit: float = BACKOFF_MAX
    reset: float = BACKOFF_RESET
    crash_loop: int = CRASH_LOOP

    def delay(self, quick_exits: int) -> float:
        """The wait before the next start after `quick_exits` (>= 1) short runs in a row."""
        return min(self.first * 2 ** max(quick_exits - 1, 0), self.limit)


@dataclass(frozen=True)
class Isolation:
    as_root: bool  # the device runs as root: apps get their own uid
    bwrap: str | None  # the bubblewrap binary, when it works here

    @classmethod
    @functools.cache
    def detect(cls) -> Isolation:
        """What this machine allows, found out once per process (a probe run of bwrap)."""
        as_root = os.geteuid() == 0
        path = shutil.which("bwrap")
        if path is not None and as_root and not Path(SETPRIV).exists():
            path = None
        if path is not None:
            probe = [path, "--ro-bind", "/", "/", "--unshare-pid", "--die-with-parent", "true"]
            try:
                ok = subprocess.run(probe, capture_output=True, timeout=10).returncode == 0
            except (OSError, subprocess.SubprocessError):
                ok = False
            path = path if ok else None
        return cls(as_root, path)

    def describe(self) -> str:
        who = "a user of its own" if self.as_root else "the device's own user (the device does not run as root)"
        where = "in a bubblewrap sandbox" if self.bwrap else "without a sandbox (bubblewrap is not available)"
        return f"each app runs as {who}, {where}"


@dataclass
class Launch:
    """What one start of an app needs."""

    name: str
    package: Path  # the installed package, read-only to the app
    data: Path  # its writable folder
    uid: int
    options: tuple[str, ...]
    env: dict[str, str]

    def command(self, isolation: Isolation) -> tuple[list[str], dict[str, str]]:
        """The argv and environment of one start."""
        env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", **self.env}
        if isolation.bwrap is None:
            env.update(HOME=str(self.data), VIGIL_APP_DATA=str(self.data))
            return [str(self.package / self.name), *self.options], env
        env.update(HOME="/data", VIGIL_APP_DATA="/data")
        # No --new-session: the sandbox stays in the app's process group, which `stop` signals as a
        # whole (an app stopped while bwrap still sets up must not outlive it). The app has no
        # terminal to abuse (stdin is /dev/null), which is what --new-session guards against.
        cmd = [isolation.bwrap, "--die-with-parent", "--unshare-pid", "--unshare-ipc",
               "--unshare-uts", "--unshare-cgroup-try", "--ro-bind", "/usr", "/usr"]
        for top in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
            target = Path("/") / top
            if target.is_symlink():
                cmd += ["--symlink", os.readlink(target), str(target)]
            elif target.is_dir():
                cmd += ["--ro-bind", str(target), str(target)]
        for shared in ("/etc/alternatives", "/etc/ssl", "/etc/ld.so.cache", "/etc/localtime"):
            if Path(shared).exists():
                cmd += ["--ro-bind", shared, shared]
        cmd += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--ro-bind", str(self.package), "/app",
                "--bind", str(self.data), "/data", "--chdir", "/data", "--clearenv"]
        for key, value in env.items():
            cmd += ["--setenv", key, value]
        if isolation.as_root:
            cmd += [SETPRIV, "--reuid", str(self.uid), "--regid", str(self.uid), "--clear-groups",
                    "--no-new-privs", "--inh-caps=-all", "--bounding-set=-all", "--"]
        return [*cmd, f"/app/{self.name}", *self.options], env


@dataclass
class State:
    status: str = "Stopped"  # Running | Stopped (list.cgi's words)
    message: str = ""  # why it is stopped, or that it is backing off
    pid: int | None = None
    starts: int = 0
    quick_exits: int = 0  # exits in a row that came sooner than Backoff.reset after their start
    last_exit: int | None = None  # its exit status (negative: killed by that signal)
    retry_at: float | None = None  # backing off: the time of the next start (monotonic)
    crash_looping: bool = False


@dataclass
class AppProcess:
    launch: Launch
    run_mode: str
    isolation: Isolation
    backoff: Backoff
    on_output: Callable[[str], None]
    on_change: Callable[[State, str], None]  # the new state and what happened, for the log and events
    state: State = field(default_factory=State)
    _task: asyncio.Task[None] | None = None
    _process: asyncio.subprocess.Process | None = None
    _stopping: bool = False
    # Clear while a start is under way: a stop waits for it rather than cancel it half-way (a
    # cancelled spawn would leave a process the device no longer knows).
    _spawned: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self._spawned.set()

    @property
    def wanted(self) -> bool:
        return self._task is not None and not self._task.done()

    def start(self) -> None:
        if self.wanted:
            return
        self._stopping = False
        self.state = State()
        self._task = asyncio.get_running_loop().create_task(self._supervise(), name=f"app {self.launch.name}")

    async def stop(self) -> None:
        self._stopping = True
        task, self._task = self._task, None
        if task is None:
            return
        await self._spawned.wait()
        process = self._process
        if process is not None:
            # The whole process group (its own session): the sandbox, the app and its children.
            _signal_group(process.pid, signal.SIGTERM)
            if not await self._exits(process):
                _signal_group(process.pid, signal.SIGKILL)
        if process is not None:
            # It reads the exited app's output to the end and returns: its pipes close cleanly.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(task), STOP_GRACE)
        task.cancel()  # backing off (asleep), or still stuck
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.state.status, self.state.pid, self.state.retry_at = "Stopped", None, None
        self.state.message = "stopped"
        self.on_change(self.state, "stopped")

    async def _exits(self, process: asyncio.subprocess.Process) -> bool:
        """Whether the app ends within STOP_GRACE of its SIGTERM. bwrap loses a SIGTERM that comes
        while it still sets the sandbox up: it is sent again until bwrap goes (and the sandbox
        with it); an app without a sandbox gets it once."""
        deadline = time.monotonic() + STOP_GRACE
        while time.monotonic() < deadline:
            try:
                await asyncio.wait_for(asyncio.shield(process.wait()), RESIGNAL if self.isolation.bwrap else STOP_GRACE)
                return True
            except TimeoutError:
                # bwrap itself gone but its output still open: what is left of the sandbox (caught
                # before it tied itself to bwrap's life) has no one to stop it gracefully.
                _signal_group(process.pid, signal.SIGTERM if process.returncode is None else signal.SIGKILL)
        return False

    async def _supervise(self) -> None:
        while True:
            began = time.monotonic()
            code = await self._run_once()
            if code is None or self._stopping:
                return
            ran = time.monotonic() - began
            self.state.last_exit = code
            if self.run_mode != "respawn":
                self.state.status, self.state.pid = "Stopped", None
                self.state.message = f"exited with status {code}"
                self.on_change(self.state, f"exited with status {code}")
                return
            self.state.quick_exits = self.state.quick_exits + 1 if ran < self.backoff.reset else 1
            delay = self.backoff.delay(self.state.quick_exits)
            looping = self.state.quick_exits >= self.backoff.crash_loop
            self.state.status, self.state.pid = "Stopped", None
            self.state.retry_at = time.monotonic() + delay
            self.state.message = (f"exited with status {code} {self.state.quick_exits} times in a row; "
                                  f"restarting in {delay:.1f} s")
            what = self.state.message
            if looping and not self.state.crash_looping:
                what = f"crash loop: {what}"
            self.state.crash_looping = looping
            self.on_change(self.state, what)
            await asyncio.sleep(delay)
            self.state.retry_at = None

    def _drop(self) -> dict[str, object]:
        """Without a sandbox, a root device starts the app as its uid itself (inside one, setpriv does)."""
        if self.isolation.as_root and self.isolation.bwrap is None:
            return {"user": self.launch.uid, "group": self.launch.uid, "extra_groups": []}
        return {}

    async def _run_once(self) -> int | None:
        """Run the app until it exits; its exit status, or None when it could not start."""
        argv, env = self.launch.command(self.isolation)
        self._spawned.clear()
        try:
            process = await asyncio.shield(asyncio.create_subprocess_exec(
                *argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                cwd=str(self.launch.data), start_new_session=True,
                **self._drop()))
        except OSError as err:
            self.state.status, self.state.message = "Stopped", f"could not start: {err}"
            self.on_change(self.state, self.state.message)
            return None
        finally:
            self._spawned.set()
        self._process = process
        self.state.status, self.state.pid = "Running", process.pid
        self.state.starts += 1
        self.state.message = ""
        self.on_change(self.state, f"started (pid {process.pid})")
        assert process.stdout is not None
        try:
            while line := await process.stdout.readline():
                self.on_output(line.decode("utf-8", "replace").rstrip("\n"))
            return await process.wait()
        finally:
            if process.returncode is None:
                _signal_group(process.pid, signal.SIGKILL)
                await process.wait()
            self._process = None


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
