"""coturn (Debian `coturn`, `turnserver`) as the STUN and TURN server of NAT traversal tests: one
instance on a free loopback port, long-term credentials (user `USER`, password `PASSWORD`, realm
`vigil`), relay ports in a range of its own, loopback peers allowed (the far end is on 127.0.0.1
too), no TLS, no database of the machine's (its own SQLite file), the log on stdout in a file.
The relay's counters come from that log: when an allocation ends coturn writes
`peer usage: ... rp=<packets from peers>, rb=<bytes>, sp=<packets to peers>, sb=<bytes>`,
and a session whose client came over TCP has `TCP socket closed` when it ends."""

from __future__ import annotations

import re
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from tests.peers.lan import Lan
from tests.peers.processes import free_port, stop_process, wait_port

USER = "vigil"
PASSWORD = "secret"
RELAY_PORTS = 50  # how many relay ports the instance may hand out
PEER_USAGE = re.compile(r"session (\d+): peer usage: realm=<[^>]*>, username=<[^>]*>, rp=(\d+), rb=(\d+), sp=(\d+), "
                        r"sb=(\d+)")
TCP_CLOSED = re.compile(r"session (\d+): TCP socket closed")


@dataclass
class Coturn:
    process: subprocess.Popen
    port: int
    relay_ports: range
    log: Path
    host: str = "127.0.0.1"

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def peer_usage(self) -> list[dict[str, int]]:
        """The relay counters of every allocation that has ended: packets and bytes from and to peers,
        and whether the client reached the server over TCP (`tcp` 1)."""
        text = self.log.read_text(errors="replace")
        tcp = set(TCP_CLOSED.findall(text))
        return [{"rp": int(m[2]), "rb": int(m[3]), "sp": int(m[4]), "sb": int(m[5]), "tcp": int(m[1] in tcp)}
                for m in PEER_USAGE.finditer(text)]

    def stop(self) -> None:
        stop_process(self.process)


def start_coturn(folder: Path, lan: Lan | None = None) -> Coturn:
    """An instance on loopback, or with `lan` in the peers' namespace on its address."""
    folder.mkdir(parents=True, exist_ok=True)
    host = lan.peer_address if lan is not None else "127.0.0.1"
    port = free_port()  # a TCP port free now; coturn listens on it over UDP and TCP
    low = free_port()
    low = low if low < 65000 else 40000
    relay = range(low, low + RELAY_PORTS)
    log = folder / "coturn.log"
    command = ["turnserver", "-n", f"--listening-ip={host}", f"--relay-ip={host}", f"--listening-port={port}",
               f"--min-port={relay.start}", f"--max-port={relay.stop - 1}", "--allow-loopback-peers", "--lt-cred-mech",
               f"--user={USER}:{PASSWORD}", "--realm=vigil", "--no-tls", "--no-dtls", "--no-cli", "-v",
               "--log-file=stdout", "--simple-log", f"--userdb={folder / 'turndb'}", f"--pidfile={folder / 'pid'}"]
    process = subprocess.Popen(lan.command(*command) if lan is not None else command, stdin=subprocess.DEVNULL,
                               stdout=open(log, "wb"), stderr=subprocess.STDOUT, start_new_session=True)  # noqa: SIM115
    if lan is None:
        wait_port(port, 5, process)
    else:  # wait_port looks on loopback: the log says when it listens
        deadline = time.monotonic() + 5
        while f"UDP listener opened on: {host}:{port}" not in log.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"coturn did not start: {log.read_text(errors='replace')[-500:]}")
            time.sleep(0.02)
    return Coturn(process, port, relay, log, host)
