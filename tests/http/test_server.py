"""The listeners' transport: response heads go out with the header names clients parse in their
usual case, as clients built for cameras search for them (libonvif looks for `Content-Length: `
as written)."""

from __future__ import annotations

import asyncio
import socket

from tests.conftest import LiveDevice
from vigil.http.server import _CoalescingTransport, canonical_head


def test_header_names_in_their_usual_case() -> None:
    head = (b"HTTP/1.1 401 Unauthorized\r\ndate: x\r\ncontent-length: 12\r\ncontent-type: text/plain\r\n"
            b"www-authenticate: Digest realm=\"content-type: b\"\r\nx-vigil-origin: http://h\r\n\r\n")
    assert canonical_head(head) == (
        b"HTTP/1.1 401 Unauthorized\r\nDate: x\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n"
        b"WWW-Authenticate: Digest realm=\"content-type: b\"\r\nx-vigil-origin: http://h\r\n\r\n")


def test_a_live_reply_says_content_length(live: LiveDevice) -> None:
    with socket.create_connection(("127.0.0.1", live.http_port), timeout=10) as sock:
        sock.sendall(b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/soap+xml\r\nContent-Length: 0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head = reply.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nContent-Length: " in head and b"\r\nContent-Type: " in head, head


def test_a_body_of_any_buffer_type_goes_out_as_it_is() -> None:
    """A streamed body comes as a memoryview or bytearray too (the encrypted export does)."""
    sent: list[bytes] = []

    class Transport:
        def is_closing(self) -> bool:
            return False

        def writelines(self, data) -> None:
            sent.extend(bytes(d) for d in data)

    loop = asyncio.new_event_loop()
    try:
        transport = _CoalescingTransport(Transport(), loop)  # type: ignore[arg-type]
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\n\r\n")
        transport.write(memoryview(b"Salted__"))
        transport.write(bytearray(b"HTTP/1.1 \r\n\r\n"))
        transport.flush()
    finally:
        loop.close()
    assert sent == [b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\n", b"Salted__", b"HTTP/1.1 \r\n\r\n"]
