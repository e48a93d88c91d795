"""Fixtures of the Troubleshoot tests: `tracer`, the device's network trace (its kept trace
removed afterwards); `tshark`, reading a pcap as Wireshark does (Debian's tshark); `dead_end`,
an address in a network namespace of the test's own that answers nothing (a veth pair whose far
end has no address), removed afterwards; and traffic with a marker on loopback."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from vigil.device import Device
from vigil.features.troubleshoot.trace import TRACE_SERVICE, NetworkTrace

TSHARK = shutil.which("tshark") or "/usr/bin/tshark"


@pytest.fixture
def tracer(device: Device) -> Iterator[NetworkTrace]:
    trace = device.features[TRACE_SERVICE]
    yield trace
    trace.close()


def needs_capture() -> None:
    if shutil.which("tcpdump") is None or not Path(TSHARK).exists():
        pytest.skip("tcpdump and tshark are not installed (make debs installs them)")
    if os.geteuid() != 0:
        pytest.skip("capturing packets needs root here")


def tshark(pcap: Path, display_filter: str, *fields: str) -> list[list[str]]:
    """The packets of `pcap` that match `display_filter`, as the values of `fields`; fails when
    tshark finds the file damaged."""
    run = subprocess.run([TSHARK, "-r", str(pcap), "-Y", display_filter, "-T", "fields",
                          *(x for f in fields for x in ("-e", f))], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert "cut short" not in run.stderr and "appears to be damaged" not in run.stderr, run.stderr
    return [line.split("\t") for line in run.stdout.splitlines()]


async def send_marked(port: int, marker: bytes, stop: asyncio.Event) -> int:
    """UDP datagrams holding `marker` to 127.0.0.1:`port` every 50 ms until `stop`; how many."""
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        while not stop.is_set():
            s.sendto(marker, ("127.0.0.1", port))
            sent += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    return sent


@pytest.fixture
def dead_end() -> Iterator[str]:
    """An IPv4 address on a veth link of the test's own whose far end (in a namespace of its own)
    has no address: pings and connections to it get no answer. Needs root."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("network namespaces need root and iproute2")
    tag = secrets.token_hex(3)
    ns, near, far = f"vigil-ts-{tag}", f"vts{tag}", f"vtp{tag}"
    subnet = f"10.{200 + secrets.randbelow(50)}.{secrets.randbelow(250)}"

    def ip(*args: str) -> None:
        subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)

    ip("netns", "add", ns)
    try:
        ip("link", "add", near, "type", "veth", "peer", "name", far)
        ip("link", "set", far, "netns", ns)
        ip("addr", "add", f"{subnet}.1/30", "dev", near)
        ip("link", "set", near, "up")
        ip("-n", ns, "link", "set", far, "up")
        yield f"{subnet}.2"
    finally:
        subprocess.run(["ip", "link", "del", near], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)
