"""The listeners' transport: response heads go out with header names in their usual case, as
clients built for cameras search for them (libonvif looks for `Content-Length: ` as written),
and nothing that is not a head is touched."""

from __future__ import annotations

import socket

from tests.conftest import LiveDevice
from vigil.http.server import canonical_head


def test_header_names_in_their_usual_case() -> None:
    head = (b"HTTP/1.1 401 Unauthorized\r\ndate: x\r\ncontent-length: 12\r\ncontent-type: text/plain\r\n"
            b"www-authenticate: Digest realm=\"a: b\"\r\netag: \"1\"\r\nx-vigil-origin: http://h\r\n\r\n")
    assert canonical_head(head) == (
        b"HTTP/1.1 401 Unauthorized\r\nDate: x\r\nContent-Length: 12\r\nContent-Type: text/plain\r\n"
        b"WWW-Authenticate: Digest realm=\"a: b\"\r\nETag: \"1\"\r\nX-Vigil-Origin: http://h\r\n\r\n")
    body = b"HTTP/1.1 200 OK\r\nthis is text, not a header\r\n\r\n"  # a body that only looks like a head
    assert canonical_head(body) == body


def test_a_live_reply_says_content_length(live: LiveDevice) -> None:
    with socket.create_connection(("127.0.0.1", live.http_port), timeout=10) as sock:
        sock.sendall(b"POST /onvif/device_service HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                     b"Content-Type: application/soap+xml\r\nContent-Length: 0\r\n\r\n")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    head = reply.split(b"\r\n\r\n", 1)[0]
    assert b"\r\nContent-Length: " in head and b"\r\nContent-Type: " in head, head
