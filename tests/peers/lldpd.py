"""lldpd as the switch's side of the cable: in the peers' namespace of a `Lan`, receive-only
(`-r`: it sends nothing), with CDP decoding (`-c`), every protocol's neighbour listed (`-H 0`:
by default lldpd hides a CDP neighbour that also speaks LLDP), its own control socket and a private /run
(its pid file and privilege-separation directory live at fixed places there, so that several can
run at once). `neighbors()` is `lldpcli show neighbors` as JSON. Needs the Debian package lldpd.

`powered_device(lan, milliwatts)` runs it the other way round, as a camera on a PoE port: an
LLDP-MED network connectivity device (`-M 4`) that asks for `milliwatts` in an Extended
Power-via-MDI TLV (PD, source PSE, priority high) and in an IEEE 802.3at Power via MDI TLV (type 2
PD, class 4), and returns the first such frame as it
arrived on the device's end of the cable.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.lan import Lan
from tests.peers.processes import stop_process


class Lldpd:
    def __init__(self, lan: Lan, request_mw: int | None = None) -> None:
        self.lan = lan
        self.request_mw = request_mw  # None: receive only; else a powered device asking for it
        self.dir = Path(tempfile.mkdtemp(prefix="vigil-lldpd-"))
        self.dir.chmod(0o755)  # lldpcli drops root for the _lldpd user before it connects
        self.socket = str(self.dir / "lldpd.socket")
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        flags = "-r -c -H 0 -O /dev/null"
        if self.request_mw is not None:
            config = self.dir / "lldpd.conf"
            config.write_text(f"configure med power pd source pse priority high value {self.request_mw}\n"
                              "configure dot3 power pd supported enabled powerpairs signal class class-4 type 2 "
                              f"source pse priority high requested {self.request_mw} allocated 0\n")
            config.chmod(0o644)
            flags = f"-M 4 -O {config}"
        script = ("mount -t tmpfs none /run && mkdir -p /run/lldpd && "
                  f"exec lldpd -d {flags} -u {self.socket} -I {self.lan.peer_if}")
        log = (self.dir / "lldpd.log").open("wb")
        self.process = subprocess.Popen(self.lan.command("unshare", "--mount", "--propagation", "private",
                                                         "sh", "-c", script), stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not os.path.exists(self.socket):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("lldpd did not start: " + (self.dir / "lldpd.log").read_text())
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)
        shutil.rmtree(self.dir, ignore_errors=True)

    def neighbors(self) -> list[dict]:
        """Each neighbour lldpd knows on the peers' interface: {"protocol": "LLDP"|"CDPv2", ...}."""
        out = self.lan.run("lldpcli", "-u", self.socket, "-f", "json0", "show", "neighbors", "details")
        found = []
        for interface in json.loads(out).get("lldp", [{}])[0].get("interface", []):
            chassis = interface.get("chassis", [{}])[0]
            port = interface.get("port", [{}])[0]
            found.append({
                "protocol": interface.get("via"),
                "name": _value(chassis.get("name")),
                "description": _value(chassis.get("descr")),
                "chassis_id": _value(chassis.get("id")),
                "management": [_value([m]) for m in chassis.get("mgmt-ip", [])],
                "port_id": _value(port.get("id")),
                "port_description": _value(port.get("descr")),
                "ttl": _value(port.get("ttl")),
            })
        return found


MED_POWER = bytes.fromhex("fe070012bb04")  # TLV 127, length 7, TIA OUI, Extended Power-via-MDI


def powered_device(lan: Lan, milliwatts: int, timeout: float = 20.0) -> bytes:
    """The first LLDP frame carrying a power request that lldpd, as a camera asking for
    `milliwatts`, sends to the device's end of the cable."""
    if shutil.which("lldpd") is None:
        pytest.skip("lldpd is not installed (make debs installs it)")
    receiver = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x88CC))
    receiver.bind((lan.device_if, 0))
    daemon = Lldpd(lan, milliwatts)
    try:
        daemon.start()
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            receiver.settimeout(left)
            frame = receiver.recv(1600)
            if MED_POWER in frame:
                return frame
        raise RuntimeError("lldpd sent no LLDP-MED power request: " + (daemon.dir / "lldpd.log").read_text())
    except TimeoutError:
        raise RuntimeError("lldpd sent no LLDP-MED power request") from None
    finally:
        receiver.close()
        daemon.stop()


def _value(entries: list[dict] | None) -> str | None:
    return entries[0].get("value") if entries else None


@pytest.fixture(scope="module")
def lldpd(lan: Lan) -> Iterator[Lldpd]:
    if shutil.which("lldpd") is None or shutil.which("lldpcli") is None:
        pytest.skip("lldpd is not installed (make debs installs it)")
    daemon = Lldpd(lan)
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()
