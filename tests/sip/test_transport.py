"""The transports' TLS side: a message to a peer whose TLS connection has ended is not sent in
clear over UDP (the next message to another peer is what arrives), and the end of a connection
is told to the owner."""

from __future__ import annotations

import asyncio
import socket
import ssl
from pathlib import Path

from tests.conftest import free_port
from vigil.features.sip.tls import client_context, server_context
from vigil.features.sip.transport import Transports
from vigil.http.tls import ensure_certificate


async def test_no_clear_text_to_a_peer_whose_tls_connection_ended(tmp_path: Path) -> None:
    ensure_certificate(tmp_path / "cert.pem", tmp_path / "key.pem", "peer", ["localhost"])
    context = server_context()
    context.load_cert_chain(str(tmp_path / "cert.pem"), str(tmp_path / "key.pem"))
    port = free_port()
    accepted: asyncio.Queue[asyncio.StreamWriter] = asyncio.Queue()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.put_nowait(writer)

    peer = await asyncio.start_server(accept, "127.0.0.1", port, ssl=context)
    clear = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)  # the same port number over UDP
    clear.bind(("0.0.0.0", port))
    clear.setblocking(False)
    ended: asyncio.Queue[tuple[str, int]] = asyncio.Queue()
    transports = Transports("127.0.0.1", 0, lambda data, addr: None, closed=lambda addr, _, why: ended.put_nowait(addr))
    await transports.start()
    try:
        await transports.connect(("127.0.0.1", port), client_context("auto", verify=False))
        assert transports.name(("127.0.0.1", port)) == "TLS"
        (await accepted.get()).close()
        assert await asyncio.wait_for(ended.get(), 5) == ("127.0.0.1", port)
        transports.send(b"OPTIONS in clear", ("127.0.0.1", port))
        transports.send(b"marker", ("127.0.0.2", port))  # another peer, no TLS: UDP
        data = await asyncio.wait_for(asyncio.get_running_loop().sock_recv(clear, 100), 5)
        assert data == b"marker"
    finally:
        await transports.stop()
        clear.close()
        peer.close()


def test_tls_versions_take_effect_on_the_context() -> None:
    assert client_context("1.3", verify=False).minimum_version == ssl.TLSVersion.TLSv1_3
    assert client_context("1.2", verify=False).maximum_version == ssl.TLSVersion.TLSv1_2
    assert client_context("auto", verify=True).verify_mode == ssl.CERT_REQUIRED
