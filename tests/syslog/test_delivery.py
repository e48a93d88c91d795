"""Delivery against a bare receiver that keeps the exact bytes: octet-counted frames, the
severity threshold and type, nothing kept for a server that is down (dropped, counted, logged
once) and sending again when it is back, the bounded queue, entries from other threads, a server
that stops reading, and the parameters turning the senders on and off."""

from __future__ import annotations

import asyncio
import re

import httpx

from tests.conftest import eventually
from tests.peers.processes import free_port
from tests.syslog.conftest import Receiver, configure, syslog
from vigil.device import Device
from vigil.features.syslog.const import MAX_QUEUE

RFC5424 = re.compile(rb"^<(\d+)>1 \S+ (\S+) (\S+) (\d+) (\S+) (-|\[.*?\]) \xef\xbb\xbf(.*)$", re.S)


async def arrived(receiver: Receiver, needle: bytes, what: str = "") -> bytes:
    return await eventually(lambda: next((m for m in receiver.messages if needle in m), None), 10,
                            what or needle.decode())


async def test_tcp_octet_counted_rfc5424(dev: Device, receiver: Receiver) -> None:
    service = await configure(dev, {"address": "127.0.0.1", "port": receiver.tcp_port, "protocol": "TCP",
                                    "severity": "Informational"})
    assert service.senders[0].state == "connected"
    dev.logs.system("line one\nwith a newline and \u20ac", "warning", "storage")
    dev.logs.audit("root", "set root.X=1", "params")
    message = await arrived(receiver, b"set root.X=1")
    first = next(m for m in receiver.messages if b"line one" in m)
    pri, host, app, _pid, msgid, sd, text = RFC5424.match(first).groups()
    assert (pri, host, app, msgid, sd) == (b"28", dev.logs.host.encode(), b"storage", b"SYSTEM", b"-")
    assert text.decode() == "line one\nwith a newline and \u20ac"  # framing carries any byte
    assert RFC5424.match(message).group(6) == b'[vigil@32473 user="root"]'
    assert receiver.bad_frames == 0 and receiver.connections == 1


async def test_threshold_and_type(dev: Device, receiver: Receiver) -> None:
    await configure(dev, {"address": "127.0.0.1", "port": receiver.tcp_port, "protocol": "TCP",
                          "severity": "Error"},
                    {"address": "127.0.0.1", "port": receiver.udp_port, "protocol": "UDP", "severity": "Debug",
                     "type": "Audit", "syslogFormat": "RFC3164"})
    dev.logs.system("only-a-warning", "warning")
    dev.logs.system("an-error", "error")
    dev.logs.audit("root", "audited-change", "params")
    dev.logs.system("last-error", "error")
    await arrived(receiver, b"last-error")
    await arrived(receiver, b"audited-change")
    texts = b"\n".join(receiver.messages)
    assert b"only-a-warning" not in texts  # below Error, and not an audit entry
    assert texts.count(b"an-error") == 1  # the TCP server only: the UDP one takes audit entries
    udp = next(m for m in receiver.messages if b"audited-change" in m)
    assert re.match(rb"^<109>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \S+ params\[\d+\]: user=root audited-change$", udp)


async def test_nothing_is_kept_for_a_server_that_is_down(dev: Device) -> None:
    receiver = Receiver()
    port = free_port()  # nothing listens there yet
    service = await configure(dev, {"address": "127.0.0.1", "port": port, "protocol": "TCP", "severity": "Debug"})
    sender = service.senders[0]
    assert sender.state == "down" and "refused the connection" in sender.last_error
    for n in range(5):
        dev.logs.system(f"while-down-{n}", "error")
    assert sender.dropped >= 5 and not sender.queue
    system = dev.logs.text("system")
    assert system.count(f"remote syslog: 127.0.0.1:{port} (TCP) refused the connection") == 1  # once, not per try
    await receiver.start_tcp(port)
    try:
        await eventually(lambda: sender.state == "connected", 10, "the sender to reconnect")
        dev.logs.system("after-return", "error")
        await arrived(receiver, b"after-return")
        assert not any(b"while-down" in m for m in receiver.messages)  # nothing was buffered
        assert re.search(rf"remote syslog: 127.0.0.1:{port} over TCP reachable again; \d+ messages were dropped",
                         dev.logs.text("system"))
        status = sender.status()
        assert status["state"] == "connected" and status["dropped"] >= 5 and status["sent"] >= 1
    finally:
        await receiver.close()


async def test_the_queue_is_bounded(dev: Device, receiver: Receiver) -> None:
    """A burst beyond MAX_QUEUE within one turn of the event loop: the rest is dropped and counted,
    what was queued arrives, and the log path never waited."""
    service = await configure(dev, {"address": "127.0.0.1", "port": receiver.tcp_port, "protocol": "TCP",
                                    "severity": "Debug"})
    sender = service.senders[0]
    total = MAX_QUEUE + 500
    for n in range(total):
        dev.logs.system(f"burst {n}", "info")
    assert sender.dropped == total - MAX_QUEUE and len(sender.queue) == MAX_QUEUE
    await eventually(lambda: sum(b"burst " in m for m in receiver.messages) == MAX_QUEUE, 20, "the queued burst")
    assert sender.sent >= MAX_QUEUE and not sender.queue


async def test_entries_from_other_threads(dev: Device, receiver: Receiver) -> None:
    await configure(dev, {"address": "127.0.0.1", "port": receiver.udp_port, "protocol": "UDP"})
    await asyncio.to_thread(dev.logs.system, "from-a-worker-thread", "error")
    await arrived(receiver, b"from-a-worker-thread")


async def test_a_server_that_stops_reading_does_not_hold_the_device(dev: Device, admin: httpx.AsyncClient) -> None:
    """The server accepts and never reads: the socket buffers fill, the sender waits on them, the
    queue fills and the rest is dropped; the device answers meanwhile."""
    stalled: list[asyncio.StreamWriter] = []

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        stalled.append(writer)  # never reads

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    try:
        port = server.sockets[0].getsockname()[1]
        service = await configure(dev, {"address": "127.0.0.1", "port": port, "protocol": "TCP", "severity": "Debug"})
        sender = service.senders[0]
        big = "x" * 2000
        for round_ in range(20):
            for n in range(1000):
                dev.logs.system(f"{round_}-{n} {big}", "info")
            await asyncio.sleep(0)
        await eventually(lambda: sender.dropped > 0, 10, "drops once the server stopped taking more")
        r = await admin.get("/axis-cgi/param.cgi", params={"action": "list", "group": "Brand"})
        assert r.status_code == 200 and "root.Brand" in r.text
        assert len(sender.queue) <= MAX_QUEUE
    finally:
        for writer in stalled:
            writer.close()
        server.close()


async def test_disable_stops_the_senders_and_enable_starts_them(dev: Device, receiver: Receiver) -> None:
    service = await configure(dev, {"address": "127.0.0.1", "port": receiver.tcp_port, "protocol": "TCP"})
    service.set_enabled(False, "test")
    await eventually(lambda: not service.senders, 5, "the senders to stop")
    dev.logs.system("while-disabled", "error")
    service.set_enabled(True, "test")
    await eventually(lambda: service.senders and service.senders[0].state == "connected", 5, "the sender again")
    dev.logs.system("enabled-again", "error")
    await arrived(receiver, b"enabled-again")
    assert not any(b"while-disabled" in m for m in receiver.messages)


async def test_the_test_method_sends_each_severity_the_threshold_lets_through(dev: Device, receiver: Receiver) -> None:
    service = await configure(dev, {"address": "127.0.0.1", "port": receiver.tcp_port, "protocol": "TCP",
                                    "severity": "Warning", "type": "Audit"})
    service.test("root")
    await eventually(lambda: sum(b"Remote syslog test message" in m for m in receiver.messages) == 5, 10,
                     "five test messages: Emergency to Warning")
    severities = sorted(int(RFC5424.match(m).group(1)) % 8 for m in receiver.messages
                        if b"Remote syslog test message" in m)
    assert severities == [0, 1, 2, 3, 4]


async def test_testing_settings_not_saved_yet(dev: Device, receiver: Receiver) -> None:
    service = syslog(dev)
    closed = free_port()
    results = await service.test_servers(
        [*service_servers(receiver.tcp_port, "TCP"), *service_servers(closed, "TCP", "127.0.0.2")], [], "root")
    assert [r["result"] for r in results] == ["sent", "failed"]
    assert "refused the connection" in results[1]["message"]
    await eventually(lambda: sum(b"Remote syslog test message" in m for m in receiver.messages) == 5, 10,
                     "the test messages")
    assert not service.senders and service.enabled is False  # nothing was saved or started


def service_servers(port: int, protocol: str, address: str = "127.0.0.1") -> list:
    from tests.syslog.conftest import servers

    return servers({"address": address, "port": port, "protocol": protocol})
