"""Peers for the SNMP tests and benchmark: Debian's net-snmp command line tools (snmpget,
snmpwalk, snmpbulkwalk, snmpset) as the manager, and snmptrapd as the trap receiver, on free
loopback ports. Standard library only, so that a benchmark can use it without pytest."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers.processes import stop_process

SNMPTRAPD = shutil.which("snmptrapd") or "/usr/sbin/snmptrapd"
HAVE_NET_SNMP = bool(shutil.which("snmpget")) and Path(SNMPTRAPD).exists()
# No MIB files: numeric OIDs only, and no time spent loading MIBs on each command.
TOOL_ENV = {**os.environ, "MIBS": "", "MIBDIRS": "/nonexistent"}
VARBIND = re.compile(r"^(\.?[0-9.]+) = (.*)$")


def free_udp_port() -> int:
    """A loopback UDP port nothing is bound to (the kernel's choice, released at once)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Result:
    code: int
    out: str

    def values(self) -> dict[str, str]:
        """OID (no leading dot) -> the value as the tool prints it ("STRING: \"x\"")."""
        found = {}
        for line in self.out.splitlines():
            m = VARBIND.match(line.strip())
            if m:
                found[m.group(1).lstrip(".")] = m.group(2)
        return found


async def tool(*args: str, timeout: float = 20.0) -> Result:
    """Run a net-snmp command (numeric OIDs, one try, 1 s timeout unless `args` say otherwise)."""
    command, rest = args[0], list(args[1:])
    process = await asyncio.create_subprocess_exec(
        command, "-On", "-r", "0", "-t", "1", *rest, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env=TOOL_ENV)
    out, _ = await asyncio.wait_for(process.communicate(), timeout)
    return Result(process.returncode or 0, out.decode(errors="replace"))


def tool_sync(*args: str, timeout: float = 20.0) -> Result:
    """`tool` for code that runs no event loop of its own (or one it cannot wait in: Playwright)."""
    done = subprocess.run([args[0], "-On", "-r", "0", "-t", "1", *args[1:]], capture_output=True, text=True,
                          env=TOOL_ENV, timeout=timeout)
    return Result(done.returncode, done.stdout + done.stderr)


def v2c(community: str, port: int) -> list[str]:
    return ["-v2c", "-c", community, f"127.0.0.1:{port}"]


def v1(community: str, port: int) -> list[str]:
    return ["-v1", "-c", community, f"127.0.0.1:{port}"]


def v3(port: int, password: str, auth: str = "SHA", priv: str = "AES", user: str = "initial",
       level: str = "authPriv") -> list[str]:
    args = ["-v3", "-l", level, "-u", user, "-a", auth, "-A", password]
    if level == "authPriv":
        args += ["-x", priv, "-X", password]
    return [*args, f"127.0.0.1:{port}"]


class Snmptrapd:
    """snmptrapd receiving v1 and v2c traps of `community` on a loopback UDP port, logging each
    one to a file with numeric OIDs."""

    def __init__(self, folder: Path, community: str = "public") -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_udp_port()
        self.log = folder / "traps.log"
        (folder / "snmptrapd.conf").write_text(f"authCommunity log {community}\n")
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen(
            [SNMPTRAPD, "-f", "-C", "-c", str(self.folder / "snmptrapd.conf"), "-On", "-Lf", str(self.log),
             "-p", str(self.folder / "pid"), f"udp:127.0.0.1:{self.port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            env={**TOOL_ENV, "SNMP_PERSISTENT_DIR": str(self.folder)})
        deadline = time.monotonic() + timeout
        while "NET-SNMP version" not in self.text():  # it writes this once it listens
            if self.process.poll() is not None:
                raise RuntimeError(f"snmptrapd exited with {self.process.returncode}")
            if time.monotonic() > deadline:
                raise TimeoutError("snmptrapd did not start")
            time.sleep(0.02)

    def text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def count(self, oid: str) -> int:
        """How many received traps name `oid` (a trap OID, or any OID in the varbinds)."""
        return self.text().count(oid)

    def stop(self) -> None:
        stop_process(self.process)
