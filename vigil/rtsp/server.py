"""The device's RTSP/1.0 server (RFC 2326) on asyncio: one listener on `Network.RTSP.Port`
for every mount the features register (vigil/rtsp/mounts.py).

OPTIONS, DESCRIBE (SDP of the mount's tracks), SETUP (RTP over UDP, or interleaved in the
RTSP connection; one session may hold several tracks), PLAY (with the replay headers of the
ONVIF Streaming Specification: Range npt/clock, Scale, Rate-Control, Frames, Immediate; a PLAY
with a Range while playing seeks), PAUSE, GET_PARAMETER and SET_PARAMETER as keep-alives,
TEARDOWN, and a session timeout (the mount's, or SESSION_TIMEOUT). A Require header naming an
option the presentation's tracks do not understand is answered 551 with Unsupported. Each
response goes out in one write. Connections in all and per client address, sessions, and the
seconds a new connection has to send its first request are the parameters
Network.RTSP.MaxConnections, MaxClientConnections, MaxSessions and RequestTimeout, read for
each new connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
import socket
import struct
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from vigil.core.auth import Authenticator, Principal
from vigil.core.clock import Clock
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.http.limits import RefusalLog
from vigil.http.ports import RTSP, Listening, PortInUse
from vigil.rtsp.auth import RtspAuth
from vigil.rtsp.mounts import BACKCHANNEL, Mounts, Presentation, Receiver, Stream, Track
from vigil.rtsp.profiles import StreamProfiles
from vigil.rtsp.protocol import (
    MAX_BODY,
    MAX_HEADER,
    Play,
    Request,
    RtspError,
    Transport,
    cseq_of,
    interleaved,
    parse_play,
    parse_request,
    parse_transport,
    response,
)

log = logging.getLogger("vigil.rtsp")

SESSION_TIMEOUT = 60
BACKLOG_LIMIT = 1024 * 1024  # bytes queued for one client before its tracks skip what they send
ALLOWED = ("OPTIONS", "DESCRIBE", "SETUP", "PLAY", "PAUSE", "TEARDOWN", "GET_PARAMETER", "SET_PARAMETER")
KNOWN_ELSEWHERE = ("ANNOUNCE", "RECORD", "REDIRECT")  # RTSP methods this server does not allow
_TRACK = re.compile(r"stream=(\d{1,2})")


@dataclass(eq=False)
class SessionTrack:
    """One track of a session: its transport and RTP numbering; the `Outlet` its stream sends to."""

    session: Session
    index: int
    track: Track
    transport: Transport
    ssrc: int
    seq: int = field(default_factory=lambda: secrets.randbits(16))
    ts_base: int = field(default_factory=lambda: secrets.randbits(32))
    stream: Stream | None = None
    play: Play | None = None  # what the PLAY that opened `stream` asked

    @property
    def name(self) -> str:
        return f"{self.session.connection.name} session {self.session.id}"

    @property
    def closed(self) -> bool:
        connection = self.session.connection
        if self.transport.kind == "udp":
            rtp = connection.server.rtp
            return rtp is None or rtp.is_closing()
        return connection.writer.is_closing()

    def congested(self) -> bool:
        server = self.session.connection.server
        if self.transport.kind == "udp":
            return _backlog(server.rtp) > server.backlog_limit
        return _backlog(self.session.connection.writer.transport) > server.backlog_limit

    def send(self, packets: list[bytes]) -> bool:
        if self.closed or self.congested():
            return False
        connection = self.session.connection
        if self.transport.kind == "udp":
            rtp = connection.server.rtp
            assert rtp is not None
            address = (connection.address, self.transport.client_ports[0])
            for packet in packets:
                rtp.sendto(packet, address)
        else:
            connection.writer.write(interleaved(self.transport.channels[0], packets))
        return True

    def send_control(self, packets: list[bytes]) -> bool:
        if self.closed:
            return False
        connection = self.session.connection
        if self.transport.kind == "udp":
            rtcp = connection.server.rtcp
            if rtcp is None or rtcp.is_closing():
                return False
            for packet in packets:
                rtcp.sendto(packet, (connection.address, self.transport.client_ports[1]))
        else:
            connection.writer.write(interleaved(self.transport.channels[1], packets))
        return True

    async def drain(self) -> None:
        if self.transport.kind == "tcp":
            await self.session.connection.writer.drain()


@dataclass(eq=False)
class Session:
    id: str
    connection: Connection
    principal: Principal
    mount: str
    query: str  # the presentation's query: every SETUP of the session names the same
    base: str  # presentation URL without the query
    last_seen: float
    timeout: int  # seconds without a request before it ends
    tracks: dict[int, SessionTrack] = field(default_factory=dict)

    @property
    def options(self) -> frozenset[str]:
        return frozenset().union(*(t.track.options for t in self.tracks.values()))

    @property
    def playing(self) -> bool:
        return any(t.stream is not None for t in self.tracks.values())

    def control(self, index: int) -> str:
        return f"{self.base}/stream={index}" + (f"?{self.query}" if self.query else "")


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


@dataclass
class Target:
    """What a request URL names: the presentation URL (without query), its mount, query and track."""

    base: str
    mount: str
    query: str
    track: int | None


class RtspServer:
    """Serves the device's mounts; `serve` is the device service."""

    def __init__(self, mounts: Mounts, listening: Listening, params: ParamTree, auth: Authenticator, logs: Logs,
                 clock: Clock, host: str = "0.0.0.0") -> None:
        self.mounts = mounts
        self.listening = listening
        self.params = params
        self.profiles = StreamProfiles(params)  # `streamprofile=NAME` in a URL
        self.auth = RtspAuth(auth, params, logs)
        self.clock = clock
        self.host = host
        self.session_timeout = SESSION_TIMEOUT
        self.reap_interval = 1.0
        self.backlog_limit = BACKLOG_LIMIT
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

    def now(self) -> float:
        return self.clock.monotonic()

    # -- lifecycle ---------------------------------------------------------------------
    async def serve(self) -> None:
        """The device service: RTP over UDP, and the RTSP port where `listening` puts it (it
        moves, opens and closes with Network.RTSP.Port and Network.RTSP.Enabled)."""
        try:
            try:
                await self._open_udp()
            except OSError as err:
                log.warning("RTSP server without RTP over UDP (interleaved TCP only): %s", err)
            try:
                self.move(self.listening.attach(RTSP, self.move))
            except PortInUse as err:  # the RTSP server waits for another port; the device serves on
                log.error("RTSP server not started: %s", err)
            while True:
                await asyncio.sleep(self.reap_interval)
                self.reap()
        finally:
            self.listening.detach(RTSP)
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
        log.info("RTSP server on port %d", self.port)

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
        rtp.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 << 20)  # a key frame leaves in one burst
        self.rtp, _ = await loop.create_datagram_endpoint(asyncio.DatagramProtocol, sock=rtp)
        self.rtcp, _ = await loop.create_datagram_endpoint(lambda: _Rtcp(self), sock=rtcp)
        self.server_ports = (port, port + 1)

    def reap(self) -> None:
        """End sessions nobody kept alive, idle connections without a session, and connections
        that have not sent a whole request within the request timeout."""
        now = self.now()
        first_request = self.params.get_int("Network.RTSP.RequestTimeout")
        for session in list(self.sessions.values()):
            if now - session.last_seen > session.timeout:
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
        most = self.params.get_int("Network.RTSP.MaxConnections")
        per_client = self.params.get_int("Network.RTSP.MaxClientConnections")
        if len(self.connections) >= most:
            return f"{most} connections open"
        if self.per_address.get(connection.address, 0) >= per_client:
            return f"{per_client} connections open from {connection.address}"
        return None

    def rtcp_from(self, address: tuple[str, int]) -> None:
        """A receiver report keeps the session of that client port alive."""
        for session in self.sessions.values():
            for track in session.tracks.values():
                t = track.transport
                if t.kind == "udp" and session.connection.address == address[0] and address[1] in t.client_ports:
                    session.last_seen = self.now()

    # -- connections -------------------------------------------------------------------
    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = Connection(self, reader, writer)
        local = writer.get_extra_info("sockname")
        if local and not self.listening.admits(connection.address, local[1]):
            writer.transport.abort()  # the firewall drops it: no answer at all
            return
        refusal = self._refusal(connection)
        if refusal is not None:
            writer.write(response(503, None, [], b""))
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
            if first == b"$":  # interleaved RTCP from the client, or RTP on a backchannel track
                header = await reader.readexactly(3)
                channel, length = header[0], struct.unpack("!H", header[1:])[0]
                packet = await reader.readexactly(length)
                for session in connection.sessions.values():
                    for track in session.tracks.values():
                        if channel in track.transport.channels:
                            session.last_seen = self.now()
                            if channel == track.transport.channels[0] and isinstance(track.stream, Receiver):
                                track.stream.receive(packet)
                continue
            try:
                head = first + await reader.readuntil(b"\r\n\r\n")
            except asyncio.LimitOverrunError:
                connection.write(response(400, None, [], b"Request header too large\r\n"))
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
                cseq = request.cseq if request else cseq_of(head)
                if err.status != 401:
                    log.debug("RTSP %s from %s: %d %s", request.method if request else "request",
                              connection.address, err.status, err)
                connection.write(response(err.status, cseq, err.headers, f"{err}\r\n".encode()))
                if err.close:
                    return
                continue
            connection.write(response(status, request.cseq, headers, body))
            self._after_response(connection, request, status)

    # -- requests ----------------------------------------------------------------------
    def _handle(self, connection: Connection, request: Request) -> tuple[int, list[tuple[str, str]], bytes]:
        method = request.method
        if method not in ALLOWED:
            if method in KNOWN_ELSEWHERE:
                raise RtspError(405, f"{method} is not allowed here", [("Allow", ", ".join(ALLOWED))])
            raise RtspError(501, f"{method} is not implemented")
        if self.auth.blocked(connection.address):
            raise RtspError(403, "too many failed logins, try again later")
        session = self._session_of(connection, request)
        if method == "OPTIONS":
            return 200, [("Public", ", ".join(ALLOWED)), *self._session_header(session)], b""
        target = self._target(request.url, session)
        if method == "DESCRIBE":
            return self._describe(connection, request, target)
        if method == "SETUP":
            return self._setup(connection, request, target, session)
        self.auth.authorize(request, target.mount, connection.address)
        if session is None:
            if method in ("PLAY", "PAUSE"):
                raise RtspError(455, f"{method} needs a session from SETUP")
            if method == "TEARDOWN":
                raise RtspError(454)
            return 200, [], b""  # GET_PARAMETER / SET_PARAMETER without a session: a ping
        _supported(request, session.options)
        if method == "PLAY":
            return self._play(session, parse_play(request))
        if method == "PAUSE":
            self._pause(session)
            return 200, self._session_header(session), b""
        if method == "TEARDOWN":
            self.end_session(session)
            return 200, [], b""
        if method == "SET_PARAMETER" and request.body.strip():
            raise RtspError(451, headers=self._session_header(session))
        return 200, self._session_header(session), b""  # GET_PARAMETER: keep-alive

    def _play(self, session: Session, play: Play) -> tuple[int, list[tuple[str, str]], bytes]:
        """Every track prepares to play as asked (one that refuses refuses the PLAY, and nothing
        changes); a playing stored track asked for a new range, speed or frames starts again."""
        positions = {index: track.track.seek(play) for index, track in session.tracks.items()}
        for index, track in session.tracks.items():
            before = track.play
            if track.stream is not None and positions[index] is not None and before is not None and (
                    play.range is not None or play.immediate or
                    (play.scale, play.rate_control, play.frames, play.intra_ms) !=
                    (before.scale, before.rate_control, before.frames, before.intra_ms)):
                track.stream.stop()
                track.stream = None
        infos = []
        for track in session.tracks.values():
            info = track.track.rtp_info(track) if track.stream is None else ""
            infos.append(f"url={session.control(track.index)}" + (f";{info}" if info else ""))
        stored = next((p for p in positions.values() if p is not None), None)
        headers = [*self._session_header(session), ("Range", stored.range if stored else "npt=now-")]
        if stored is not None:
            headers.append(("Scale", f"{stored.scale:g}"))
            for track in session.tracks.values():
                if track.stream is None:
                    track.play = play
        return 200, [*headers, ("RTP-Info", ",".join(infos))], b""

    def _after_response(self, connection: Connection, request: Request, status: int) -> None:
        """Start sending only after the PLAY response is on the wire, so it comes first."""
        if request.method == "PLAY" and status == 200:
            session = self._session_of(connection, request)
            if session is not None:
                for track in session.tracks.values():
                    if track.stream is None:
                        track.stream = track.track.open(track)

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
        return [("Session", f"{session.id};timeout={session.timeout}")] if session else []

    def _target(self, url: str, session: Session | None) -> Target:
        """What the request URL names. The requests that act on a session may use the
        presentation URL without its query (ffmpeg does), a track, or `*`."""
        if url == "*":
            return Target("", session.mount if session else "", "", None)
        try:
            parts = urlsplit(url)
        except ValueError:
            raise RtspError(400, "malformed URL") from None
        mount = self.mounts.mount_of(parts.path) if parts.scheme in ("rtsp", "") else None
        if mount is None:
            raise RtspError(404, f"no stream at {parts.path}")
        rest = parts.path[len(mount):].strip("/")
        match = _TRACK.fullmatch(rest)
        if rest and match is None:
            raise RtspError(404, f"no track {rest}")
        netloc = parts.netloc.rsplit("@", 1)[-1] or f"{self.host}:{self.port}"
        return Target(f"rtsp://{netloc}{mount}", mount, parts.query, int(match.group(1)) if match else None)

    def _presentation(self, target: Target, request: Request) -> Presentation:
        try:
            query = self.profiles.expand(parse_qsl(target.query, keep_blank_values=True))
            presentation = self.mounts.resolve(target.mount, query, frozenset(request.required))
        except ValueError:  # parse_qsl on a malformed query
            raise RtspError(400, "malformed query") from None
        _supported(request, presentation.options)
        return presentation

    # -- methods -----------------------------------------------------------------------
    def _describe(self, connection: Connection, request: Request, target: Target) -> tuple[int, list, bytes]:
        presentation = self._presentation(target, request)
        tracks = presentation.tracks
        self.auth.authorize(request, target.mount, connection.address, presentation.role)
        accept = request.headers.get("accept")
        if accept and "application/sdp" not in accept and "*/*" not in accept:
            raise RtspError(406, "only application/sdp descriptions")
        host = urlsplit(target.base).hostname or "0.0.0.0"
        family = "IP6" if ":" in host else "IP4"
        lines = [
            "v=0",
            f"o=- {secrets.randbits(62)} 1 IN {family} {host}",
            "s=Session streamed with Vigil",
            f"c=IN {family} {'::' if family == 'IP6' else '0.0.0.0'}",
            "t=0 0",
            "a=tool:Vigil",
            *(f"a=range:{r}" for r in next((r for r in (t.ranges() for t in tracks) if r), ["npt=now-"])),
            "a=control:*",
        ]
        query = f"?{target.query}" if target.query else ""
        for index, track in enumerate(tracks):
            lines += track.sdp()
            lines.append(f"a=control:{target.base}/stream={index}{query}")
        sdp = "\r\n".join([*lines, ""]).encode()
        return 200, [("Content-Type", "application/sdp"), ("Content-Base", f"{target.base}/")], sdp

    def _setup(self, connection: Connection, request: Request, target: Target,
               session: Session | None) -> tuple[int, list, bytes]:
        presentation = self._presentation(target, request)
        tracks = presentation.tracks
        principal = self.auth.authorize(request, target.mount, connection.address, presentation.role)
        index = target.track if target.track is not None else 0
        if index >= len(tracks) or (target.track is None and len(tracks) > 1):
            raise RtspError(404, "SETUP names one track of the presentation (stream=N)")
        header = request.headers.get("transport")
        if not header:
            raise RtspError(461, "Transport header missing")
        transport = parse_transport(header)
        if transport.kind == "udp" and self.rtp is None:
            raise RtspError(461, "RTP over UDP is not available")
        if BACKCHANNEL in tracks[index].options and transport.kind != "tcp":
            raise RtspError(461, "the audio backchannel is sent interleaved on the RTSP connection (RTP/AVP/TCP)")
        if session is not None:
            if session.playing:
                raise RtspError(455, "cannot change the transport while playing")
            if (session.mount, session.query) != (target.mount, target.query):
                raise RtspError(455, "a session plays one presentation: SETUP its tracks with its URL")
        else:
            if len(self.sessions) >= self.params.get_int("Network.RTSP.MaxSessions"):
                raise RtspError(453, "too many sessions")
            session = Session(secrets.token_hex(8).upper(), connection, principal, target.mount, target.query,
                              target.base, self.now(), presentation.session_timeout or self.session_timeout)
            self.sessions[session.id] = session
            connection.sessions[session.id] = session
            self.auth.seen(connection.address, principal)
        if transport.kind == "tcp":
            taken = {c for i, t in session.tracks.items() if i != index for c in t.transport.channels}
            while set(transport.channels) & taken:  # two tracks asked for one channel pair
                transport.channels = (transport.channels[0] + 2, transport.channels[1] + 2)
            if transport.channels[1] > 255:
                raise RtspError(461, "no free interleaved channels")
        track = tracks[index]
        session.tracks[index] = SessionTrack(session, index, track, transport,
                                             track.ssrc if track.ssrc is not None else secrets.randbits(32))
        ssrc = f"{session.tracks[index].ssrc:08X}"
        if transport.kind == "udp":
            spec = (f"RTP/AVP;unicast;client_port={transport.client_ports[0]}-{transport.client_ports[1]};"
                    f"server_port={self.server_ports[0]}-{self.server_ports[1]};ssrc={ssrc};mode=\"PLAY\"")
        else:
            spec = f"RTP/AVP/TCP;unicast;interleaved={transport.channels[0]}-{transport.channels[1]};ssrc={ssrc};mode=\"PLAY\""
        return 200, [*self._session_header(session), ("Transport", spec)], b""

    def _pause(self, session: Session) -> None:
        for track in session.tracks.values():
            if track.stream is not None:
                track.stream.stop()
                track.stream = None


def _supported(request: Request, options: frozenset[str]) -> None:
    """RtspError 551 naming the options of the request's Require that `options` lack."""
    unsupported = sorted(request.required - options)
    if unsupported:
        raise RtspError(551, f"not supported here: {', '.join(unsupported)}"[:200],
                        [("Unsupported", ", ".join(unsupported)[:200])])


class _Rtcp(asyncio.DatagramProtocol):
    def __init__(self, server: RtspServer) -> None:
        self.server = server

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        self.server.rtcp_from(addr)


def _backlog(transport: asyncio.BaseTransport | None) -> int:
    size = getattr(transport, "get_write_buffer_size", None)
    return size() if size is not None else 0
