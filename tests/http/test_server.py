"""The listeners' transport: response heads go out with the header names clients parse in their
usual case, as clients built for cameras search for them (libonvif looks for `Content-Length: `
as written)."""

from __future__ import annotations

import socket

from tests.conftest import LiveDevice
from vigil.http.server import canonical_head


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
