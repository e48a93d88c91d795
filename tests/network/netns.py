"""Network namespaces for the Linux backend's tests: a pair of namespaces joined by a veth pair
(the "LAN": a server side and a device side), made and removed by the test, nothing of the host's
own network touched; running a blocking function with its sockets inside a namespace; and `ip -j`
read inside one."""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx

from tests.conftest import wait_until

T = TypeVar("T")
CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def can_make_namespaces() -> str:
    """'' when this machine lets the tests make network namespaces, else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "iproute2 (ip) is not installed"
    probe = f"vigil-probe-{os.getpid()}"
    made = subprocess.run(["ip", "netns", "add", probe], capture_output=True)
    if made.returncode != 0:
        return f"cannot make a network namespace: {made.stderr.decode().strip()}"
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    return ""


def run(*args: str) -> str:
    done = subprocess.run(list(args), capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def ip_json(namespace: str, *args: str) -> Any:
    return json.loads(run("ip", "-n", namespace, "-j", *args) or "[]")


@dataclass
class Lan:
    server_ns: str
    device_ns: str
    server_if: str
    device_if: str
    prefix: str  # e.g. 10.77.3 (a /24 inside the namespaces only)

    @property
    def server(self) -> str:
        return f"{self.prefix}.1"

    def addresses(self, family: str = "inet") -> set[str]:
        """The device side's addresses as `address/prefix`."""
        found = set()
        for link in ip_json(self.device_ns, "addr", "show", "dev", self.device_if):
            for info in link.get("addr_info", []):
                if info.get("family") == family:
                    found.add(f"{info['local']}/{info['prefixlen']}")
        return found

    def default_router(self) -> str:
        routes = ip_json(self.device_ns, "route", "show", "default")
        return routes[0].get("gateway", "") if routes else ""

    def link_up(self) -> bool:
        return "UP" in ip_json(self.device_ns, "link", "show", "dev", self.device_if)[0]["flags"]


@contextlib.contextmanager
def lan(tag: str, prefix: str) -> Iterator[Lan]:
    """Two namespaces joined by a veth pair; the server side has `<prefix>.1/24`, the device side
    nothing (the device under test configures it). Both are removed afterwards."""
    pid = os.getpid()
    made = Lan(f"vs-{tag}-{pid}", f"vd-{tag}-{pid}", f"vs{tag}{pid % 10000}", f"vd{tag}{pid % 10000}", prefix)
    try:
        run("ip", "netns", "add", made.server_ns)
        run("ip", "netns", "add", made.device_ns)
        run("ip", "link", "add", made.server_if, "netns", made.server_ns, "type", "veth", "peer", "name",
            made.device_if, "netns", made.device_ns)
        run("ip", "-n", made.server_ns, "addr", "add", f"{made.server}/24", "dev", made.server_if)
        for ns, interface in ((made.server_ns, made.server_if), (made.device_ns, made.device_if)):
            run("ip", "-n", ns, "link", "set", interface, "up")
            run("ip", "-n", ns, "link", "set", "lo", "up")
        yield made
    finally:
        for ns in (made.device_ns, made.server_ns):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def _enter(namespace: str) -> None:
    fd = os.open(f"/run/netns/{namespace}", os.O_RDONLY)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), f"setns {namespace}")
    finally:
        os.close(fd)


@contextlib.contextmanager
def inside(namespace: str) -> Iterator[Callable[[Callable[..., T]], T]]:
    """A runner of blocking functions on a thread that lives in `namespace`: every socket those
    functions open is the namespace's (its loopback, its interfaces)."""
    pool = concurrent.futures.ThreadPoolExecutor(1, initializer=_enter, initargs=(namespace,))
    try:
        yield lambda fn, *args, **kwargs: pool.submit(fn, *args, **kwargs).result()
    finally:
        pool.shutdown()


def wait_serving(call: Callable[..., Any], process: subprocess.Popen, log: Path, port: int,
                 timeout: float = 30) -> None:
    """Wait until the `vigil run` `process` answers HTTP on 127.0.0.1:`port` of the namespace that
    `call` (from `inside`) runs in; its log's end in the error when it exits first."""
    def ready() -> bool:
        if process.poll() is not None:
            raise RuntimeError(log.read_text()[-3000:])
        try:
            return call(httpx.get, f"http://127.0.0.1:{port}/vigil/session", timeout=10).status_code == 200
        except httpx.TransportError:
            return False

    wait_until(ready, timeout, "vigil to listen inside its namespace")
