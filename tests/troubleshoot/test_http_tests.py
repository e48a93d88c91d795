"""Ping and port check from the device through pingtest.cgi and tcptest.cgi: the verdict line
clients match on and the details, against loopback and against an address of the test's own
namespace that answers nothing; bad input; administrators only; the audit log."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest

from tests.conftest import client_as
from tests.peers.processes import free_port
from vigil.device import Device
from vigil.features.troubleshoot import probes


async def test_ping_a_host_that_answers(admin: httpx.AsyncClient, device: Device) -> None:
    r = await admin.get("/axis-cgi/pingtest.cgi", params={"ip": "127.0.0.1"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert lines[0] == "got response"
    assert "3 packets transmitted, 3 received, 0% packet loss" in r.text and "rtt min/avg/max" in r.text
    assert "user=root pinged 127.0.0.1: got response" in device.logs.text("audit")
    r = await admin.get("/axis-cgi/pingtest.cgi", params={"ip": "localhost"})
    assert r.text.startswith("got response\n")


async def test_ping_a_host_that_does_not(admin: httpx.AsyncClient, dead_end: str) -> None:
    r = await admin.get("/axis-cgi/pingtest.cgi", params={"ip": dead_end})
    lines = r.text.splitlines()
    assert lines[0] == "no response" and "0 received" in r.text, r.text


async def test_ping_bad_input(admin: httpx.AsyncClient) -> None:
    for bad in ("", "-f", "127.0.0.1; reboot", "$(reboot)", "999.1.1.1", "x" * 300):
        r = await admin.get("/axis-cgi/pingtest.cgi", params={"ip": bad})
        assert r.status_code == 200 and r.text.startswith("Error: "), (bad, r.text)
    r = await admin.get("/axis-cgi/pingtest.cgi")
    assert r.text == "Error: give the host name or IP address to try\n"
    r = await admin.get("/axis-cgi/pingtest.cgi", params={"ip": "no-such-host.invalid"})
    assert r.text.startswith("no response\n") and "no-such-host.invalid" in r.text


async def test_port_check_tcp(admin: httpx.AsyncClient, device: Device) -> None:
    server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        r = await admin.get("/axis-cgi/tcptest.cgi", params={"address": "127.0.0.1", "port": str(port)})
        assert r.text.splitlines()[0] == "Test successful."
        assert f"127.0.0.1:{port} (TCP) accepted a connection in" in r.text
    finally:
        server.close()
    closed = free_port()
    r = await admin.get("/axis-cgi/tcptest.cgi", params={"address": "127.0.0.1", "port": str(closed)})
    assert r.text == f"Test failed: 127.0.0.1:{closed} (TCP) refused the connection: nothing listens there\n"
    audit = device.logs.text("audit")
    assert f"checked port {port}/tcp of 127.0.0.1: Test successful." in audit
    assert f"checked port {closed}/tcp of 127.0.0.1: Test failed:" in audit


async def test_port_check_without_an_answer(admin: httpx.AsyncClient, dead_end: str,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(probes, "PORT_TIMEOUT", 1.0)
    r = await admin.get("/axis-cgi/tcptest.cgi", params={"address": dead_end, "port": "80"})
    assert r.text.startswith("Test failed: "), r.text
    assert f"{dead_end}:80 (TCP)" in r.text


async def test_port_check_udp(admin: httpx.AsyncClient) -> None:
    closed = free_port()
    r = await admin.get("/axis-cgi/tcptest.cgi", params={"address": "127.0.0.1", "port": str(closed),
                                                         "protocol": "udp"})
    assert r.text == f"Test failed: 127.0.0.1:{closed} (UDP) is closed: the host answered port unreachable\n"
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as listening:
        listening.bind(("127.0.0.1", 0))
        port = listening.getsockname()[1]
        r = await admin.get("/axis-cgi/tcptest.cgi", params={"address": "127.0.0.1", "port": str(port),
                                                             "protocol": "UDP"})
        assert r.text.startswith("Test successful.\nNo error came back from 127.0.0.1:")
        assert listening.recv(10) == b"\0"  # the datagram the check sent


async def test_port_check_bad_input(admin: httpx.AsyncClient) -> None:
    cases = [({"address": "127.0.0.1"}, "Error: give the port to check\n"),
             ({"port": "80"}, "Error: give the host name or IP address to try\n"),
             ({"address": "127.0.0.1", "port": "0"}, "Error: the port is a number from 1 to 65535\n"),
             ({"address": "127.0.0.1", "port": "65536"}, "Error: the port is a number from 1 to 65535\n"),
             ({"address": "127.0.0.1", "port": "\uff18\uff10"}, "Error: the port is a number from 1 to 65535\n"),
             ({"address": "127.0.0.1", "port": "80", "protocol": "sctp"}, "Error: the protocol is tcp or udp\n"),
             ({"address": "a b", "port": "80"}, "Error: not a host name nor an IP address\n")]
    for params, reply in cases:
        r = await admin.get("/axis-cgi/tcptest.cgi", params=params)
        assert r.text == reply, params


async def test_administrators_only(device: Device) -> None:
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            for path, params in (("/axis-cgi/pingtest.cgi", {"ip": "127.0.0.1"}),
                                 ("/axis-cgi/tcptest.cgi", {"address": "127.0.0.1", "port": "80"})):
                r = await c.get(path, params=params)
                assert r.status_code == 403, (role, path)
