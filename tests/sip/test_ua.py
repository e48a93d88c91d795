"""The user agent against raw datagrams: malformed requests are answered 400 (with the reason)
and the agent goes on answering; OPTIONS is answered 200 with the methods; an unknown method
501; an INVITE with a broken or codec-less SDP 400 / 488; incoming calls off: 603."""

from __future__ import annotations

import asyncio
import socket

from tests.conftest import client_as
from tests.sip.conftest import sip_call
from vigil.device import Device
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
