"""The RTSP metadata event stream: `rtsp://HOST:PORT/axis-media/media.amp?event=on`.

An in-house RTSP/1.0 server (RFC 2326) on asyncio, serving one ONVIF metadata track:
OPTIONS, DESCRIBE (SDP), SETUP (RTP over UDP, or interleaved in the RTSP connection),
PLAY, PAUSE, GET_PARAMETER/SET_PARAMETER as keep-alives, TEARDOWN, and a session timeout.
Every event is one RTP packet carrying one complete `tt:MetadataStream` document; PLAY
first sends the current state of every stateful property (Initialized).

Written for the clients as they are: the `axis` library (Home Assistant) parses each TCP
read as one whole response, finds realm, nonce and `stale=` by position in the Digest
challenge, answers without qop, and signs every method with the URL it started from. So
each response goes out in one write, and the challenge is exactly
`Digest realm="..", nonce="..", stale=FALSE`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
import struct
import time
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlsplit

from vigil.core.auth import AuthFailure, Principal, parse_digest
from vigil.core.roles import Role
from vigil.features.eventstream.fanout import Fanout, Listener, Outbox
from vigil.features.eventstream.metadata import EventFilter, FilterError, to_xml
from vigil.http.limits import RefusalLog
from vigil.http.ports import RTSP, PortInUse

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.rtsp")

PATH = "/axis-media/media.amp"
TRACK = "stream=0"
PAYLOAD_TYPE = 98
CLOCK_RATE = 90_000
SESSION_TIMEOUT = 60
# Connections in all and per client address, sessions, and the seconds a new connection has to
# send its first request are the parameters Network.RTSP.MaxConnections, MaxClientConnections,
# MaxSessions and RequestTimeout, read for each new connection.
MAX_HEADER = 16 * 1024
MAX_BODY = 64 * 1024
TCP_BACKLOG_LIMIT = 1024 * 1024  # bytes queued on one interleaved connection before events are dropped
SERVER = "Vigil RTSP"
ALLOWED = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER")
KNOWN_ELSEWHERE = ("ANNOUNCE", "RECORD", "REDIRECT")  # RTSP methods this server does not allow
REASONS = {
    200: "OK", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found",
    405: "Method Not Allowed", 406: "Not Acceptable", 413: "Request Entity Too Large",
    451: "Parameter Not Understood", 453: "Not Enough Bandwidth", 454: "Session Not Found",
    455: "Method Not Valid in This State", 461: "Unsupported Transport", 500: "Internal Server Error",
    501: "Not Implemented", 503: "Service Unavailable", 505: "RTSP Version not supported",
}


class RtspError(Exception):
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


def rtp_packet(seq: int, timestamp: int, ssrc: int, payload: bytes, marker: bool = True) -> bytes:
    """A 12-byte RTP header (version 2, no padding, extension or CSRC) and the payload."""
    return struct.pack("!BBHII", 0x80, (0x80 if marker else 0) | PAYLOAD_TYPE, seq & 0xFFFF,
                       timestamp & 0xFFFFFFFF, ssrc) + payload


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


@dataclass(eq=False)
class Session:
    id: str
    connection: Connection
    principal: Principal
    transport: Transport
    control: str
    filter: EventFilter
    last_seen: float
    ssrc: int = field(default_factory=lambda: secrets.randbits(32))
    seq: int = field(default_factory=lambda: secrets.randbits(16))
    ts_base: int = field(default_factory=lambda: secrets.randbits(32))
    listener: Listener | None = None
    sender: asyncio.Task | None = None

    @property
    def playing(self) -> bool:
        return self.listener is not None


class Connection:
    def __init__(self, server: RtspServer, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        peer = writer.get_extra_info("peername") or ("unknown", 0)
        self.address: str = peer[0]
        self.name = f"rtsp {peer[0]}:{peer[1]}"
        self.sessions: dict[str, Session] = {}
        self.opened = self.last_activity = server.now()
        self.requests = 0  # requests read so far; none yet: the short RequestTimeout applies

    def write(self, data: bytes) -> None:
        if not self.writer.is_closing():
            self.writer.write(data)

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.writer.close()


class RtspServer:
    """Serves the metadata stream of one device; `serve` is the device service."""

    def __init__(self, device: Device, fanout: Fanout, host: str = "0.0.0.0") -> None:
        self.device = device
        self.fanout = fanout
        self.host = host
        self.session_timeout = SESSION_TIMEOUT
        self.reap_interval = 1.0
        self.sessions: dict[str, Session] = {}
        self.connections: set[Connection] = set()
        self.per_address: dict[str, int] = {}
        self.refusals = RefusalLog(log)
        self.rtp: asyncio.DatagramTransport | None = None
        self.rtcp: asyncio.DatagramTransport | None = None
        self.server_ports = (0, 0)
        self.port = 0  # where it listens now; 0: nowhere
        self._socket: socket.socket | None = None
        self._listener: asyncio.Server | None = None
        self._starting: asyncio.Task | None = None
        self._mono0 = time.monotonic()

    def now(self) -> float:
        return self.device.clock.monotonic()

    # -- lifecycle ---------------------------------------------------------------------
    async def serve(self) -> None:
        """The device service: RTP over UDP, and the RTSP port where `device.listening` puts it
        (it moves, opens and closes with Network.RTSP.Port and Network.RTSP.Enabled)."""
        listening = self.device.listening
        try:
            try:
                await self._open_udp()
            except OSError as err:
                log.warning("RTSP event stream without RTP over UDP (interleaved TCP only): %s", err)
            try:
                self.move(listening.attach(RTSP, self.move))
            except PortInUse as err:  # the event stream waits for another port; the device serves on
                log.error("RTSP event stream not started: %s", err)
            while True:
                await asyncio.sleep(self.reap_interval)
                self.reap()
        finally:
            listening.detach(RTSP)
            self.move(None)
            for transport in (self.rtp, self.rtcp):
                if transport is not None:
                    transport.close()

    def move(self, sock: socket.socket | None) -> None:
        """Listen on `sock` from now on (None: nowhere); the connections of the old port end."""
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for connection in list(self.connections):
            self._drop_connection(connection)
            connection.close()
        self._socket = sock
        self.port = sock.getsockname()[1] if sock is not None else 0
        if sock is not None:
            self._starting = asyncio.create_task(self._listen(sock))

    async def _listen(self, sock: socket.socket) -> None:
        server = await asyncio.start_server(self._connection, sock=sock, limit=MAX_HEADER)
        if self._socket is not sock:  # moved again while starting
            server.close()
            return
        self._listener = server
        log.info("RTSP event stream on port %d", self.port)

    async def _open_udp(self) -> None:
        """An RTP/RTCP port pair (even, odd) shared by every UDP session."""
        loop = asyncio.get_running_loop()
        for _ in range(50):
            rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            rtp.bind((self.host, 0))
            port = rtp.getsockname()[1]
            rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            try:
                if port % 2:
                    raise OSError("odd port")
                rtcp.bind((self.host, port + 1))
            except OSError:
                rtp.close()
                rtcp.close()
                continue
            break
        else:
            raise OSError("no free RTP/RTCP port pair")
        self.rtp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=rtp)
        self.rtcp, _ = await loop.create_datagram_endpoint(lambda: _Rtcp(self), sock=rtcp)
        self.server_ports = (port, port + 1)

    def reap(self) -> None:
        """End sessions nobody kept alive, idle connections without a session, and connections
        that have not sent a whole request within the request timeout."""
        now = self.now()
        first_request = self.device.params.get_int("Network.RTSP.RequestTimeout")
        for session in list(self.sessions.values()):
            if now - session.last_seen > self.session_timeout:
                log.info("RTSP session %s of %s timed out", session.id, session.connection.name)
                self.end_session(session)
        for connection in list(self.connections):
            if not connection.requests and now - connection.opened > first_request:
                log.debug("RTSP connection %s sent no request in %d s", connection.name, first_request)
                connection.close()
            elif not connection.sessions and now - connection.last_activity > self.session_timeout:
                connection.close()

    def end_session(self, session: Session) -> None:
        self._pause(session)
        self.sessions.pop(session.id, None)
        session.connection.sessions.pop(session.id, None)

    def _drop_connection(self, connection: Connection) -> None:
        for session in list(connection.sessions.values()):
            self.end_session(session)
        if connection in self.connections:
            self.connections.discard(connection)
            left = self.per_address[connection.address] - 1
            if left:
                self.per_address[connection.address] = left
            else:
                del self.per_address[connection.address]

    def _refusal(self, connection: Connection) -> str | None:
        """Why a new connection is refused (too many in all or from its address), or None."""
        params = self.device.params
        most, per_client = params.get_int("Network.RTSP.MaxConnections"), params.get_int("Network.RTSP.MaxClientConnections")
        if len(self.connections) >= most:
            return f"{most} connections open"
        if self.per_address.get(connection.address, 0) >= per_client:
            return f"{per_client} connections open from {connection.address}"
        return None

    def rtcp_from(self, address: tuple[str, int]) -> None:
        """A receiver report keeps the session of that client port alive."""
        for session in self.sessions.values():
            t = session.transport
            if t.kind == "udp" and session.connection.address == address[0] and address[1] in t.client_ports:
                session.last_seen = self.now()

    # -- connections -------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(self, reader, writer)
        refusal = self._refusal(connection)
        if refusal is not None:
            writer.write(self._response(503, None, [], b""))
            connection.close()
            self.refusals.refused(connection.address, f"RTSP connection from {connection.address} refused: {refusal}")
            return
        self.connections.add(connection)
        self.per_address[connection.address] = self.per_address.get(connection.address, 0) + 1
        try:
            await self._serve_connection(connection)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except Exception:
            log.exception("RTSP connection %s failed", connection.name)
        finally:
            self._drop_connection(connection)
            connection.close()

    async def _serve_connection(self, connection: Connection) -> None:
        reader = connection.reader
        while True:
            first = await reader.read(1)
            if not first:
                return
            connection.last_activity = self.now()
            if first in b"\r\n":
                continue
            if first == b"$":  # interleaved RTCP from the client
                header = await reader.readexactly(3)
                channel, length = header[0], struct.unpack("!H", header[1:])[0]
                await reader.readexactly(length)
                for session in connection.sessions.values():
                    if channel in session.transport.channels:
                        session.last_seen = self.now()
                continue
            try:
                head = first + await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                connection.write(self._response(400, None, [], b"Request header too large\r\n"))
                return
            except asyncio.IncompleteReadError:
                return
            request = None
            connection.requests += 1
            try:
                request = parse_request(head)
                length = request.headers.get("content-length", "0")
                # ASCII digits only (str.isdigit also takes "１２" and "²"), and few of them.
                if not (length.isascii() and length.isdigit() and len(length) <= 9):
                    raise RtspError(400, "malformed Content-Length", close=True)
                if int(length) > MAX_BODY:
                    raise RtspError(413, close=True)
                if int(length):
                    request.body = await reader.readexactly(int(length))
                status, headers, body = self._handle(connection, request)
            except RtspError as err:
                cseq = request.cseq if request else _cseq_of(head)
                status, headers, body = err.status, err.headers, f"{err}\r\n".encode()
                if err.status != 401:
                    log.debug("RTSP %s from %s: %d %s", request.method if request else "request",
                             connection.address, err.status, err)
                connection.write(self._response(status, cseq, headers, body))
                if err.close:
                    return
                continue
            connection.write(self._response(status, request.cseq, headers, body))
            self._after_response(connection, request, status)

    def _response(self, status: int, cseq: str | None, headers: list[tuple[str, str]], body: bytes) -> bytes:
        lines = [f"RTSP/1.0 {status} {REASONS.get(status, 'Error')}"]
        if cseq is not None:
            lines.append(f"CSeq: {cseq}")
        lines.append(f"Date: {formatdate(usegmt=True)}")
        lines.append(f"Server: {SERVER}")
        lines += [f"{k}: {v}" for k, v in headers]
        if body:
            lines.append(f"Content-Length: {len(body)}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + body

    # -- requests ----------------------------------------------------------------------
    def _handle(self, connection: Connection, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        method = request.method
        if method not in ALLOWED:
            if method in KNOWN_ELSEWHERE:
                raise RtspError(405, f"{method} is not allowed here", [("Allow", ", ".join(ALLOWED))])
            raise RtspError(501, f"{method} is not implemented")
        if self.device.auth.guard.blocked(connection.address):
            raise RtspError(403, "too many failed logins, try again later")
        session = self._session_of(connection, request)
        if method == "OPTIONS":
            return 200, [("Public", ", ".join(ALLOWED)), *self._session_header(session)], b""
        target = self._target(request.url, stream=method in ("DESCRIBE", "SETUP"))
        principal = self._authorize(connection, request, target)
        if method == "DESCRIBE":
            return self._describe(request, target)
        if method == "SETUP":
            return self._setup(connection, request, target, session, principal)
        if session is None:
            if method in ("PLAY", "PAUSE"):
                raise RtspError(455, f"{method} needs a session from SETUP")
            if method == "TEARDOWN":
                raise RtspError(454)
            return 200, [], b""  # GET_PARAMETER / SET_PARAMETER without a session: a ping
        if method == "PLAY":
            return 200, [*self._session_header(session), ("Range", "npt=now-"),
                         ("RTP-Info", f"url={session.control};seq={session.seq & 0xFFFF};"
                                      f"rtptime={self._timestamp(session)}")], b""
        if method == "PAUSE":
            self._pause(session)
            return 200, self._session_header(session), b""
        if method == "TEARDOWN":
            self.end_session(session)
            return 200, [], b""
        if method == "SET_PARAMETER" and request.body.strip():
            raise RtspError(451, headers=self._session_header(session))
        return 200, self._session_header(session), b""  # GET_PARAMETER: keep-alive

    def _after_response(self, connection: Connection, request: Request, status: int) -> None:
        """Start sending only after the PLAY response is on the wire, so it comes first."""
        if request.method == "PLAY" and status == 200:
            session = self._session_of(connection, request)
            if session is not None and not session.playing:
                self._play(session)

    def _session_of(self, connection: Connection, request: Request) -> Session | None:
        sid = request.session_id
        if sid is None:
            return None
        session = connection.sessions.get(sid)
        if session is None:
            raise RtspError(454, f"no session {sid} on this connection")
        session.last_seen = self.now()
        return session

    def _session_header(self, session: Session | None) -> list[tuple[str, str]]:
        return [("Session", f"{session.id};timeout={self.session_timeout}")] if session else []

    def _target(self, url: str, stream: bool) -> tuple[str, str, EventFilter]:
        """(presentation URL, resource path, filter) of a request URL.

        DESCRIBE and SETUP must name the event stream; the requests that act on a session
        may use the presentation URL without its query (ffmpeg does), a track, or `*`."""
        if url == "*" and not stream:
            return "", PATH, EventFilter()
        try:
            parts = urlsplit(url)
            query = dict(parse_qsl(parts.query, keep_blank_values=True))
        except ValueError:
            raise RtspError(400, "malformed URL") from None
        if parts.scheme not in ("rtsp", "") or not parts.path.startswith(PATH):
            raise RtspError(404, f"no stream at {parts.path}")
        rest = parts.path[len(PATH):].strip("/")
        if rest not in ("", TRACK):
            raise RtspError(404, f"no track {rest}")
        if stream and query.get("event") != "on":
            raise RtspError(404, "this device streams events only: add event=on")
        try:
            stream_filter = EventFilter(query["eventtopic"]) if query.get("eventtopic") else EventFilter()
        except FilterError as err:
            raise RtspError(400, str(err)) from None
        netloc = parts.netloc.rsplit("@", 1)[-1] or f"{self.host}:{self.port}"
        base = f"rtsp://{netloc}{PATH}"
        return base, parts.path, stream_filter

    def _control(self, request: Request, base: str) -> str:
        query = urlsplit(request.url).query
        return f"{base}/{TRACK}" + (f"?{query}" if query else "")

    # -- authentication ----------------------------------------------------------------
    def _authorize(self, connection: Connection, request: Request, target: tuple[str, str, EventFilter]) -> Principal:
        device = self.device
        header = request.headers.get("authorization", "")
        principal: Principal | None = None
        if header:
            uri = request.url
            if header[:7].lower() == "digest ":
                # Clients sign with the URL they started from (the axis library) or with the
                # request URL (ffmpeg): either is fine as long as it names this stream.
                try:
                    signed = parse_digest(header).get("uri", "")
                except ValueError:
                    signed = ""
                path = urlsplit(signed).path if signed else ""
                if path.rstrip("/") in (PATH, target[1].rstrip("/")):
                    uri = signed
            try:
                principal = device.auth.authenticate(header, request.method, uri, connection.address)
            except AuthFailure as failure:
                if not failure.stale:  # a stale nonce answered with the right password is no guess
                    device.auth.guard.failure(connection.address, "rtsp")
                device.logs.access(f"RTSP authentication failed for {failure.user or '?'} from "
                                   f"{connection.address}: {failure}", source="rtsp")
                raise RtspError(401, headers=self._challenges(failure.stale)) from None
        if principal is None:
            if device.params.get("Network.RTSP.ProtViewer") == "anonymous":
                return Principal("anonymous", Role.VIEWER)
            raise RtspError(401, headers=self._challenges())
        if principal.role < Role.VIEWER:
            raise RtspError(403, "this account may not view streams")
        return principal

    def _challenges(self, stale: bool = False) -> list[tuple[str, str]]:
        auth = self.device.auth
        # Realm first, nonce second, stale last: the axis library reads them by position.
        headers = [("WWW-Authenticate",
                    f'Digest realm="{auth.realm}", nonce="{auth.nonce()}", stale={"TRUE" if stale else "FALSE"}')]
        if self.device.params.get("Network.HTTP.AuthenticationPolicy") in ("basic", "basic_digest"):
            headers.append(("WWW-Authenticate", f'Basic realm="{auth.realm}"'))
        return headers

    # -- methods -----------------------------------------------------------------------
    def _describe(self, request: Request, target: tuple[str, str, EventFilter]) -> tuple[int, list, bytes]:
        accept = request.headers.get("accept")
        if accept and "application/sdp" not in accept and "*/*" not in accept:
            raise RtspError(406, "only application/sdp descriptions")
        base = target[0]
        host = urlsplit(base).hostname or "0.0.0.0"
        family = "IP6" if ":" in host else "IP4"
        sdp = "\r\n".join([
            "v=0",
            f"o=- {secrets.randbits(62)} 1 IN {family} {host}",
            "s=Session streamed with Vigil",
            "i=Metadata event stream",
            f"c=IN {family} {'::' if family == 'IP6' else '0.0.0.0'}",
            "t=0 0",
            "a=tool:Vigil",
            "a=range:npt=now-",
            "a=control:*",
            f"m=application 0 RTP/AVP {PAYLOAD_TYPE}",
            f"a=rtpmap:{PAYLOAD_TYPE} vnd.onvif.metadata/{CLOCK_RATE}",
            f"a=control:{self._control(request, base)}",
            "a=recvonly",
            "",
        ]).encode()
        return 200, [("Content-Type", "application/sdp"), ("Content-Base", f"{base}/")], sdp

    def _setup(self, connection: Connection, request: Request, target: tuple[str, str, EventFilter],
               session: Session | None, principal: Principal) -> tuple[int, list, bytes]:
        header = request.headers.get("transport")
        if not header:
            raise RtspError(461, "Transport header missing")
        transport = parse_transport(header)
        if transport.kind == "udp" and self.rtp is None:
            raise RtspError(461, "RTP over UDP is not available")
        if session is not None:
            if session.playing:
                raise RtspError(455, "cannot change the transport while playing")
            session.transport = transport
        else:
            if len(self.sessions) >= self.device.params.get_int("Network.RTSP.MaxSessions"):
                raise RtspError(453, "too many sessions")
            sid = secrets.token_hex(8).upper()
            session = Session(sid, connection, principal, transport, self._control(request, target[0]),
                              target[2], self.now())
            self.sessions[sid] = session
            connection.sessions[sid] = session
            self.device.auth.seen(connection.address, principal.name, "rtsp")
        ssrc = f"{session.ssrc:08X}"
        if transport.kind == "udp":
            spec = (f"RTP/AVP;unicast;client_port={transport.client_ports[0]}-{transport.client_ports[1]};"
                    f"server_port={self.server_ports[0]}-{self.server_ports[1]};ssrc={ssrc};mode=\"PLAY\"")
        else:
            spec = f"RTP/AVP/TCP;unicast;interleaved={transport.channels[0]}-{transport.channels[1]};ssrc={ssrc};mode=\"PLAY\""
        return 200, [*self._session_header(session), ("Transport", spec)], b""

    # -- streaming ---------------------------------------------------------------------
    def _timestamp(self, session: Session) -> int:
        return (session.ts_base + int((time.monotonic() - self._mono0) * CLOCK_RATE)) & 0xFFFFFFFF

    def _play(self, session: Session) -> None:
        outbox = Outbox(f"{session.connection.name} session {session.id}")
        session.listener = Listener(outbox, to_xml, [session.filter])
        session.sender = asyncio.create_task(self._send(session, outbox))
        self.fanout.start(session.listener, initial=True)

    def _pause(self, session: Session) -> None:
        if session.listener is not None:
            self.fanout.stop(session.listener)
            session.listener.outbox.close()
            session.listener = None
        if session.sender is not None:
            session.sender.cancel()
            session.sender = None

    async def _send(self, session: Session, outbox: Outbox) -> None:
        connection = session.connection
        while True:
            document = await outbox.get()
            if document is None:
                return
            packet = rtp_packet(session.seq, self._timestamp(session), session.ssrc, document)
            session.seq = (session.seq + 1) & 0xFFFF
            transport = session.transport
            if transport.kind == "udp":
                if self.rtp is None or self.rtp.is_closing():
                    return
                if _backlog(self.rtp) > TCP_BACKLOG_LIMIT:
                    outbox.dropped += 1
                    continue
                self.rtp.sendto(packet, (connection.address, transport.client_ports[0]))
            else:
                writer = connection.writer
                if writer.is_closing():
                    return
                if _backlog(writer.transport) > TCP_BACKLOG_LIMIT:
                    outbox.dropped += 1
                    continue
                writer.write(b"$" + bytes([transport.channels[0]]) + struct.pack("!H", len(packet)) + packet)
                try:
                    await writer.drain()
                except ConnectionError:
                    return


class _Rtcp(asyncio.DatagramProtocol):
    def __init__(self, server: RtspServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server.rtcp_from(addr)


def _cseq_of(head: bytes) -> str | None:
    for line in head.decode("latin-1").splitlines()[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "cseq" and value.strip().isdigit():
            return value.strip()
    return None


def _backlog(transport: asyncio.BaseTransport) -> int:
    size = getattr(transport, "get_write_buffer_size", None)
    return size() if size is not None else 0
