"""The user agent against raw datagrams: malformed requests are answered 400 (with the reason)
and the agent goes on answering; OPTIONS is answered 200 with the methods; an unknown method
501; an INVITE with a broken or codec-less SDP 400 / 488; incoming calls off: 603."""

from __future__ import annotations

import asyncio
import socket

from tests.conftest import client_as
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE


def request(method: str, port: int, body: str = "", cseq_method: str = "", extra: str = "") -> bytes:
    head = (f"{method} sip:vigil@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKtest{method}\r\n"
            f"From: <sip:t@127.0.0.1>;tag=1\r\nTo: <sip:vigil@127.0.0.1>\r\nCall-ID: c-{method}\r\n"
            f"CSeq: 1 {cseq_method or method}\r\n{extra}")
    if body:
        head += "Content-Type: application/sdp\r\n"
    return (head + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


async def exchange(port: int, data: bytes) -> str:
    loop = asyncio.get_running_loop()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setblocking(False)
        sock.connect(("127.0.0.1", port))
        await loop.sock_sendall(sock, data)
        while True:  # skip provisional responses
            reply = (await asyncio.wait_for(loop.sock_recv(sock, 65535), 3)).decode()
            if not reply.startswith("SIP/2.0 1"):
                return reply.split("\r\n")[0]


SDP = "v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP {pt}\r\n"


async def test_malformed_requests_are_answered_400_and_the_agent_goes_on(phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    port = agent.port
    assert (await exchange(port, request("OPTIONS", port, cseq_method="INVITE"))).startswith("SIP/2.0 400")
    no_call_id = request("OPTIONS", port).replace(b"Call-ID: c-OPTIONS\r\n", b"")
    assert (await exchange(port, no_call_id)).startswith("SIP/2.0 400 Bad Request (missing Call-ID")
    short_body = request("OPTIONS", port).replace(b"Content-Length: 0", b"Content-Length: 99")
    assert (await exchange(port, short_body)).startswith("SIP/2.0 400")
    assert await exchange(port, request("INVITE", port, "v=0\r\nm=video 1 RTP/AVP 96\r\n")) \
        == "SIP/2.0 400 Bad Request (the first media stream is not RTP audio)"
    assert await exchange(port, request("INVITE", port, SDP.format(pt=18))) == "SIP/2.0 488 Not Acceptable Here"
    assert await exchange(port, request("SUBSCRIBE", port)) == "SIP/2.0 501 Not Implemented"
    assert await exchange(port, request("OPTIONS", port)) == "SIP/2.0 200 OK"
    assert agent.malformed == 3


async def test_incoming_calls_turned_off_are_declined(phone: Device) -> None:
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipConfiguration", allowIncoming=False)
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    assert await exchange(agent.port, request("INVITE", agent.port, SDP.format(pt=0))) == "SIP/2.0 603 Decline"


class RawPeer:
    """A hand-made far end on a UDP socket: it sends requests of one dialog and reads responses."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setblocking(False)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.connect(("127.0.0.1", port))
        self.local = self.sock.getsockname()[1]

    def request(self, method: str, cseq: int, body: str = "", kind: str = "application/sdp", to_tag: str = "",
                branch: str = "") -> bytes:
        head = (f"{method} sip:vigil@127.0.0.1:{self.port} SIP/2.0\r\n"
                f"Via: SIP/2.0/UDP 127.0.0.1:{self.local};branch=z9hG4bK{branch or method + str(cseq)}\r\n"
                f"From: <sip:raw@127.0.0.1>;tag=raw1\r\nTo: <sip:vigil@127.0.0.1>{to_tag and ';tag=' + to_tag}\r\n"
                f"Call-ID: raw-call\r\nCSeq: {cseq} {method}\r\nContact: <sip:raw@127.0.0.1:{self.local}>\r\n")
        if body:
            head += f"Content-Type: {kind}\r\n"
        return (head + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()

    async def send(self, data: bytes) -> None:
        await asyncio.get_running_loop().sock_sendall(self.sock, data)

    async def response(self, status: int) -> str:
        """The next response with `status` (others are skipped)."""
        while True:
            reply = (await asyncio.wait_for(asyncio.get_running_loop().sock_recv(self.sock, 65535), 3)).decode()
            if reply.startswith(f"SIP/2.0 {status}"):
                return reply

    async def answered(self, pt: int = 0) -> tuple[str, str]:
        """INVITE (offering payload type `pt`), the device's 200 and the ACK: (the 200, its To tag)."""
        await self.send(self.request("INVITE", 1, SDP.format(pt=pt)))
        answer = await self.response(200)
        tag = to_tag(answer)
        await self.send(self.request("ACK", 1, to_tag=tag, branch="ack1"))
        return answer, tag

    def close(self) -> None:
        self.sock.close()


def to_tag(reply: str) -> str:
    line = next(x for x in reply.split("\r\n") if x.lower().startswith("to:"))
    return line.split("tag=")[1].split(";")[0]


async def test_dtmf_by_sip_info_and_hang_up_by_bye(phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    digits: list[str] = []
    phone.events.subscribe(lambda e: digits.append(e.data["Digit"]) if e.topic == c.DTMF else None)
    raw = RawPeer(agent.port)
    try:
        await raw.send(raw.request("INVITE", 1, SDP.format(pt=8)))
        answer = await raw.response(200)
        assert "a=rtpmap:8 PCMA/8000" in answer  # the offered codec the device also has
        tag = to_tag(answer)
        await raw.send(raw.request("ACK", 1, to_tag=tag, branch="ack1"))
        await raw.send(raw.request("INFO", 2, "Signal=5\r\nDuration=160\r\n", "application/dtmf-relay", tag))
        await raw.response(200)
        await raw.send(raw.request("INFO", 3, "Signal=x\r\n", "application/dtmf-relay", tag))
        await raw.response(400)
        assert digits == ["5"]
        await raw.send(raw.request("BYE", 4, to_tag=tag))
        await raw.response(200)
        assert phone.features[SIP_SERVICE].history[-1]["reason"] == "hung up by the far end"
    finally:
        raw.close()


async def test_cancel_of_a_ringing_call(phone: Device) -> None:
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipAccount", id="p2p", autoAnswer=False)
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    raw = RawPeer(agent.port)
    try:
        await raw.send(raw.request("INVITE", 1, SDP.format(pt=0)))
        await raw.response(180)
        assert call_state(phone) == "Ringing"
        await raw.send(raw.request("CANCEL", 1, branch="INVITE1"))
        await raw.response(200)
        await raw.response(487)
        assert call_state(phone) == "Idle"
        assert phone.features[SIP_SERVICE].history[-1]["reason"] == "cancelled by the caller"
    finally:
        raw.close()
