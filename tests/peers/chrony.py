"""chrony (Debian `chrony`) as the NTP and NTS server of the time tests and the NTP benchmark:
`chronyd -d -x` on 127.0.0.1 (`-x`: it never touches the host's clock) serving the host's time at
stratum 8 (`local stratum 8`), with an NTS-KE listener whose certificate a test CA signed. The
device under test is given a known offset from the host clock; chrony's time is the truth it
must come back to. No pytest here, so that a benchmark can start it too."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import time
from pathlib import Path

from tests.peers.certs import Certs, ca_signed
from tests.peers.processes import free_port, stop_process, wait_port

CHRONYD = shutil.which("chronyd") or "/usr/sbin/chronyd"
NTP_EPOCH = 2_208_988_800


def installed() -> bool:
    return Path(CHRONYD).exists()


def free_udp_port() -> int:
    """A loopback port free for both UDP and TCP (chrony's NTP port is UDP)."""
    while True:
        port = free_port()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


def ntp_time(port: int, timeout: float = 0.5) -> float:
    """The server's transmit time from one plain NTP request (OSError when nothing answers)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(b"\x23" + b"\0" * 47, ("127.0.0.1", port))
        data, _ = s.recvfrom(512)
    seconds, fraction = struct.unpack_from(">II", data, 40)
    return seconds - NTP_EPOCH + fraction / 2**32


class Chrony:
    """One chronyd: `ntp_port` (UDP) and `nts_port` (NTS-KE over TLS); `certs.ca` signed its certificate."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.certs: Certs = ca_signed(folder / "certs")
        self.ntp_port, self.nts_port = free_udp_port(), free_port()
        self.process: subprocess.Popen | None = None
        self.conf = folder / "chrony.conf"
        self.conf.write_text("\n".join([
            f"port {self.ntp_port}",
            "bindaddress 127.0.0.1",
            "allow 127.0.0.1",
            "local stratum 8",
            "cmdport 0",
            "bindcmdaddress /",  # no control socket under /run
            f"driftfile {folder / 'drift'}",
            f"pidfile {folder / 'chronyd.pid'}",
            f"ntsserverkey {self.certs.key}",
            f"ntsservercert {self.certs.cert}",
            f"ntsport {self.nts_port}",
            f"ntsdumpdir {folder}",
        ]) + "\n")

    def start(self, timeout: float = 10.0) -> Chrony:
        user = ["-u", "root"] if os.geteuid() == 0 else ["-U"]  # root: stay root to read the test's files
        with open(self.folder / "chronyd.log", "ab") as log:
            self.process = subprocess.Popen([CHRONYD, "-d", "-x", *user, "-f", str(self.conf)],
                                            stdout=log, stderr=log)
        wait_port(self.nts_port, timeout, self.process)
        deadline = time.monotonic() + timeout
        while True:
            try:
                ntp_time(self.ntp_port)
                return self
            except OSError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"chronyd exited with {self.process.returncode}: {self.log()}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"chronyd does not answer NTP: {self.log()}") from None

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def log(self) -> str:
        path = self.folder / "chronyd.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.ntp_port}"

    @property
    def nts_server(self) -> str:
        return f"127.0.0.1:{self.nts_port}"
