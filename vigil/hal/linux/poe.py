"""The PoE switch of a real Linux machine: the kernel's PSE framework (Linux 6.9 and later)
through ethtool (`ethtool --show-pse` / `--set-pse`), one PSE-capable interface per port
(VIGIL_POE_PORTS, comma separated, port 1 first), "power only" as the interface's link
turned down, and LLDP frames read from each port by a packet socket.

Where the machine has no PSE (no ports named, no ethtool, or ethtool finding no PSE on an
interface), `absent` says which, and the ports are never reported as present.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import shutil
import socket
import subprocess
from collections.abc import Callable
from pathlib import Path

from vigil.hal.poe import CLASS_POWER_W, Detection

log = logging.getLogger("vigil.poe")
ETH_P_LLDP = 0x88CC
LINE = re.compile(r"^\s*Clause 33 PSE ([A-Za-z ]+):\s*(.*?)\s*$")


def ethtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ethtool", *args], capture_output=True, text=True, timeout=5, check=False)


def pse_state(interface: str) -> dict[str, str]:
    """The Clause 33 PSE attributes ethtool reports for `interface`, by name (lower case)."""
    done = ethtool("--show-pse", interface)
    if done.returncode != 0:
        raise OSError((done.stderr or done.stdout).strip() or f"ethtool --show-pse {interface} failed")
    found = {}
    for line in done.stdout.splitlines():
        match = LINE.match(line)
        if match:
            found[match.group(1).strip().lower()] = match.group(2)
    if "admin state" not in found:
        raise OSError(f"ethtool reports no Clause 33 PSE on {interface}")
    return found


class LinuxPoe:
    pse = True
    def __init__(self, interfaces: list[str], budget_w: float, port_class_limit: int) -> None:
        self.interfaces = interfaces
        self.ports = len(interfaces)
        self.budget_w = budget_w
        self.port_class_limit = port_class_limit
        self.absent = self._probe()
        if self.absent:
            self.ports = 0
            log.warning("PoE: %s", self.absent)
        self._sockets: list[socket.socket] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    def _probe(self) -> str:
        if not self.interfaces:
            return "this machine has no PoE switch: VIGIL_POE_PORTS names no PSE interface"
        if shutil.which("ethtool") is None:
            return "this machine has no usable PoE switch: ethtool (with PSE support) is not installed"
        for interface in self.interfaces:
            try:
                pse_state(interface)
            except (OSError, subprocess.SubprocessError) as err:
                return f"this machine has no PoE switch on {interface}: {err}"
        return ""

    def _interface(self, port: int) -> str:
        if not 1 <= port <= self.ports:
            raise ValueError(f"a port is 1 to {self.ports}")
        return self.interfaces[port - 1]

    def detect(self, port: int) -> Detection | None:
        state = pse_state(self._interface(port))
        status = state.get("power detection status", "")
        if status in ("disabled", "searching", "unknown", ""):
            return None
        try:
            poe_class = int(state.get("power class", ""))
        except ValueError:
            poe_class = 0  # detected, not classified: class 0 (15.4 W)
        return Detection(poe_class if poe_class in CLASS_POWER_W else 0)

    def powered(self, port: int) -> bool:
        return pse_state(self._interface(port)).get("power detection status") == "delivering power"

    def set_power(self, port: int, on: bool) -> None:
        done = ethtool("--set-pse", self._interface(port), "c33-pse-admin-control", "enable" if on else "disable")
        if done.returncode != 0:
            raise OSError(done.stderr.strip() or "ethtool --set-pse failed")

    def draw_w(self, port: int) -> float:
        actual = pse_state(self._interface(port)).get("actual power", "0").split()[0]
        try:
            return int(actual) / 1000  # ethtool reports mW
        except ValueError:
            return 0.0

    def set_network(self, port: int, on: bool) -> None:
        done = subprocess.run(["ip", "link", "set", self._interface(port), "up" if on else "down"],
                              capture_output=True, text=True, timeout=5, check=False)
        if done.returncode != 0:
            raise OSError(done.stderr.strip() or "ip link set failed")

    def watch(self, callback: Callable[[int], None]) -> None:
        """The kernel sends no PSE notifications that ethtool relays: the feature polls `detect`."""

    def watch_lldp(self, callback: Callable[[int, bytes], None]) -> None:
        loop = asyncio.get_running_loop()
        self._loop = loop
        for port in range(1, self.ports + 1):
            sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_LLDP))
            sock.bind((self._interface(port), 0))
            sock.setblocking(False)
            self._sockets.append(sock)

            def readable(sock: socket.socket = sock, port: int = port) -> None:
                with contextlib.suppress(BlockingIOError):
                    callback(port, sock.recv(1600))

            loop.add_reader(sock.fileno(), readable)

    def close(self) -> None:
        for sock in self._sockets:
            if self._loop is not None:
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._sockets.clear()


def link_up(interface: str) -> bool:
    """Whether the interface has a carrier (a device at the other end)."""
    try:
        return Path(f"/sys/class/net/{interface}/carrier").read_text().strip() == "1"
    except OSError:  # reading carrier of an interface that is down fails: no link
        return False


class LinuxNetworkPorts:
    """The network ports of a Linux machine without a PSE (VIGIL_NETWORK_PORTS, comma separated):
    a device is seen by the port's carrier, and a port's network is turned off by taking its link
    down. They give no power."""

    pse = False
    budget_w = 0
    port_class_limit = 0

    def __init__(self, interfaces: list[str]) -> None:
        self.interfaces = interfaces
        missing = [name for name in interfaces if not Path(f"/sys/class/net/{name}").exists()]
        self.absent = ("this machine names no network ports: VIGIL_NETWORK_PORTS is empty" if not interfaces else
                       f"this machine has no network port {', '.join(missing)}" if missing else "")
        self.ports = 0 if self.absent else len(interfaces)
        self._down: set[int] = set()  # ports whose network the user turned off: their carrier reads down too

    def _interface(self, port: int) -> str:
        if not 1 <= port <= self.ports:
            raise ValueError(f"a port is 1 to {self.ports}")
        return self.interfaces[port - 1]

    def detect(self, port: int) -> Detection | None:
        interface = self._interface(port)
        if port in self._down:
            return Detection(None, link=False)  # the link is down by our hand: the device may still be there
        return Detection(None) if link_up(interface) else None

    def powered(self, port: int) -> bool:
        self._interface(port)
        return False

    def set_power(self, port: int, on: bool) -> None:
        if on:
            raise ValueError(f"port {port} gives no power")

    def draw_w(self, port: int) -> float:
        return 0.0

    def set_network(self, port: int, on: bool) -> None:
        interface = self._interface(port)
        if (port not in self._down) == on:
            return
        done = subprocess.run(["ip", "link", "set", interface, "up" if on else "down"],
                              capture_output=True, text=True, timeout=5, check=False)
        if done.returncode != 0:
            raise OSError(done.stderr.strip() or "ip link set failed")
        if on:
            self._down.discard(port)
        else:
            self._down.add(port)

    def watch(self, callback: Callable[[int], None]) -> None:
        """Carrier changes are read by the feature's poll."""

    def watch_lldp(self, callback: Callable[[int, bytes], None]) -> None:
        """Ports without power need no LLDP power requests."""
