"""A private local network for the discovery peers: a veth pair whose one end stays in this
namespace (the device's side, an address the device listens on) and whose other end is in a
network namespace of its own (the peers' side), made by the test and deleted afterwards. Nothing
leaves the pair: the addresses are in 10.213.0.0/16, a /24 no route of the host uses, and the
peers' namespace has no other interface. Multicast works across the pair, as on a LAN (avahi
ignores the loopback interface, so loopback would not do).

`avahi` runs avahi-daemon in the peers' namespace with its own D-Bus system bus (and a private
/run, so that several can run at once); `browse` is avahi-browse against it. Needs root and the
Debian packages iproute2, dbus, avahi-daemon, avahi-utils (the Makefile's DEBS).
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.peers.processes import stop_process

VENV_BIN = Path(sys.executable).parent
needs_lan = pytest.mark.skipif(os.geteuid() != 0 or shutil.which("ip") is None,
                               reason="network namespaces need root and iproute2")


def _ip(*args: str) -> str:
    return subprocess.run(["ip", *args], check=True, capture_output=True, text=True, timeout=10).stdout


def _free_subnet() -> ipaddress.IPv4Network:
    taken = [ipaddress.ip_network(r["dst"], strict=False) for r in json.loads(_ip("-j", "route", "show", "table", "all"))
             if r.get("dst", "default") not in ("default",) and "." in r.get("dst", "")]
    for _ in range(100):
        candidate = ipaddress.ip_network(f"10.213.{secrets.randbelow(254) + 1}.0/24")
        if not any(candidate.overlaps(t) for t in taken):
            return candidate
    raise RuntimeError("no free 10.213.x.0/24 subnet")


@dataclass
class Lan:
    namespace: str  # the peers' namespace
    device_if: str  # the device's end, in this namespace
    peer_if: str
    device_address: str
    peer_address: str

    @classmethod
    def create(cls) -> Lan:
        tag = secrets.token_hex(3)
        net = _free_subnet()
        hosts = list(net.hosts())
        lan = cls(f"vigil-peer-{tag}", f"vgd{tag}", f"vgp{tag}", str(hosts[0]), str(hosts[1]))
        _ip("netns", "add", lan.namespace)
        try:
            _ip("link", "add", lan.device_if, "type", "veth", "peer", "name", lan.peer_if)
            _ip("link", "set", lan.peer_if, "netns", lan.namespace)
            _ip("addr", "add", f"{lan.device_address}/24", "dev", lan.device_if)
            _ip("link", "set", lan.device_if, "up")
            _ip("-n", lan.namespace, "addr", "add", f"{lan.peer_address}/24", "dev", lan.peer_if)
            _ip("-n", lan.namespace, "link", "set", lan.peer_if, "up")
            _ip("-n", lan.namespace, "link", "set", "lo", "up")
            # Clients that send to 239.255.255.250 without naming an interface need a route.
            _ip("-n", lan.namespace, "route", "add", "default", "dev", lan.peer_if)
        except BaseException:
            lan.delete()
            raise
        return lan

    def delete(self) -> None:
        subprocess.run(["ip", "link", "del", self.device_if], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", self.namespace], capture_output=True, timeout=10)

    def command(self, *args: str) -> list[str]:
        """`args` as a command run in the peers' namespace."""
        return ["ip", "netns", "exec", self.namespace, *args]

    def run(self, *args: str, timeout: float = 30, env: dict[str, str] | None = None) -> str:
        done = subprocess.run(self.command(*args), capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **(env or {})})
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed ({done.returncode}): {done.stderr.strip()}")
        return done.stdout

    def python(self, script: str, *args: str, timeout: float = 30) -> str:
        """A Python script run in the peers' namespace with this virtual environment's packages."""
        return self.run(str(VENV_BIN / "python"), "-c", script, *args, timeout=timeout)


@dataclass(frozen=True)
class Service:
    """One resolved service avahi-browse reports."""

    name: str
    host: str
    address: str
    port: int
    txt: tuple[str, ...]


class Avahi:
    """avahi-daemon in the peers' namespace, with its own D-Bus system bus."""

    def __init__(self, lan: Lan) -> None:
        self.lan = lan
        self.dir = Path(tempfile.mkdtemp(prefix="vigil-avahi-"))
        self.bus = f"unix:path={self.dir / 'bus'}"
        self.dbus: subprocess.Popen | None = None
        self.daemon: subprocess.Popen | None = None

    def start(self) -> None:
        (self.dir / "avahi.conf").write_text(
            f"[server]\nallow-interfaces={self.lan.peer_if}\nuse-ipv6=no\nratelimit-burst=1000\n"
            "[publish]\npublish-addresses=no\npublish-hinfo=no\npublish-workstation=no\n")
        self.dbus = subprocess.Popen(self.lan.command(
            "dbus-daemon", "--config-file=/usr/share/dbus-1/system.conf", f"--address={self.bus}", "--nofork",
            "--nopidfile"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not (self.dir / "bus").exists():
            if time.monotonic() > deadline or self.dbus.poll() is not None:
                raise RuntimeError("dbus-daemon did not start")
            time.sleep(0.05)
        # A private /run: avahi-daemon keeps its pid file and socket at a fixed place there.
        script = ("mount -t tmpfs none /run && mkdir /run/avahi-daemon && exec avahi-daemon --no-drop-root "
                  f"--no-chroot --no-rlimits -f {self.dir / 'avahi.conf'}")
        log = (self.dir / "avahi.log").open("wb")
        self.daemon = subprocess.Popen(self.lan.command("unshare", "--mount", "--propagation", "private",
                                                        "sh", "-c", script),
                                       stdout=log, stderr=subprocess.STDOUT,
                                       env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": self.bus})
        deadline = time.monotonic() + 15
        while b"Server startup complete" not in (self.dir / "avahi.log").read_bytes():
            if time.monotonic() > deadline or self.daemon.poll() is not None:
                raise RuntimeError("avahi-daemon did not start: " + (self.dir / "avahi.log").read_text())
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.daemon)
        stop_process(self.dbus)
        shutil.rmtree(self.dir, ignore_errors=True)

    def browse(self, kind: str) -> list[Service]:
        """The services of `kind` (e.g. `_axis-video._tcp`) avahi knows or finds now, resolved."""
        out = self.lan.run("avahi-browse", "--resolve", "--terminate", "--parsable", kind,
                           env={"DBUS_SYSTEM_BUS_ADDRESS": self.bus})
        found = []
        for line in out.splitlines():
            fields = line.split(";")
            if fields[0] == "=" and len(fields) >= 10:
                txt = tuple(t.strip('"') for t in fields[9].split('" "')) if fields[9] else ()
                found.append(Service(_unescape(fields[3]), fields[6], fields[7], int(fields[8]), txt))
        return found


def _unescape(label: str) -> str:
    """avahi-browse's escapes: `\\032` is the byte 32 (decimal), `\\.` a dot."""
    out, i = bytearray(), 0
    raw = label.encode()
    while i < len(raw):
        if raw[i:i + 1] == b"\\" and raw[i + 1:i + 4].isdigit():
            out.append(int(raw[i + 1:i + 4]))
            i += 4
        elif raw[i:i + 1] == b"\\":
            out += raw[i + 1:i + 2]
            i += 2
        else:
            out += raw[i:i + 1]
            i += 1
    return out.decode()


@pytest.fixture(scope="module")
def lan() -> Iterator[Lan]:
    network = Lan.create()
    yield network
    network.delete()


@pytest.fixture(scope="module")
def avahi(lan: Lan) -> Iterator[Avahi]:
    if shutil.which("avahi-daemon") is None or shutil.which("avahi-browse") is None:
        pytest.skip("avahi-daemon and avahi-utils are not installed (make debs installs them)")
    daemon = Avahi(lan)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
