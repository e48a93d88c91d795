"""RTCP of a call against a hand-made far end: the device's reports reach the RTP port + 1 of
the far end (a sender report whose SSRC is the one of its RTP, with a reception report block
about the far end's stream and an SDES CNAME), and its BYE when the call ends."""

from __future__ import annotations

import asyncio
import socket
import struct

from tests.conftest import free_port
from tests.sip.test_ua import RawPeer, to_tag
from vigil.device import Device
from vigil.features.sip.service import SIP_SERVICE

FAR_SSRC = 0x1234ABCD


async def _datagram(sock: socket.socket) -> bytes:
    return await asyncio.wait_for(asyncio.get_running_loop().sock_recv(sock, 2048), 5)


def _pair() -> tuple[socket.socket, socket.socket]:
    for _ in range(20):
        port = free_port() & ~1
        rtp, rtcp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            rtp.bind(("127.0.0.1", port))
            rtcp.bind(("127.0.0.1", port + 1))
        except OSError:
            rtp.close()
            rtcp.close()
            continue
        rtp.setblocking(False)
        rtcp.setblocking(False)
        return rtp, rtcp
    raise OSError("no free port pair")


async def test_sender_reports_go_to_rtp_port_plus_one_and_a_bye_ends_the_call(phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    rtp, rtcp = _pair()
    raw = RawPeer(agent.port)
    try:
        body = ("v=0\r\no=t 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                f"m=audio {rtp.getsockname()[1]} RTP/AVP 0\r\n")
        await raw.send(raw.request("INVITE", 1, body))
        answer = await raw.response(200)
        tag = to_tag(answer)
        await raw.send(raw.request("ACK", 1, to_tag=tag, branch="ack1"))
        device_rtp = int(answer.split("m=audio ")[1].split()[0])
        for seq in range(10):
            rtp.sendto(struct.pack("!BBHII", 0x80, 0, 100 + seq, seq * 160, FAR_SSRC) + b"\xff" * 160,
                       ("127.0.0.1", device_rtp))
        media_ssrc = struct.unpack("!I", (await _datagram(rtp))[8:12])[0]
        report = await _datagram(rtcp)
        first, kind, words, ssrc = struct.unpack("!BBHI", report[:8])
        assert (first >> 6, kind, ssrc) == (2, 200, media_ssrc)  # an SR from the stream's source
        assert first & 0x1F == 1 and words == 12  # one reception report block
        block_ssrc, lost, highest = struct.unpack("!III", report[28:40])
        assert (block_ssrc, lost & 0xFFFFFF, highest) == (FAR_SSRC, 0, 109)
        sdes = report[4 * (words + 1):]
        assert sdes[1] == 202 and struct.unpack("!I", sdes[4:8])[0] == media_ssrc and sdes[8] == 1  # CNAME
        await raw.send(raw.request("BYE", 2, to_tag=tag))
        await raw.response(200)
        while (goodbye := await _datagram(rtcp)) and goodbye[1] != 201:
            pass  # a report sent meanwhile
        assert goodbye[9] == 203 and struct.unpack("!I", goodbye[12:16])[0] == media_ssrc
    finally:
        raw.close()
        rtp.close()
        rtcp.close()
