"""RTSP client for camera ingest: the handshake (OPTIONS, DESCRIBE with Basic or Digest
authentication, SETUP over interleaved TCP, PLAY) and keep-alives. After PLAY the socket is
handed to the batch reader; nothing here runs per packet."""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
import socket
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit, urlunsplit

USER_AGENT = "Vigil recorder"
_PARAM = re.compile(r'(\w+)=(?:"([^"]*)"|([^,\s]*))')


class RtspError(Exception):
    """The camera refused or could not be reached; the message says why."""


@dataclass
class Track:
    media: str  # video | audio
    codec: str  # H264, H265, MPEG4-GENERIC, PCMU, PCMA ...
    clock_rate: int
    payload_type: int
    control: str
    fmtp: dict[str, str] = field(default_factory=dict)
    channels: int = 1
    interleaved: int = 0  # the RTP channel number after SETUP


@dataclass
class Session:
    sock: socket.socket
    url: str
    tracks: list[Track]
    session_id: str
    timeout: int
    auth_header: _Auth | None
    cseq: int
    # RTP over UDP: channel number -> (RTP socket, RTCP socket); empty when interleaved on TCP.
    udp: dict[int, tuple[socket.socket, socket.socket]] = field(default_factory=dict)

    def close_udp(self) -> None:
        for pair in self.udp.values():
            for sock in pair:
                sock.close()
        self.udp.clear()

    def keepalive_request(self) -> bytes:
        self.cseq += 1
        lines = [f"GET_PARAMETER {self.url} RTSP/1.0", f"CSeq: {self.cseq}", f"Session: {self.session_id}",
                 f"User-Agent: {USER_AGENT}"]
        if self.auth_header:
            lines.append(self.auth_header.header("GET_PARAMETER", self.url))
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def teardown_request(self) -> bytes:
        self.cseq += 1
        lines = [f"TEARDOWN {self.url} RTSP/1.0", f"CSeq: {self.cseq}", f"Session: {self.session_id}"]
        if self.auth_header:
            lines.append(self.auth_header.header("TEARDOWN", self.url))
        return ("\r\n".join(lines) + "\r\n\r\n").encode()


@dataclass
class _Auth:
    user: str
    password: str
    scheme: str
    realm: str = ""
    nonce: str = ""
    qop: str | None = None
    algorithm: str = "MD5"
    opaque: str | None = None
    nc: int = 0

    def header(self, method: str, uri: str) -> str:
        if self.scheme == "basic":
            token = base64.b64encode(f"{self.user}:{self.password}".encode()).decode()
            return f"Authorization: Basic {token}"
        hasher = hashlib.sha256 if self.algorithm.upper() == "SHA-256" else hashlib.md5

        def h(text: str) -> str:
            return hasher(text.encode()).hexdigest()

        ha1 = h(f"{self.user}:{self.realm}:{self.password}")
        ha2 = h(f"{method}:{uri}")
        parts = [f'username="{self.user}"', f'realm="{self.realm}"', f'nonce="{self.nonce}"', f'uri="{uri}"']
        if self.qop:
            self.nc += 1
            cnonce = secrets.token_hex(8)
            response = h(f"{ha1}:{self.nonce}:{self.nc:08x}:{cnonce}:auth:{ha2}")
            parts += ["qop=auth", f"nc={self.nc:08x}", f'cnonce="{cnonce}"']
        else:
            response = h(f"{ha1}:{self.nonce}:{ha2}")
        parts.append(f'response="{response}"')
        if self.algorithm.upper() != "MD5":
            parts.append(f"algorithm={self.algorithm}")
        if self.opaque:
            parts.append(f'opaque="{self.opaque}"')
        return "Authorization: Digest " + ", ".join(parts)


def _challenge(values: list[str], user: str, password: str) -> _Auth:
    digests = [v for v in values if v.lower().startswith("digest")]
    if digests:
        # Prefer SHA-256 when offered, as the device's own server does.
        chosen = next((d for d in digests if "sha-256" in d.lower()), digests[0])
        fields = {k.lower(): quoted or bare for k, quoted, bare in _PARAM.findall(chosen[6:])}
        qop = fields.get("qop")
        return _Auth(user, password, "digest", fields.get("realm", ""), fields.get("nonce", ""),
                     "auth" if qop and "auth" in qop.split(",") else None, fields.get("algorithm", "MD5"),
                     fields.get("opaque"))
    if any(v.lower().startswith("basic") for v in values):
        return _Auth(user, password, "basic")
    raise RtspError("the camera asks for an authentication scheme Vigil does not speak")


def parse_sdp(sdp: str, base: str) -> list[Track]:
    tracks: list[Track] = []
    current: Track | None = None
    for line in sdp.splitlines():
        if line.startswith("m="):
            media, _port, _proto, *fmts = line[2:].split()
            current = Track(media, "", 90000, int(fmts[0]) if fmts and fmts[0].isdigit() else 0, "")
            tracks.append(current)
        elif current is None:
            continue
        elif line.startswith("a=rtpmap:"):
            _pt, _, spec = line[9:].partition(" ")
            parts = spec.split("/")
            current.codec = parts[0].upper()
            current.clock_rate = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 90000
            if len(parts) > 2 and parts[2].isdigit():
                current.channels = int(parts[2])
        elif line.startswith("a=fmtp:"):
            _pt, _, spec = line[7:].partition(" ")
            for item in spec.split(";"):
                key, _, value = item.strip().partition("=")
                if key:
                    current.fmtp[key.lower()] = value
        elif line.startswith("a=control:"):
            control = line[10:].strip()
            if control.startswith("rtsp://") or control.startswith("rtsps://"):
                current.control = control
            elif control == "*":
                current.control = base
            else:
                current.control = base.rstrip("/") + "/" + control
    for t in tracks:  # static payload types carry no rtpmap
        if not t.codec and t.payload_type in (0, 8):
            t.codec, t.clock_rate = ("PCMU" if t.payload_type == 0 else "PCMA"), 8000
        if not t.control:
            t.control = base
    return [t for t in tracks if t.media in ("video", "audio")]


class _Connection:
    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def request(self, lines: list[str]) -> tuple[int, dict[str, list[str]], bytes]:
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = self._reply_head()
        rest = self.buffer
        lines_in = head.decode("latin-1").split("\r\n")
        try:
            status = int(lines_in[0].split()[1])
        except (IndexError, ValueError):
            raise RtspError(f"not an RTSP reply: {lines_in[0][:60]!r}") from None
        headers: dict[str, list[str]] = {}
        for line in lines_in[1:]:
            key, _, value = line.partition(":")
            headers.setdefault(key.strip().lower(), []).append(value.strip())
        length = int(headers.get("content-length", ["0"])[0] or 0)
        while len(rest) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RtspError("the camera closed the connection")
            rest += chunk
        self.buffer = rest[length:]
        return status, headers, rest[:length]

    def _reply_head(self) -> bytes:
        """The next reply's head. Interleaved RTP/RTCP ($, channel, length) that comes before it
        is skipped: a camera that already streams answers a later request between its packets."""
        while True:
            if self.buffer[:1] == b"$":
                end = 4 + int.from_bytes(self.buffer[2:4], "big") if len(self.buffer) >= 4 else None
                if end is not None and len(self.buffer) >= end:
                    self.buffer = self.buffer[end:]
                    continue
            elif b"\r\n\r\n" in self.buffer:
                head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
                return head
            chunk = self.sock.recv(65536)
            if not chunk:
                raise RtspError("the camera closed the connection")
            self.buffer += chunk


def udp_pair() -> tuple[socket.socket, socket.socket]:
    """Two UDP sockets on consecutive ports, the first even, as RTP and RTCP want."""
    for _ in range(64):
        rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        rtp.bind(("0.0.0.0", 0))
        port = rtp.getsockname()[1]
        if port % 2 == 0 and port < 65535:
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                rtcp.bind(("0.0.0.0", port + 1))
            except OSError:
                rtcp.close()
            else:
                rtp.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
                return rtp, rtcp
        rtp.close()
    raise RtspError("no free pair of UDP ports for RTP")


def connect(url: str, username: str = "", password: str = "", timeout: float = 10.0,
            transport: str = "tcp") -> tuple[Session, bytes]:
    """Run the handshake; returns the playing session and any bytes already read past PLAY."""
    parts = urlsplit(url)
    if parts.scheme != "rtsp" or not parts.hostname:
        raise RtspError(f"not an rtsp:// URL: {url!r}")
    username = username or unquote(parts.username or "")
    password = password or unquote(parts.password or "")
    netloc = parts.hostname + (f":{parts.port}" if parts.port else "")
    clean = urlunsplit(("rtsp", netloc, parts.path or "/", parts.query, ""))
    try:
        sock = socket.create_connection((parts.hostname, parts.port or 554), timeout=timeout)
    except OSError as err:
        raise RtspError(f"cannot reach {parts.hostname}:{parts.port or 554}: {err.strerror or err}") from None
    try:
        return _handshake(_Connection(sock), clean, username, password, transport)
    except (OSError, RtspError) as err:
        sock.close()
        if isinstance(err, RtspError):
            raise
        raise RtspError(f"{parts.hostname}: {err}") from None


def _handshake(conn: _Connection, url: str, username: str, password: str,
               transport: str = "tcp") -> tuple[Session, bytes]:
    cseq = 0
    auth: _Auth | None = None

    def send(method: str, uri: str, extra: list[str] = ()) -> tuple[int, dict[str, list[str]], bytes]:
        nonlocal cseq, auth
        for _attempt in range(2):
            cseq += 1
            lines = [f"{method} {uri} RTSP/1.0", f"CSeq: {cseq}", f"User-Agent: {USER_AGENT}", *extra]
            if auth:
                lines.append(auth.header(method, uri))
            status, headers, body = conn.request(lines)
            if status == 401 and auth is None or (status == 401 and "stale=true" in
                                                  " ".join(headers.get("www-authenticate", [])).lower()):
                if not username:
                    raise RtspError("the camera needs a user name and password")
                auth = _challenge(headers.get("www-authenticate", []), username, password)
                continue
            if status == 401:
                raise RtspError("the camera refused the user name or password")
            if status >= 300:
                raise RtspError(f"{method} answered {status}")
            return status, headers, body
        raise RtspError("the camera refused the user name or password")

    send("OPTIONS", url)
    _, headers, body = send("DESCRIBE", url, ["Accept: application/sdp"])
    base = headers.get("content-base", [url])[0]
    tracks = parse_sdp(body.decode("utf-8", "replace"), base)
    tracks = [t for t in tracks if t.codec in SUPPORTED]
    if not any(t.media == "video" for t in tracks):
        raise RtspError("the camera offers no H.264 or H.265 video")
    session_id = ""
    timeout = 60
    channel = 0
    udp: dict[int, tuple[socket.socket, socket.socket]] = {}
    for track in tracks:
        if transport == "udp":
            pair = udp_pair()
            udp[channel] = pair
            port = pair[0].getsockname()[1]
            extra = [f"Transport: RTP/AVP;unicast;client_port={port}-{port + 1}"]
        else:
            extra = [f"Transport: RTP/AVP/TCP;unicast;interleaved={channel}-{channel + 1}"]
        if session_id:
            extra.append(f"Session: {session_id}")
        try:
            _, headers, _ = send("SETUP", track.control, extra)
        except RtspError:
            for pair in udp.values():
                for sock in pair:
                    sock.close()
            raise
        value = headers.get("session", [""])[0]
        session_id, _, params = value.partition(";")
        match = re.search(r"timeout=(\d+)", params)
        if match:
            timeout = int(match.group(1))
        reply = headers.get("transport", [""])[0]
        got = re.search(r"interleaved=(\d+)", reply) if not udp else None
        track.interleaved = int(got.group(1)) if got else channel
        channel += 2
    send("PLAY", url, [f"Session: {session_id}", "Range: npt=0.000-"])
    session = Session(conn.sock, url, tracks, session_id, timeout, auth, cseq, udp)
    return session, conn.buffer


SUPPORTED = {"H264", "H265", "MPEG4-GENERIC", "PCMU", "PCMA"}
