"""The SIP user agent (RFC 3261) on asyncio over UDP, TCP and TLS (transport.py, tls.py): client
transactions with retransmission (timers A/E, T1 = 0.5 s), REGISTER with digest authentication
(kept up by registration.py: refresh, secondary server), INVITE/ACK/BYE/CANCEL/OPTIONS/INFO as
caller and callee through the account's outbound proxies and the dialog's route set (routing.py),
SDP offer/answer (sdp.py), the account and call records (dialog.py) and the call's RTP (media.py,
made by the owner through `Hooks.media`; its path, and the public address in Contact and Via,
from nat.py: STUN, TURN, ICE).

A re-INVITE is a new offer (negotiation.py): hold, resume, new keys or a session refresh; one
the device cannot take is answered 488 and the call goes on as it was.

Deliberate limits: a second call while one is up is answered 486 Busy Here (the speaker has one
call), and the device does not put calls on hold itself."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import ssl
import time
from collections.abc import Callable, Coroutine
from typing import Any, Protocol

from vigil.features.sip import message as m
from vigil.features.sip import proxyauth, routing, sdp
from vigil.features.sip.dialog import Account, Call
from vigil.features.sip.errors import SipError, SipUnreachable
from vigil.features.sip.media import RtpSession
from vigil.features.sip.nat import MediaPath, NatAgent
from vigil.features.sip.negotiation import Negotiation, NotAcceptable
from vigil.features.sip.registration import Policy, Registration
from vigil.features.sip.rewrite import Rewrite
from vigil.features.sip.transport import Address, Transports, local_address, resolve
from vigil.features.sip.udp_to_tcp import switch_to_tcp

log = logging.getLogger("vigil.sip")

T1 = 0.5
TRANSACTION_TIMEOUT = 64 * T1  # timers B and F
ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO"
DTMF_INFO = ("application/dtmf-relay", "application/dtmf")


def not_acceptable(msg: m.Message, reason: str, tag: str = "") -> m.Message:
    """488 to an offer the device cannot take, the reason in a Warning (RFC 3261 20.43)."""
    return m.response(msg, 488, "Not Acceptable Here", tag or m.new_tag(), extra=[
        ("accept", "application/sdp"), ("warning", f'399 vigil "{reason}"')])


class Hooks(Protocol):
    """What the agent's owner does with calls (the SIP feature's service)."""

    def account_for(self, user: str) -> Account: ...

    def incoming_allowed(self, call_id: str, remote: str) -> bool: ...  # told of each INVITE (retransmitted too)

    def codec_priority(self) -> list[str]: ...

    def offer_direction(self) -> str: ...

    def rtp_port(self) -> int: ...

    def media(self, call: Call) -> RtpSession: ...

    def call_changed(self, call: Call) -> None: ...

    def dtmf(self, call: Call, digit: str) -> None: ...

    def registration_changed(self, account: Account, registered: bool, reason: str, server: str = "") -> None: ...

    def client_tls(self, account: Account) -> ssl.SSLContext: ...

    def registration_policy(self) -> Policy: ...

    def dtmf_payload(self) -> int: ...  # the telephone-event payload type the device offers

    def udp_to_tcp(self) -> bool: ...  # RFC 3261 18.1.1: a large request goes over TCP instead of UDP


class UserAgent:
    def __init__(self, hooks: Hooks, host: str, port: int, nat: NatAgent | None = None, tls_port: int = 0,
                 tls_server: ssl.SSLContext | None = None, rewrite: Rewrite | None = None) -> None:
        self.hooks = hooks
        self.rewrite = rewrite or Rewrite()  # the public address servers see, in Via and Contact (rewrite.py)
        self.nat = nat or NatAgent()  # STUN for Contact/Via, and each call's media path (nat.py)
        self.host, self.port = host, port
        self.transports = Transports(host, port, self.received, tls_port, tls_server, self._connection_closed)
        self.calls: dict[str, Call] = {}  # by Call-ID
        self.pending: dict[str, asyncio.Queue[m.Message | str]] = {}  # client transactions by branch (str: failed)
        self.pending_on: dict[str, object] = {}  # the connection each was sent over (None: UDP)
        self.tasks: set[asyncio.Task] = set()
        self.registrations: dict[str, Registration] = {}
        self._ids = itertools.count(1)
        self.malformed = 0

    async def start(self) -> None:
        await self.transports.start()
        self.port = self.transports.port
        await self.nat.learn_public(self.transports.send)

    async def stop(self) -> None:
        for call in list(self.calls.values()):
            if call.state != "ended":
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.hangup(call), 2)
        tasks = [*(r.task for r in self.registrations.values() if r.task is not None), *self.tasks]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self.registrations.clear()
        await self.transports.stop()

    def spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    # -- sending ------------------------------------------------------------------------
    def send(self, msg: m.Message, addr: tuple[str, int]) -> None:
        self.transports.send(msg.encode(), addr)

    def sent_by(self, toward: tuple[str, int], learnt: Address | None = None) -> str:
        """This side's address for Via and Contact: the one `toward` was seen to send from (`learnt`,
        rewrite.py), else over UDP the public one STUN learned, if any; over TLS the TLS port."""
        if learnt is not None:
            return f"{learnt[0]}:{learnt[1]}"
        if self.nat.public is not None and not self.transports.reliable(toward):
            return f"{self.nat.public[0]}:{self.nat.public[1]}"
        return f"{local_address(self.host, toward)}:{self.transports.local_port(toward)}"

    def via(self, toward: tuple[str, int], branch: str) -> str:
        sent_by = self.sent_by(toward, self.rewrite.via_address(toward))
        return f"SIP/2.0/{self.transports.name(toward)} {sent_by};branch={branch};rport"

    def contact(self, user: str, toward: tuple[str, int], sips: bool = False) -> str:
        name = self.transports.name(toward)
        transport = f";transport={name.lower()}" if name != "UDP" and not sips else ""
        sent_by = self.sent_by(toward, self.rewrite.contact_address(toward))
        return f"<{routing.scheme(sips and name == 'TLS')}:{user}@{sent_by}{transport}>"

    async def reach(self, account: Account, addr: Address) -> None:
        """The account's connection to `addr` (TCP or TLS; none for UDP); SipUnreachable when refused."""
        if account.transport == "udp":
            return
        tls = self.hooks.client_tls(account) if account.transport == "tls" else None
        try:
            await self.transports.connect(addr, tls)
        except (OSError, TimeoutError) as err:
            raise SipUnreachable(f"cannot connect to {addr[0]}:{addr[1]} over {account.transport.upper()}: "
                                 f"{err or 'timed out'}") from None

    def new_request(self, method: str, uri: str, toward: tuple[str, int], from_header: str, to_header: str,
                    call_id: str, cseq: int, branch: str = "") -> m.Message:
        req = m.Message(f"{method} {uri} SIP/2.0")
        req.headers = [("via", self.via(toward, branch or m.new_branch())), ("max-forwards", "70"),
                       ("from", from_header), ("to", to_header), ("call-id", call_id),
                       ("cseq", f"{cseq} {method}"), ("user-agent", "Vigil")]
        return req

    async def transact(self, req: m.Message, addr: tuple[str, int],
                       provisional: Callable[[m.Message], None] | None = None) -> m.Message:
        """Send a request and return its final response (retransmitting over UDP until a response
        comes; an INVITE stops at the first provisional one); SipError on timeout."""
        branch = m.param(req.get("via"), "branch")
        if self.hooks.udp_to_tcp():
            await switch_to_tcp(self, req, addr)
        queue: asyncio.Queue[m.Message | str] = asyncio.Queue()
        self.pending[branch], self.pending_on[branch] = queue, self.transports.streams.get(addr)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TRANSACTION_TIMEOUT
        interval, retransmit = T1, not self.transports.reliable(addr)  # TCP: no retransmission
        try:
            self.send(req, addr)
            while True:
                wait = min(interval, deadline - loop.time()) if retransmit else deadline - loop.time()
                if wait <= 0:
                    raise SipUnreachable(f"no answer from {addr[0]}:{addr[1]}")
                try:
                    resp = await asyncio.wait_for(queue.get(), wait)
                except TimeoutError:
                    if retransmit:
                        self.send(req, addr)
                        interval = min(interval * 2, 4.0) if req.method != "INVITE" else interval * 2
                    continue
                if isinstance(resp, str):
                    raise SipUnreachable(f"the connection to {addr[0]}:{addr[1]} ended: {resp}")
                if resp.status >= 200:
                    return resp
                if req.method == "INVITE":
                    retransmit = False
                    deadline = loop.time() + 180  # Timer C: a ringing call is given three minutes
                if provisional is not None:
                    provisional(resp)
        finally:
            self.pending.pop(branch, None)
            self.pending_on.pop(branch, None)

    async def authenticated(self, req: m.Message, addr: tuple[str, int], account: Account,
                            provisional: Callable[[m.Message], None] | None = None) -> m.Message:
        """`transact`, answering a 407 (a proxy's) and a 401 challenge once each, with the account's or
        a proxy's credentials (proxyauth.py): a proxy that wants its own lets the request on to a
        registrar that wants the account's."""
        resp = await self.transact(req, addr, provisional)
        answered: set[int] = set()
        while resp.status in (401, 407) and resp.status not in answered:
            header = "www-authenticate" if resp.status == 401 else "proxy-authenticate"
            user, password = proxyauth.credentials(resp.status, resp.get(header), account.proxy_logins,
                                                   account.auth_id or account.user, account.password)
            if not password:
                return resp
            answered.add(resp.status)
            if req.method == "INVITE":
                self.ack_failure(req, resp, addr)
            try:
                value = m.digest(resp.get(header), req.method, req.uri, user, password)
            except ValueError as err:
                raise SipError(str(err)) from None
            self.again(req, addr)
            req.set("authorization" if resp.status == 401 else "proxy-authorization", value)
            await self.reach(account, addr)  # over the account's own connection (another account's may carry now)
            resp = await self.transact(req, addr, provisional)
        return resp

    def again(self, req: m.Message, addr: tuple[str, int]) -> None:
        """`req` made a new transaction to send again: the next CSeq, a new branch, the Via as now."""
        number, method = req.cseq
        req.set("cseq", f"{number + 1} {method}")
        req.headers = [("via", self.via(addr, m.new_branch())), *((n, v) for n, v in req.headers if n != "via")]

    def ack_failure(self, invite: m.Message, resp: m.Message, addr: tuple[str, int]) -> None:
        """The ACK of a non-2xx final response (same branch, RFC 3261 17.1.1.3)."""
        ack = m.Message(f"ACK {invite.uri} SIP/2.0")
        ack.headers = [("via", invite.get("via")), ("max-forwards", "70"), ("from", invite.get("from")),
                       ("to", resp.get("to")), ("call-id", invite.get("call-id")),
                       ("cseq", f"{invite.cseq[0]} ACK")]
        self.send(ack, addr)

    # -- receiving ----------------------------------------------------------------------
    def received(self, data: bytes, addr: tuple[str, int]) -> None:
        if not data.strip() or self.nat.received(data):
            return  # keep-alive (RFC 5626 CRLF), or the STUN server's answer
        try:
            msg = m.parse(data)
        except m.SipParseError as err:
            self.malformed += 1
            log.info("malformed SIP message from %s:%s: %s", addr[0], addr[1], err)
            self._bad_request(data, addr, str(err))
            return
        if not msg.is_request:
            queue = self.pending.get(m.param(msg.get("via"), "branch"))
            if queue is not None:
                queue.put_nowait(msg)
            elif msg.status >= 200 and msg.method == "INVITE":  # a retransmitted 2xx: ACK it again
                call = self.calls.get(msg.get("call-id"))
                if call is not None and call.remote_target is not None:
                    self._ack(call, msg)
            return
        try:
            handler = {"INVITE": self._on_invite, "ACK": self._on_ack, "BYE": self._on_bye,
                       "CANCEL": self._on_cancel, "OPTIONS": self._on_options, "INFO": self._on_info}.get(msg.method)
            if handler is None:
                self.send(m.response(msg, 501, "Not Implemented", m.new_tag(), extra=[("allow", ALLOW)]), addr)
            else:
                handler(msg, addr)
        except Exception as err:  # one bad request must not stop the agent
            log.exception("SIP request failed")
            self.send(m.response(msg, 500, "Server Internal Error"), addr)
            self.malformed += isinstance(err, ValueError)

    def _bad_request(self, data: bytes, addr: tuple[str, int], reason: str) -> None:
        """A 400 for a request whose headers are readable enough to answer (RFC 3261 8.2.2, 21.4.1)."""
        text = data.decode("utf-8", "replace")
        if text.startswith("SIP/2.0"):
            return  # a broken response is dropped
        lines = text.split("\r\n\r\n")[0].split("\r\n")
        headers = []
        for line in lines[1:]:
            name, _, value = line.partition(":")
            key = m.COMPACT.get(name.strip().lower(), name.strip().lower())
            if key in ("via", "from", "to", "call-id", "cseq"):
                headers.append((key, value.strip()))
        if not any(n == "via" for n, _ in headers):
            return  # nowhere to send an answer
        reply = m.Message(f"SIP/2.0 400 Bad Request ({reason[:60]})", headers)
        self.send(reply, addr)

    def _on_options(self, msg: m.Message, addr: tuple[str, int]) -> None:
        self.send(m.response(msg, 200, "OK", m.new_tag(), extra=[
            ("allow", ALLOW), ("accept", "application/sdp"), ("supported", "")]), addr)

    def _on_invite(self, msg: m.Message, addr: tuple[str, int]) -> None:
        call = self.calls.get(msg.get("call-id"))
        if call is not None:
            if m.tag(msg.get("to")) and call.state == "active":
                self._reinvite(call, msg, addr)
            elif call.last_response is not None:  # a retransmission
                self.send(call.last_response, addr)
            return
        caller = m.URI.search(msg.get("from"))
        if not self.hooks.incoming_allowed(msg.get("call-id"), caller.group(0).lstrip("<") if caller else ""):
            self.send(m.response(msg, 603, "Decline", m.new_tag()), addr)
            return
        if any(c.state != "ended" for c in self.calls.values()):
            self.send(m.response(msg, 486, "Busy Here", m.new_tag()), addr)
            return
        try:
            offer = sdp.parse(msg.body)
        except sdp.SdpError as err:
            self.send(m.response(msg, 400, f"Bad Request ({err})", m.new_tag()), addr)
            return
        account = self.hooks.account_for(m.uri_user(msg.uri))
        try:
            Negotiation(self.hooks.codec_priority(), account.media_encryption, self.host, 0).answer(offer)
        except NotAcceptable as err:
            self.send(not_acceptable(msg, str(err)), addr)
            return
        call = Call(f"{next(self._ids)}", account, "incoming", m.URI.search(msg.get("from")).group(0).lstrip("<"),
                    msg.get("call-id"), m.new_tag(), invite=msg, invite_addr=addr, offer=offer)
        call.remote_tag = m.tag(msg.get("from"))
        call.routes, call.remote_contact = routing.dialog_routes(msg, caller=False), routing.remote_contact(msg)
        call.remote_target = addr if self.transports.reliable(addr) else (
            routing.route_address((call.routes or [msg.get("contact")])[0]) or addr)
        call.from_header = msg.get("to") + f";tag={call.local_tag}"
        call.to_header = msg.get("from")
        call.cseq = secrets.randbelow(1000) + 1
        self.calls[call.call_id] = call
        self._respond(call, 100, "Trying", with_tag=False)
        self._respond(call, 180, "Ringing")
        self._set_state(call, "ringing")
        if account.auto_answer:
            self.spawn(self.answer(call))

    def _respond(self, call: Call, status: int, reason: str, body: bytes = b"", with_tag: bool = True) -> None:
        assert call.invite is not None and call.invite_addr is not None
        extra = [("contact", self.contact(call.account.user, call.invite_addr, call.invite.uri.startswith("sips:"))),
                 ("allow", ALLOW)] + [("record-route", r) for r in call.invite.all("record-route")]
        if body:
            extra.append(("content-type", "application/sdp"))
        resp = m.response(call.invite, status, reason, call.local_tag if with_tag else "", body, extra)
        call.last_response = resp
        self.send(resp, call.invite_addr)

    async def answer(self, call: Call) -> None:
        """Answer a ringing incoming call: 200 with the SDP answer (resent until the ACK)."""
        if call.state != "ringing" or call.direction != "incoming" or call.offer is None:
            raise SipError("the call is not ringing")
        assert call.invite_addr is not None
        call.media = self.hooks.media(call)
        local = local_address(self.host, call.invite_addr)
        path = await self.nat.open_media(call.media, local, self.hooks.rtp_port(), False, call.offer)
        call.negotiation = Negotiation(self.hooks.codec_priority(), call.account.media_encryption, path.address,
                                       path.port, tuple(path.sdp_attributes()), self.hooks.dtmf_payload())
        try:
            body, plan = call.negotiation.answer(call.offer)
        except NotAcceptable as err:  # the settings changed while it rang
            self._respond(call, 488, "Not Acceptable Here")
            self._end(call, str(err))
            return
        call.media.apply(plan)
        self.spawn(path.connect(call.offer, self.nat.status, call.id))
        call.started = time.time()
        self._respond(call, 200, "OK", body)
        self._set_state(call, "active")
        interval = T1
        if self.transports.reliable(call.invite_addr):
            return  # TCP delivers the answer; no retransmission
        while not call.answered.is_set() and call.state == "active":  # timer G until the ACK (timer H)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(call.answered.wait(), interval)
            if not call.answered.is_set():
                if time.time() - call.started > TRANSACTION_TIMEOUT:
                    self._end(call, "no ACK for the answer")
                    self.spawn(self._bye(call))
                    return
                if call.last_response is not None:
                    self.send(call.last_response, call.invite_addr)
                interval = min(interval * 2, 4.0)

    def _reinvite(self, call: Call, msg: m.Message, addr: tuple[str, int]) -> None:
        """A new offer in the dialog (RFC 3264 8): answered and applied, or refused with the call unchanged."""
        assert call.negotiation is not None and call.media is not None
        try:
            offer = sdp.parse(msg.body) if msg.body.strip() else None
            body, plan = (call.negotiation.answer(offer) if offer
                          else (call.negotiation.offer(self.hooks.offer_direction()), None))
        except sdp.SdpError as err:
            self.send(m.response(msg, 400, f"Bad Request ({err})", call.local_tag), addr)
            return
        except NotAcceptable as err:
            self.send(not_acceptable(msg, str(err), call.local_tag), addr)
            return
        if plan is not None:
            call.media.apply(plan)
        call.offered = offer is None
        extra = [("contact", self.contact(call.account.user, addr, msg.uri.startswith("sips:"))),
                 ("content-type", "application/sdp")]
        self.send(m.response(msg, 200, "OK", call.local_tag, body, extra), addr)

    def _on_ack(self, msg: m.Message, addr: tuple[str, int]) -> None:
        call = self.calls.get(msg.get("call-id"))
        if call is not None:
            call.answered.set()
            if call.offered and msg.body.strip() and call.negotiation is not None and call.media is not None:
                call.offered = False
                try:
                    call.media.apply(call.negotiation.accept(sdp.parse(msg.body)))
                except (sdp.SdpError, NotAcceptable) as err:  # RFC 3261 13.2.2.4: a bad answer in the ACK ends the call
                    self._end(call, f"bad answer in the ACK: {err}")
                    self.spawn(self._bye(call))

    def _on_bye(self, msg: m.Message, addr: tuple[str, int]) -> None:
        call = self.calls.get(msg.get("call-id"))
        if call is None or call.state == "ended":
            self.send(m.response(msg, 481, "Call/Transaction Does Not Exist", m.new_tag()), addr)
            return
        self.send(m.response(msg, 200, "OK"), addr)
        self._end(call, "hung up by the far end")

    def _on_cancel(self, msg: m.Message, addr: tuple[str, int]) -> None:
        call = self.calls.get(msg.get("call-id"))
        if call is None or call.direction != "incoming":
            self.send(m.response(msg, 481, "Call/Transaction Does Not Exist", m.new_tag()), addr)
            return
        self.send(m.response(msg, 200, "OK", call.local_tag), addr)
        if call.state == "ringing":
            self._respond(call, 487, "Request Terminated")
            self._end(call, "cancelled by the caller")

    def _on_info(self, msg: m.Message, addr: tuple[str, int]) -> None:
        call = self.calls.get(msg.get("call-id"))
        if call is None or call.state != "active":
            self.send(m.response(msg, 481, "Call/Transaction Does Not Exist", m.new_tag()), addr)
            return
        kind = msg.get("content-type").split(";")[0].strip().lower()
        if kind not in DTMF_INFO:
            self.send(m.response(msg, 415, "Unsupported Media Type", extra=[("accept", ", ".join(DTMF_INFO))]), addr)
            return
        text = msg.body.decode("utf-8", "replace")
        signal = next((ln.split("=", 1)[1].strip() for ln in text.splitlines() if ln.lower().startswith("signal=")),
                      text.strip())
        if len(signal) != 1 or signal.upper() not in "0123456789*#ABCD":
            self.send(m.response(msg, 400, "Bad Request (no DTMF signal)"), addr)
            return
        self.send(m.response(msg, 200, "OK"), addr)
        self.hooks.dtmf(call, signal.upper())

    # -- calls --------------------------------------------------------------------------
    def _set_state(self, call: Call, state: str, reason: str = "") -> None:
        call.state, call.reason = state, reason or call.reason
        self.hooks.call_changed(call)

    def _end(self, call: Call, reason: str) -> None:
        if call.state == "ended":
            return
        if call.media is not None:
            call.media.stop()
        call.answered.set()
        self._set_state(call, "ended", reason)
        self.calls.pop(call.call_id, None)

    async def call(self, account: Account, uri: str) -> Call:
        """Place a call to `uri` (sip:user@host[:port]); returns at once, the call goes on in a task."""
        target = account.target() or routing.route_address(uri)
        if target is None:
            raise SipError(f"not a SIP address: {uri}")
        try:
            target = await resolve(routing.first_hop(account.proxies, account.transport, target))
        except OSError as err:
            raise SipError(f"cannot find {target[0]}: {err}") from None
        if any(c.state != "ended" for c in self.calls.values()):
            raise SipError("a call is in progress")
        domain = account.domain or local_address(self.host, target)
        call = Call(f"{next(self._ids)}", account, "outgoing", uri, secrets.token_hex(12), m.new_tag())
        shown = f'"{account.caller_id}" ' if account.caller_id else ""
        call.from_header = f"{shown}<{routing.scheme(account.sips)}:{account.user}@{domain}>;tag={call.local_tag}"
        call.to_header = f"<{uri}>"
        call.media = self.hooks.media(call)
        path = await self.nat.open_media(call.media, local_address(self.host, target), self.hooks.rtp_port(), True)
        call.negotiation = Negotiation(self.hooks.codec_priority(), account.media_encryption, path.address, path.port,
                                       tuple(path.sdp_attributes()), self.hooks.dtmf_payload())
        try:
            await self.reach(account, target)
        except SipError:
            call.media.stop()
            raise
        self.calls[call.call_id] = call
        self._set_state(call, "calling")
        self.spawn(self._invite(call, target, path))
        return call

    async def _invite(self, call: Call, target: tuple[str, int], path: MediaPath) -> None:
        assert call.negotiation is not None
        branch = m.new_branch()
        req = self.new_request("INVITE", call.remote_uri, target, call.from_header, call.to_header, call.call_id,
                               call.cseq, branch)
        call.invite_branch, call.invite_addr, call.invite = branch, target, req
        account = call.account
        req.headers += [*routing.proxy_routes(account.proxies, account.transport, account.sips),
                        ("contact", self.contact(account.user, target, account.sips)), ("allow", ALLOW),
                        ("content-type", "application/sdp")]
        req.body = call.negotiation.offer(self.hooks.offer_direction())

        def provisional(resp: m.Message) -> None:
            if 180 <= resp.status < 200 and call.state == "calling":
                self._set_state(call, "ringing")

        try:
            resp = await self.authenticated(req, target, call.account, provisional)
        except SipError as err:
            self._end(call, str(err))
            return
        call.cseq = req.cseq[0]
        call.invite_branch = m.param(req.get("via"), "branch")
        if resp.status >= 300:
            self.ack_failure(req, resp, target)
            self._end(call, f"{resp.status} {resp.first.split(' ', 2)[-1]}")
            return
        call.to_header = resp.get("to")
        call.remote_tag = m.tag(resp.get("to"))
        reliable = self.transports.reliable(target)  # over TCP the dialog stays on the connection
        call.routes, call.remote_contact = routing.dialog_routes(resp, caller=True), routing.remote_contact(resp)
        call.remote_target = target if reliable else (
            routing.route_address((call.routes or [resp.get("contact")])[0]) or target)
        self._ack(call, resp)
        if call.state == "ended":  # hung up while it rang: end the dialog the answer made
            await self._bye(call)
            return
        try:
            answer = sdp.parse(resp.body)
            plan = call.negotiation.accept(answer)
        except (sdp.SdpError, NotAcceptable) as err:
            self._end(call, f"bad answer: {err}" if isinstance(err, sdp.SdpError) else str(err))
            await self._bye(call)
            return
        if call.media is None:
            return
        call.media.apply(plan)
        self.spawn(path.connect(answer, self.nat.status, call.id))
        call.started = time.time()
        call.answered.set()
        self._set_state(call, "active")

    def _ack(self, call: Call, resp: m.Message) -> None:
        target = call.remote_target or call.invite_addr
        assert target is not None
        ack = self.new_request("ACK", call.remote_contact or call.remote_uri, target, call.from_header, resp.get("to"),
                               call.call_id, resp.cseq[0])
        ack.headers += [("route", r) for r in call.routes]
        self.send(ack, target)

    async def hangup(self, call: Call, reason: str = "hung up") -> None:
        """End a call in any state: BYE when answered, CANCEL while an outgoing call rings,
        486 to a ringing incoming call."""
        state = call.state
        if state == "ended":
            return
        if state == "active":
            self._end(call, reason)
            await self._bye(call)
        elif call.direction == "incoming":
            self._respond(call, 486, "Busy Here")
            self._end(call, reason)
        else:
            self._end(call, reason)
            await self._cancel(call)

    async def reject(self, call: Call, reason: str) -> None:
        if call.state == "ringing" and call.direction == "incoming":
            self._respond(call, 480, "Temporarily Unavailable")
            self._end(call, reason)

    async def _bye(self, call: Call) -> None:
        target = call.remote_target
        if target is None:
            return
        call.cseq += 1
        try:
            await self.reach(call.account, target)  # a TCP or TLS connection that ended is made again
        except SipError as err:
            log.info("BYE of call %s not sent: %s", call.id, err)
            return
        uri = call.remote_contact or f"sip:{m.uri_user(call.remote_uri) or 'peer'}@{target[0]}:{target[1]}"
        req = self.new_request("BYE", uri, target, call.from_header, call.to_header, call.call_id, call.cseq)
        req.headers += [("route", r) for r in call.routes]
        try:
            await asyncio.wait_for(self.authenticated(req, target, call.account), 8)
        except (SipError, TimeoutError) as err:
            log.info("BYE of call %s not answered: %s", call.id, err)

    async def _cancel(self, call: Call) -> None:
        if call.invite is None or call.invite_addr is None:
            return
        req = m.Message(f"CANCEL {call.invite.uri} SIP/2.0")
        req.headers = [("via", call.invite.get("via")), ("max-forwards", "70"), ("from", call.invite.get("from")),
                       ("to", call.invite.get("to")), ("call-id", call.call_id),
                       ("cseq", f"{call.invite.cseq[0]} CANCEL")]
        with contextlib.suppress(SipError, TimeoutError):
            await asyncio.wait_for(self.transact(req, call.invite_addr), 8)

    # -- registration -------------------------------------------------------------------
    def keep_registered(self, account: Account) -> None:
        self.stop_registration(account.id)
        if account.target() is not None:
            registration = Registration(
                account.registrar, account.secondary,
                lambda server, call_id, cseq, expires: self.register_once(account, call_id, cseq, expires, server),
                lambda registered, reason, server: self.hooks.registration_changed(account, registered, reason,
                                                                                   server),
                self.hooks.registration_policy())
            self.registrations[account.id] = registration
            registration.start()

    def stop_registration(self, account_id: str) -> None:
        registration = self.registrations.pop(account_id, None)
        if registration is not None and registration.task is not None:
            registration.task.cancel()

    def _connection_closed(self, addr: Address, connection: object, why: str) -> None:
        """A TCP or TLS connection ended: the transactions waiting on it fail now, and registrations
        are renewed now (a cheap REGISTER where it was another connection; the status tells at once
        where it was theirs)."""
        for branch, sent_on in self.pending_on.items():
            if sent_on is connection:
                self.pending[branch].put_nowait(why)
        for registration in self.registrations.values():
            if registration.server:
                registration.renew()

    async def register_once(self, account: Account, call_id: str, cseq: int, expires: int, server: str = "") -> int:
        """One REGISTER with `server` (default: the registrar), through the account's proxies, answering
        a challenge: the expiry granted; SipError with the reason (SipUnreachable: no answer, no connection)."""
        target = account.target(server)
        assert target is not None
        try:
            hop = await resolve(routing.first_hop(account.proxies, account.transport, target))
        except OSError as err:
            raise SipUnreachable(f"cannot find {target[0]}: {err}") from None
        await self.reach(account, hop)
        if account.transport == "udp":
            await self.nat.learn_public(self.transports.send)  # keeps the NAT's binding and the Contact fresh
        domain, scheme = account.domain or target[0], routing.scheme(account.sips)
        aor = f"<{scheme}:{account.user}@{domain}>"
        registrar = account.domain or server or account.registrar  # through proxies: where the request ends
        req = self.new_request("REGISTER", f"{scheme}:{registrar}", hop, f"{aor};tag={m.new_tag()}", aor, call_id,
                               cseq)
        contact = self.contact(account.user, hop, account.sips)
        req.headers += [*routing.proxy_routes(account.proxies, account.transport, account.sips),
                        ("contact", contact), ("expires", str(expires))]
        resp = await self.authenticated(req, hop, account)
        if resp.status < 300 and self.rewrite.learn(hop, resp, routing.route_address(contact)) and expires:
            # behind a NAT (contact rewrite): the public address registered, the old binding removed
            req.headers = [(n, v) for n, v in req.headers if n not in ("contact", "authorization",
                                                                       "proxy-authorization")]
            req.headers += [("contact", self.contact(account.user, hop, account.sips)),
                            ("contact", f"{contact};expires=0")]
            self.again(req, hop)
            resp = await self.authenticated(req, hop, account)
        if resp.status in (401, 407):
            raise SipError(f"{resp.status} {resp.first.split(' ', 2)[-1]}: wrong user or password")
        if resp.status >= 300:
            raise SipError(f"{resp.status} {resp.first.split(' ', 2)[-1]}")
        granted = m.param(resp.get("contact"), "expires") or resp.get("expires") or str(expires)
        return int(granted) if granted.isdigit() else expires
