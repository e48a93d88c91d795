"""NAT traversal for SIP (the C1410 manual's SIP settings > NAT traversal: ICE, STUN, TURN) with
aioice (STUN, TURN and ICE on asyncio):
- STUN: the public (server-reflexive) address of the SIP socket goes into Contact and Via (with
  rport), that of a call's RTP socket into the SDP's c= and m= lines;
- TURN: a call's RTP goes through a relay allocation on the TURN server, and the SDP advertises
  the relayed address (the far end sends there, the server forwards to the device);
- ICE (RFC 8445, SDP attributes per RFC 8839): host, server-reflexive and relayed candidates are
  offered, the far end's are checked, and RTP takes the pair the checks select. A far end
  without ICE gets RTP from the default candidate straight to its c=/m= address.
A server that does not answer in `TIMEOUT` or refuses leaves the call on the next path (relay,
then public address, then the local one), with the reason in the NAT status and the log."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aioice import Candidate, Connection, stun
from aioice.turn import TurnTransport, create_turn_endpoint

from vigil.core.logs import Logs
from vigil.features.sip import const as c
from vigil.features.sip import sdp
from vigil.features.sip.media import RtpProtocol, RtpSession
from vigil.features.sip.transport import resolve

log = logging.getLogger("vigil.sip")

Address = tuple[str, int]
TIMEOUT = 3.0  # seconds a STUN or TURN server (or ICE gathering) is given before the call goes on without it
MAGIC_COOKIE = bytes.fromhex("2112a442")


class NatError(Exception):
    """A STUN or TURN server that did not answer or refused; the text is for the status and the log."""


def server_address(text: str) -> Address:
    host, _, port = text.partition(":")
    return host, int(port or c.STUN_PORT)


@dataclass(frozen=True)
class NatSettings:
    """What the agent needs of the stored NAT traversal settings (the TURN password opened, in memory only)."""

    ice: bool = False
    stun: Address | None = None
    turn: Address | None = None
    turn_user: str = ""
    turn_password: str = ""
    turn_transport: str = "udp"  # how the TURN server is reached (the relay itself is UDP)

    @classmethod
    def from_stored(cls, stored: dict[str, Any]) -> NatSettings:
        return cls(bool(stored["ice"]), server_address(stored["stunServer"]) if stored["stun"] else None,
                   server_address(stored["turnServer"]) if stored["turn"] else None, stored["turnUser"],
                   stored["turnPassword"], stored.get("turnTransport", "udp"))


class NatStatus:
    """The outcome of the last use of each server ("stun", "turn"): ok, or failed with the reason;
    a change is logged (a failure as a warning)."""

    def __init__(self, logs: Logs | None = None) -> None:
        self.logs = logs
        self.state: dict[str, dict[str, str]] = {}

    def report(self, kind: str, problem: str = "") -> None:
        now = {"state": "failed" if problem else "ok", "reason": problem}
        if self.state.get(kind) != now:
            self.state[kind] = now
            if self.logs is not None:
                self.logs.system(f"SIP NAT traversal: {kind.upper()} " + (f"failed: {problem}" if problem else "works"),
                                 "warning" if problem else "info")


def is_stun(data: bytes) -> bool:
    """A STUN message (RFC 8489 6): the first two bits zero and the magic cookie; RTP starts with version 2."""
    return len(data) >= 20 and data[0] < 0x40 and data[4:8] == MAGIC_COOKIE


class StunClient:
    """Binding requests sent over a socket its owner has (the SIP socket, an RTP socket): the owner
    hands every datagram for which `is_stun` holds to `received`."""

    def __init__(self, send: Callable[[bytes, Address], None]) -> None:
        self.send = send
        self.waiting: dict[bytes, asyncio.Future[stun.Message]] = {}

    def received(self, data: bytes) -> None:
        with contextlib.suppress(ValueError):
            message = stun.parse_message(data)
            waiter = self.waiting.pop(message.transaction_id, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(message)

    async def mapped(self, server: Address) -> Address:
        """The address and port the server saw this socket's request come from (XOR-MAPPED-ADDRESS)."""
        try:
            server = await resolve(server)
        except OSError as err:
            raise NatError(f"cannot find the STUN server {server[0]}: {err}") from None
        request = stun.Message(message_method=stun.Method.BINDING, message_class=stun.Class.REQUEST)
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[request.transaction_id] = waiter
        interval = 0.5
        try:
            async with asyncio.timeout(TIMEOUT):
                while not waiter.done():  # retransmitted at 0.5, 1, 2 s (RFC 8489 6.2.1)
                    self.send(bytes(request), server)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(asyncio.shield(waiter), interval)
                    interval *= 2
        except TimeoutError:
            raise NatError(f"no answer from the STUN server {server[0]}:{server[1]}") from None
        finally:
            self.waiting.pop(request.transaction_id, None)
        response = waiter.result()
        if response.message_class != stun.Class.RESPONSE or "XOR-MAPPED-ADDRESS" not in response.attributes:
            raise NatError(f"the STUN server {server[0]}:{server[1]} refused: "
                           f"{response.attributes.get('ERROR-CODE', 'no mapped address')}")
        return response.attributes["XOR-MAPPED-ADDRESS"]


class _StunOrRtp(asyncio.DatagramProtocol):
    """An RTP socket's protocol that also hears the answers to its STUN requests."""

    def __init__(self, rtp: RtpProtocol, client: StunClient) -> None:
        self.rtp, self.client = rtp, client

    def datagram_received(self, data: bytes, addr: Address) -> None:
        if is_stun(data):
            self.client.received(data)
        else:
            self.rtp.datagram_received(data, addr)


class _Relay:
    """A TURN allocation as the RTP session's transport (aioice's TurnTransport has no is_closing)."""

    def __init__(self, transport: TurnTransport) -> None:
        self.transport = transport
        self.closed = False

    def sendto(self, data: bytes, addr: Address) -> None:
        if not self.closed:
            self.transport.sendto(data, addr)

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        self.transport.close()  # deletes the allocation


class _IcePipe:
    """An ICE connection as the RTP session's transport: RTP goes over the selected pair (the far
    end's address given with each packet is the SDP's; ICE knows better), what arrives is RTP."""

    def __init__(self, connection: Connection, session: RtpSession) -> None:
        self.connection, self.session = connection, session
        self.connected = False
        self.closed = False
        self.tasks: set[asyncio.Task] = set()

    def sendto(self, data: bytes, addr: Address) -> None:
        if self.connected and not self.closed:
            self._spawn(self.connection.send(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True
        for task in self.tasks:
            task.cancel()
        self._spawn(self.connection.close(), keep=False)

    def _spawn(self, coro: Any, keep: bool = True) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # a send lost is a packet lost
        if keep:
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def selected(self) -> None:
        self.connected = True
        self._spawn(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionError):
            while not self.closed:
                data, component = await self.connection.recvfrom()
                if component == 1:  # RTCP (component 2) is not read
                    self.session.received(data)


@dataclass
class MediaPath:
    """How one call's RTP reaches the far end: the address and port the SDP gives, and with ICE
    the connection whose candidates the SDP lists and whose checks pick the pair."""

    address: str
    port: int
    kind: str = "host"  # host | srflx | relay | ice
    ice: Connection | None = None
    pipe: _IcePipe | None = None
    relay: _Relay | None = None

    def sdp_attributes(self) -> list[str]:
        if self.ice is None:
            return []
        rtcp = self.ice.get_default_candidate(2)  # RTCP's own component unless the offer muxed it (RFC 5761)
        return ([f"ice-ufrag:{self.ice.local_username}", f"ice-pwd:{self.ice.local_password}",
                 f"rtcp:{rtcp.port} IN IP4 {rtcp.host}" if rtcp is not None else "rtcp-mux"]
                + [f"candidate:{x.to_sdp()}" for x in self.ice.local_candidates])

    async def connect(self, remote: sdp.Media, status: NatStatus, name: str) -> None:
        """With TURN: the far end let through the relay; with ICE: the far end's candidates checked
        and a pair selected (RTP flows from then on)."""
        if self.relay is not None:
            # The server forwards only from peers the device has sent to (RFC 8656 9): an empty
            # datagram opens the way at once, before any audio (a call that only listens sends none).
            self.relay.sendto(b"", (remote.address, remote.port))
        if self.ice is None or self.pipe is None:
            return
        attributes = [a.partition(":") for a in remote.attributes]
        values = {key: value for key, _, value in attributes}
        if "ice-ufrag" not in values or "ice-pwd" not in values:  # the far end has no ICE: RTP to its c=/m=
            default = self.ice.get_default_candidate(1)
            far = Candidate("sdp", 1, "udp", 1, remote.address, remote.port, "host")
            await self.ice.add_remote_candidate(far)
            assert default is not None
            self.ice.set_selected_pair(1, default.foundation, far.foundation)
            self.pipe.selected()
            return
        self.ice.remote_username, self.ice.remote_password = values["ice-ufrag"], values["ice-pwd"]
        for key, _, value in attributes:
            if key == "candidate":
                with contextlib.suppress(ValueError, IndexError):
                    candidate = Candidate.from_sdp(value)
                    if candidate.transport.lower() == "udp":
                        await self.ice.add_remote_candidate(candidate)
        await self.ice.add_remote_candidate(None)
        try:
            await self.ice.connect()
        except (ConnectionError, OSError) as err:
            log.info("SIP call %s: ICE failed: %s", name, err)
            status.report("ice", f"call {name}: no candidate pair works ({err})")
            return
        status.report("ice")
        self.pipe.selected()


class NatAgent:
    """The NAT traversal of one running user agent: the SIP socket's public address, and a path for each call's RTP."""

    def __init__(self, settings: NatSettings | None = None, status: NatStatus | None = None) -> None:
        self.settings, self.status = settings or NatSettings(), status or NatStatus()
        self.public: Address | None = None  # the SIP socket's address as the STUN server saw it
        self.signalling: StunClient | None = None

    async def learn_public(self, send: Callable[[bytes, Address], None]) -> None:
        """Ask the STUN server for the SIP socket's public address (`send` sends from that socket;
        its owner hands STUN datagrams to `received`)."""
        if self.settings.stun is None:
            return
        self.signalling = self.signalling or StunClient(send)
        try:
            self.public = await self.signalling.mapped(self.settings.stun)
            self.status.report("stun")
        except NatError as err:
            self.status.report("stun", str(err))

    def received(self, data: bytes) -> bool:
        """True when a datagram on the SIP socket was STUN (then it is consumed here)."""
        if self.signalling is None or not is_stun(data):
            return False
        self.signalling.received(data)
        return True

    async def check_turn(self) -> None:
        """One allocation made and deleted: the status says at once whether the TURN server and
        its credentials work (a wrong password shows before the first call)."""
        if self.settings.turn is None:
            return
        with contextlib.suppress(NatError):
            relay = await self._allocate(asyncio.DatagramProtocol)
            relay.close()

    async def open_media(self, session: RtpSession, host: str, first_port: int, controlling: bool,
                         offer: sdp.Media | None = None) -> MediaPath:
        """The call's RTP path; `offer` is the far end's when answering (its rtcp-mux decides ICE's components)."""
        path = await self._open(session, host, first_port, controlling, offer)
        log.info("SIP call %s: RTP at %s:%s (%s)", session.name, path.address, path.port, path.kind)
        return path

    async def _open(self, session: RtpSession, host: str, first_port: int, controlling: bool,
                    offer: sdp.Media | None) -> MediaPath:
        if self.settings.ice:
            with contextlib.suppress(NatError):
                return await self._ice(session, controlling, 1 if offer and "rtcp-mux" in offer.attributes else 2)
        if self.settings.turn is not None:
            with contextlib.suppress(NatError):
                return await self._relay(session)
        if self.settings.stun is None:
            return MediaPath(host, await session.bind(host, first_port))
        client = StunClient(lambda data, addr: session.transport.sendto(data, addr) if session.transport else None)
        port = await session.bind(host, first_port, lambda: _StunOrRtp(RtpProtocol(session.received), client))
        try:
            address, public_port = await client.mapped(self.settings.stun)
        except NatError as err:
            self.status.report("stun", str(err))
            return MediaPath(host, port)
        self.status.report("stun")
        return MediaPath(address, public_port, "srflx")

    async def _allocate(self, protocol: Callable[[], asyncio.DatagramProtocol]) -> _Relay:
        turn = self.settings.turn
        assert turn is not None
        try:
            server = await resolve(turn)
            transport, _ = await asyncio.wait_for(create_turn_endpoint(
                protocol, server, self.settings.turn_user, self.settings.turn_password,
                transport=self.settings.turn_transport), TIMEOUT)
        except (OSError, TimeoutError, ConnectionError, stun.TransactionError) as err:
            problem = _turn_problem(turn, err)
            self.status.report("turn", problem)
            raise NatError(problem) from None
        self.status.report("turn")
        return _Relay(transport)

    async def _relay(self, session: RtpSession) -> MediaPath:
        relay = await self._allocate(lambda: RtpProtocol(session.received))
        session.attach(relay)
        address, port = relay.transport.get_extra_info("sockname")
        return MediaPath(address, port, "relay", relay=relay)

    async def _ice(self, session: RtpSession, controlling: bool, components: int) -> MediaPath:
        settings = self.settings
        connection = Connection(controlling, components, settings.stun, settings.turn, settings.turn_user or None,
                                settings.turn_password or None, turn_transport=settings.turn_transport,
                                use_ipv6=False)
        try:
            await asyncio.wait_for(connection.gather_candidates(), TIMEOUT * 2)
        except TimeoutError:
            self.status.report("ice", "gathering candidates took too long")
        candidates = connection.local_candidates
        if settings.turn is not None:
            relayed = any(x.type == "relay" for x in candidates)
            self.status.report("turn", "" if relayed else f"no relayed candidate from the TURN server "
                                                          f"{settings.turn[0]}:{settings.turn[1]} (see the log)")
        if settings.stun is not None:
            reflexive = any(x.type == "srflx" for x in candidates)
            self.status.report("stun", "" if reflexive else f"no answer from the STUN server "
                                                            f"{settings.stun[0]}:{settings.stun[1]}")
        default = connection.get_default_candidate(1)
        if default is None:
            await connection.close()
            self.status.report("ice", "no candidate (no network address)")
            raise NatError("ICE found no candidate")
        pipe = _IcePipe(connection, session)
        session.attach(pipe)
        return MediaPath(default.host, default.port, "ice", connection, pipe)


def _turn_problem(server: Address, err: BaseException) -> str:
    where = f"the TURN server {server[0]}:{server[1]}"
    if isinstance(err, stun.TransactionFailed):
        code = err.response.attributes.get("ERROR-CODE", (0, ""))
        if code[0] == 401:
            return f"{where} refused the user name or password ({code[0]} {code[1]})"
        return f"{where} refused the allocation ({code[0]} {code[1]})"
    if isinstance(err, TimeoutError | stun.TransactionTimeout):
        return f"no answer from {where}"
    return f"cannot reach {where}: {err}"
