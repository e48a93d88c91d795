"""Delivery: TCP recipients, timeouts of every network kind, parallel deliveries, and how failures
are explained. (Network share recipients against a real Samba server: test_share.py.)"""

from __future__ import annotations

import asyncio
import socket
import time
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from tests.conftest import free_port
from vigil.features.notify import delivery as notify
from vigil.features.notify.delivery import deliver
from vigil.features.notify.model import Message, Recipient, RecipientError


@pytest_asyncio.fixture
async def listener() -> AsyncIterator[tuple[int, list[bytes], asyncio.Queue]]:
    """A TCP server that reads each connection to its end."""
    got: list[bytes] = []
    arrived: asyncio.Queue = asyncio.Queue()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        got.append(await reader.read())
        arrived.put_nowait(None)
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], got, arrived
    server.close()
    await server.wait_closed()


@pytest_asyncio.fixture
async def black_hole() -> AsyncIterator[int]:
    """A TCP server whose connections are accepted and never read from: its window fills and writes block."""
    held: list[asyncio.StreamWriter] = []

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.transport.pause_reading()
        held.append(writer)

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by accepted connections
    sock.bind(("127.0.0.1", 0))
    server = await asyncio.start_server(accept, sock=sock)
    yield sock.getsockname()[1]
    for writer in held:
        writer.close()
    server.close()


async def test_tcp_sends_the_body(listener) -> None:  # noqa: ANN001
    port, got, arrived = listener
    await deliver(Recipient("vms", "tcp", {"host": "127.0.0.1", "port": str(port)}),
                  Message("ignored subject", "ALARM;cam=1;zone=gate ✓"))
    await asyncio.wait_for(arrived.get(), 2)
    assert got == ["ALARM;cam=1;zone=gate ✓".encode()]
    await notify.test_recipient(Recipient("vms", "tcp", {"host": "127.0.0.1", "port": str(port)}))
    await asyncio.wait_for(arrived.get(), 2)
    assert b"test message" in got[1]


async def test_tcp_closed_port_fails_fast() -> None:
    t0 = time.monotonic()
    with pytest.raises(RecipientError, match=r"^Recipient 'vms': connection refused by 127\.0\.0\.1:\d+: no server"):
        await deliver(Recipient("vms", "tcp", {"host": "127.0.0.1", "port": str(free_port())}), Message("s", "b"))
    assert time.monotonic() - t0 < 2.0  # refused at once, not after the 15 s timeout


async def test_hanging_target_does_not_delay_another(listener, black_hole: int) -> None:  # noqa: ANN001
    port, got, arrived = listener
    big = Message("s", "x" * 16_000_000)  # more than the socket buffers take: the write blocks
    slow = Recipient("slow", "tcp", {"host": "127.0.0.1", "port": str(black_hole)})
    fast_tcp = Recipient("fast", "tcp", {"host": "127.0.0.1", "port": str(port)})
    t0 = time.monotonic()
    slow_task = asyncio.create_task(deliver(slow, big, timeout=1.0))
    others = asyncio.gather(deliver(fast_tcp, Message("s", "hi"), timeout=5),
                            deliver(fast_tcp, Message("s", "again"), timeout=5))
    await asyncio.wait([others, slow_task], return_when=asyncio.FIRST_COMPLETED)
    assert others.done() and not slow_task.done()  # both delivered while the slow one still hangs
    assert others.result() == [None, None]
    await asyncio.wait_for(arrived.get(), 2)
    await asyncio.wait_for(arrived.get(), 2)
    assert sorted(got) == [b"again", b"hi"]
    with pytest.raises(RecipientError) as info:
        await slow_task
    elapsed = time.monotonic() - t0
    assert str(info.value) == f"Recipient 'slow': no answer from 127.0.0.1:{black_hole} within 1 s"
    assert 0.95 < elapsed < 2.5


async def test_silent_server_times_out_for_every_network_kind() -> None:
    """A server that accepts the connection and never says anything: each kind gives up at its timeout."""
    held: list[asyncio.StreamWriter] = []

    def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = str(server.sockets[0].getsockname()[1])
    host = {"host": "127.0.0.1", "port": port}
    recipients = [
        Recipient("http", "http", {"url": f"http://127.0.0.1:{port}/x"}),
        Recipient("https", "https", {"url": f"https://127.0.0.1:{port}/x", "validate_cert": "no"}),
        Recipient("email", "email", {**host, "from": "a@b.test", "to": "c@d.test", "encryption": "none"}),
        Recipient("smtps", "email", {**host, "from": "a@b.test", "to": "c@d.test", "encryption": "ssl"}),
        Recipient("ftp", "ftp", host),
        Recipient("sftp", "sftp", {**host, "username": "u", "fingerprint": "SHA256:" + "A" * 43}),
    ]
    t0 = time.monotonic()
    try:
        results = await asyncio.gather(*(deliver(r, Message("s", "b"), timeout=0.5) for r in recipients),
                                       return_exceptions=True)
    finally:
        for writer in held:
            writer.close()
        server.close()
    elapsed = time.monotonic() - t0
    for rcp, result in zip(recipients, results, strict=True):
        assert isinstance(result, RecipientError), (rcp.name, result)
        assert str(result) == f"Recipient '{rcp.name}': no answer from 127.0.0.1:{port} within 0.5 s", rcp.name
    assert elapsed < 3.0  # 0.5 s each, in parallel (slack for first imports on a loaded machine)


def test_explain_name_resolution_failure() -> None:
    err = OSError("connect failed")
    err.__cause__ = socket.gaierror(-2, "Name or service not known")
    text = notify.explain(err, {"host": "nas.example", "port": "21"}, 15)
    assert text == "could not resolve the host name 'nas.example' (check the DNS settings)"
