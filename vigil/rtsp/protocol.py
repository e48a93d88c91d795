"""RTSP/1.0 on the wire (RFC 2326): status codes, request parsing, the Transport header,
responses, and RTP packets framed for the RTSP connection (interleaved) or a datagram.

Nothing here holds state; the server (server.py) and the tracks use these helpers."""

from __future__ import annotations

import struct
from dataclasses import dataclass
from email.utils import formatdate

SERVER = "Vigil RTSP"
MAX_HEADER = 16 * 1024
MAX_BODY = 64 * 1024
REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 413: "Request Entity Too Large",
    451: "Parameter Not Understood", 453: "Not Enough Bandwidth", 454: "Session Not Found",
    455: "Method Not Valid in This State", 461: "Unsupported Transport", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "RTSP Version not supported",
}
_RTP_HEADER = struct.Struct("!BBHII")
_INTERLEAVED = struct.Struct("!cBH")


class RtspError(Exception):
    """A request refused with `status`; the message is the response body, `headers` go with it,
    and `close` ends the connection after the response (the stream is out of step)."""

    def __init__(self, status: int, detail: str = "", headers: list[tuple[str, str]] | None = None,
                 close: bool = False) -> None:
        super().__init__(detail or REASONS.get(status, ""))
        self.status = status
        self.headers = headers or []
        self.close = close


@dataclass
class Request:
    method: str
    url: str
    version: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""

    @property
    def cseq(self) -> str | None:
        return self.headers.get("cseq")

    @property
    def session_id(self) -> str | None:
        value = self.headers.get("session")
        return value.split(";", 1)[0].strip() if value else None


def parse_request(head: bytes) -> Request:
    """Parse a request line and headers; raises RtspError(400/505) when malformed."""
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        raise RtspError(400, "request is not UTF-8", close=True) from None
    lines = text.replace("\r\n", "\n").split("\n")
    # Nothing a response echoes (the URL) or a client splits lines on may hide in a request.
    if not lines[0].isascii() or not lines[0].isprintable():
        raise RtspError(400, "malformed request line", close=True)
    if any(ch < " " and ch != "\t" for line in lines[1:] for ch in line):
        raise RtspError(400, "control character in a header", close=True)
    parts = lines[0].split(" ")
    if len(parts) != 3 or not parts[0].isascii() or not parts[0].replace("_", "").isalpha():
        raise RtspError(400, "malformed request line", close=True)
    method, url, version = parts
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            raise RtspError(400, "malformed header line", close=True)
        headers[name.lower()] = value.strip()
    request = Request(method, url, version, headers)
    if not version.startswith("RTSP/"):
        raise RtspError(400, "not an RTSP request", close=True)
    if version != "RTSP/1.0":
        raise RtspError(505)
    cseq = headers.get("cseq")
    if cseq is None or not cseq.isdigit():
        raise RtspError(400, "missing or malformed CSeq")
    return request


def cseq_of(head: bytes) -> str | None:
    """The CSeq of a request that could not be parsed, to answer it in step."""
    for line in head.decode("latin-1").splitlines()[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "cseq" and value.strip().isdigit():
            return value.strip()
    return None


def response(status: int, cseq: str | None, headers: list[tuple[str, str]], body: bytes) -> bytes:
    """A whole response, to go out in one write (the axis library reads each as one response)."""
    lines = [f"RTSP/1.0 {status} {REASONS.get(status, 'Error')}"]
    if cseq is not None:
        lines.append(f"CSeq: {cseq}")
    lines.append(f"Date: {formatdate(usegmt=True)}")
    lines.append(f"Server: {SERVER}")
    lines += [f"{k}: {v}" for k, v in headers]
    if body:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@dataclass
class Transport:
    kind: str  # udp | tcp
    client_ports: tuple[int, int] = (0, 0)
    channels: tuple[int, int] = (0, 1)


def parse_transport(header: str) -> Transport:
    """The first acceptable of the client's comma-separated transport specifications."""
    for spec in header.split(","):
        fields = [f.strip() for f in spec.split(";") if f.strip()]
        if not fields:
            continue
        protocol = fields[0].upper()
        options = {}
        for f in fields[1:]:
            key, _, value = f.partition("=")
            options[key.lower()] = value
        if "multicast" in options:
            continue
        try:
            if protocol in ("RTP/AVP", "RTP/AVP/UDP") and "client_port" in options:
                ports = [int(p) for p in options["client_port"].split("-")]
                if not 1 <= len(ports) <= 2 or not all(0 < p < 65536 for p in ports):
                    continue
                return Transport("udp", client_ports=(ports[0], ports[-1] if len(ports) == 2 else ports[0] + 1))
            if protocol == "RTP/AVP/TCP":
                channels = [int(c) for c in options.get("interleaved", "0-1").split("-")]
                if not 1 <= len(channels) <= 2 or not all(0 <= c < 256 for c in channels):
                    continue
                return Transport("tcp", channels=(channels[0], channels[-1] if len(channels) == 2 else channels[0] + 1))
        except ValueError:
            continue
    raise RtspError(461)


def rtp_packet(payload_type: int, seq: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = True) -> bytes:
    """A 12-byte RTP header (version 2, no padding, extension or CSRC) and the payload."""
    return _RTP_HEADER.pack(0x80, (0x80 if marker else 0) | payload_type, seq & 0xFFFF,
                            timestamp & 0xFFFFFFFF, ssrc) + payload


def interleaved(channel: int, packets: list[bytes]) -> bytes:
    """Packets framed for the RTSP connection (`$`, channel, length), joined for one write."""
    parts = []
    for packet in packets:
        parts.append(_INTERLEAVED.pack(b"$", channel, len(packet)))
        parts.append(packet)
    return b"".join(parts)
