"""The network trace (debug.tgz?cmd=pcapdump) on loopback, read back by tshark: the packets sent
during the trace are in the file; the size bound keeps whole packets and a valid file; one trace
at a time; a trace stopped midway leaves no capture running; the crash report holds the last
trace; bad input and missing tools give clear errors; administrators only."""

from __future__ import annotations

import asyncio
import io
import secrets
import tarfile
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import client_as, eventually
from tests.peers.processes import free_port
from tests.troubleshoot.conftest import needs_capture, send_marked, tshark
from vigil.device import Device
from vigil.features.troubleshoot import trace as trace_module
from vigil.features.troubleshoot.trace import NetworkTrace

DEBUG = "/axis-cgi/debug/debug.tgz"
# What the archive holds besides the server report and the logs (test_debug_archive.py looks inside).
DIAGNOSTICS = ["config/parameters.txt", "config/settings.json", "config/actions.json", "config/rules.json",
               "config/recipients.json", "config/schedules.json", "config/sources.json", "config/accounts.txt",
               "system/state.txt", "system/software.json"]


async def traced(admin: httpx.AsyncClient, port: int, marker: bytes, seconds: int = 2,
                 **params: str) -> httpx.Response:
    """A trace of loopback for `seconds` while datagrams with `marker` go to `port`."""
    stop = asyncio.Event()
    sending = asyncio.create_task(send_marked(port, marker, stop))
    try:
        return await admin.get(DEBUG, params={"cmd": "pcapdump", "duration": str(seconds), "interface": "lo",
                                              **params}, timeout=60)
    finally:
        stop.set()
        await sending


async def test_a_trace_holds_the_packets_of_its_time(admin: httpx.AsyncClient, device: Device,
                                                     tracer: NetworkTrace, tmp_path: Path) -> None:
    needs_capture()
    port, marker = free_port(), secrets.token_hex(8).encode()
    r = await traced(admin, port, marker)
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.tcpdump.pcap", r.text
    assert f'filename="trace_{device.identity.serial}_lo.pcap"' in r.headers["content-disposition"]
    assert r.content[:4] in (b"\xd4\xc3\xb2\xa1", b"\xa1\xb2\xc3\xd4")
    pcap = tmp_path / "trace.pcap"
    pcap.write_bytes(r.content)
    found = tshark(pcap, f"udp.dstport == {port} && !icmp", "ip.src", "udp.dstport", "data.data")
    assert len(found) >= 10, found  # 2 s of one datagram every 50 ms
    assert all(row == ["127.0.0.1", str(port), marker.hex()] for row in found)
    last = tracer.last
    assert last is not None and last.interface == "lo" and 1.5 < last.seconds < 10 and not last.cut
    assert f"user=root took a network trace on lo: 2 s, {last.packets} packets" in device.logs.text("audit")


async def test_the_default_is_every_interface(admin: httpx.AsyncClient, tracer: NetworkTrace,
                                             tmp_path: Path) -> None:
    """On `any` tcpdump notes its link type before it listens (the start is not its first line)."""
    needs_capture()
    port, marker = free_port(), secrets.token_hex(8).encode()
    stop = asyncio.Event()
    sending = asyncio.create_task(send_marked(port, marker, stop))
    try:
        r = await admin.get(DEBUG, params={"cmd": "pcapdump", "duration": "1"}, timeout=60)
    finally:
        stop.set()
        await sending
    assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.tcpdump.pcap", r.text
    (tmp_path / "any.pcap").write_bytes(r.content)
    assert tshark(tmp_path / "any.pcap", f"udp.dstport == {port} && !icmp", "sll.ifindex", "data.data")
    assert tracer.last is not None and tracer.last.interface == "any"


async def test_the_size_bound_keeps_whole_packets(admin: httpx.AsyncClient, tracer: NetworkTrace,
                                                  tmp_path: Path) -> None:
    needs_capture()
    # Above the largest loopback packet with its record header (65,536 + 30), so that the first
    # packet always fits whatever else the machine sends on loopback meanwhile; the markers
    # (28 kB/s) reach it in a few seconds.
    tracer.max_bytes = 70_000
    port, marker = free_port(), b"m" * 1400
    r = await traced(admin, port, marker, seconds=30)  # the bound stops it long before
    assert r.status_code == 200, r.text
    assert 24 < len(r.content) <= 70_000
    pcap = tmp_path / "cut.pcap"
    pcap.write_bytes(r.content)
    frames = tshark(pcap, "frame", "frame.len")  # readable, not cut in a packet (loopback holds others' too)
    assert tracer.last is not None and tracer.last.cut and tracer.last.seconds < 30
    assert len(frames) == tracer.last.packets > 0


async def test_one_trace_at_a_time_and_a_client_gone_stops_it(device: Device, tracer: NetworkTrace,
                                                              admin: httpx.AsyncClient) -> None:
    needs_capture()
    first = asyncio.create_task(admin.get(DEBUG, params={"cmd": "pcapdump", "duration": "60"}, timeout=90))
    await eventually(lambda: tracer.running and _captures(), 10, "the first trace to run")
    r = await admin.get(DEBUG, params={"cmd": "pcapdump", "duration": "1"})
    assert r.text == "Error: a network trace is running already; try again when it is done\n"
    first.cancel()  # the client goes away
    with pytest.raises(asyncio.CancelledError):
        await first
    assert not tracer.running and not _captures()
    assert tracer.last is None and not list(tracer._folder.iterdir())  # noqa: SLF001 - nothing left behind


def _captures() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if p.name() == "tcpdump"]


async def test_the_crash_report_holds_the_last_trace(admin: httpx.AsyncClient, device: Device,
                                                     tracer: NetworkTrace, tmp_path: Path) -> None:
    needs_capture()
    r = await admin.get(DEBUG)
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-gzip"
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as archive:
        names = archive.getnames()
    serial = device.identity.serial
    assert sorted(names) == sorted([f"serverreport_{serial}.txt", "system.log", "access.log", "audit.log",
                                    *DIAGNOSTICS])
    port, marker = free_port(), secrets.token_hex(8).encode()
    await traced(admin, port, marker, seconds=1)
    r = await admin.get(DEBUG)
    assert f'filename="debug_{serial}_' in r.headers["content-disposition"]
    with tarfile.open(fileobj=io.BytesIO(r.content), mode="r:gz") as archive:
        assert "network-trace.pcap" in archive.getnames()
        (tmp_path / "kept.pcap").write_bytes(archive.extractfile("network-trace.pcap").read())
        report = archive.extractfile(f"serverreport_{serial}.txt").read().decode()
    assert "root.Brand.ProdNbr=S3016" in report
    assert tshark(tmp_path / "kept.pcap", f"udp.dstport == {port} && !icmp", "data.data")[0] == [marker.hex()]
    assert "user=root downloaded the crash report with the last network trace" in device.logs.text("audit")


async def test_bad_input_and_missing_tools(admin: httpx.AsyncClient, tracer: NetworkTrace,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    cases = [({"cmd": "pcapdump"}, "Error: give the trace time in seconds: duration=1 to 3600\n"),
             ({"cmd": "pcapdump", "duration": "0"}, "Error: the trace time is a whole number of seconds from 1 to 3600\n"),
             ({"cmd": "pcapdump", "duration": "3601"}, None), ({"cmd": "pcapdump", "duration": "1.5"}, None),
             ({"cmd": "pcapdump", "duration": "-1"}, None), ({"cmd": "pcapdump", "duration": "9" * 5000}, None),
             ({"cmd": "coredump"}, "Error: unknown cmd; the device knows cmd=pcapdump, or none for the crash report\n")]
    for params, reply in cases:
        r = await admin.get(DEBUG, params=params)
        assert r.status_code == 200 and r.text.startswith("Error: "), (params, r.text)
        if reply:
            assert r.text == reply
    r = await admin.get(DEBUG, params={"cmd": "pcapdump", "duration": "1", "interface": "../../etc"})
    assert r.text.startswith("Error: no such network interface; the device has any, ") and ", lo" in r.text
    monkeypatch.setattr(trace_module.shutil, "which", lambda name: None)
    r = await admin.get(DEBUG, params={"cmd": "pcapdump", "duration": "1"})
    assert r.text == "Error: the network trace needs tcpdump, which is not installed on this device\n"
    assert tracer.last is None and not tracer.running


async def test_administrators_only(device: Device) -> None:
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            for params in ({"cmd": "pcapdump", "duration": "1"}, {}):
                r = await c.get(DEBUG, params=params)
                assert r.status_code == 403, (role, params)
