"""A real HTTP proxy on loopback: tinyproxy (Debian `tinyproxy-bin`) with Basic proxy
authentication, forwarding plain HTTP and tunnelling any port with CONNECT. Its log, read with
`seen()`, tells which requests went through it."""

from __future__ import annotations

import contextlib
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from tests.peers.processes import free_port, stop_process, wait_port


@dataclass
class TinyProxy:
    port: int
    user: str
    password: str
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def seen(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@contextlib.contextmanager
def tinyproxy(folder: Path, user: str = "proxyuser", password: str = "proxy-s3cret") -> Iterator[TinyProxy]:
    folder.mkdir(parents=True, exist_ok=True)
    proxy = TinyProxy(free_port(), user, password, folder / "tinyproxy.log")
    config = folder / "tinyproxy.conf"
    config.write_text(f"""Port {proxy.port}
Listen 127.0.0.1
Timeout 30
MaxClients 50
LogFile "{proxy.log}"
LogLevel Connect
Allow 127.0.0.1
""" + (f"BasicAuth {user} {password}\n" if user else ""))  # no user: a proxy anyone may use
    process = subprocess.Popen(["tinyproxy", "-d", "-c", str(config)], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        wait_port(proxy.port, 5, process)
        yield proxy
    finally:
        stop_process(process)
