"""While a call sends the microphone, the microphone's periods clock it (media.py): the call's
RTP socket is read once a period instead of being watched by the event loop. When the
microphone stops in the middle of the call (its input turned off), the socket is watched again
and the far end is still heard."""

from __future__ import annotations

import socket
import struct

from tests.conftest import eventually
from tests.playback.conftest import sink
from tests.sip.test_ua import RawPeer
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.audio import const as audio
from vigil.features.sip.media import RtpSession, RtpSocket
from vigil.features.sip.service import SIP_SERVICE
from vigil.hal.audio import audible

LOUD = b"\x80" * 160  # 20 ms of near full-scale µ-law


def _own_socket(media: RtpSession) -> RtpSocket:
    assert isinstance(media.transport, RtpSocket)
    return media.transport


async def test_the_far_end_is_heard_before_and_after_the_microphone_stops(phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    raw = RawPeer(agent.port)
    far_end = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sequence = 0

    def speak(packets: int) -> None:
        nonlocal sequence
        for _ in range(packets):
            far_end.sendto(struct.pack("!BBHII", 0x80, 0, sequence, sequence * 160, 99) + LOUD,
                           ("127.0.0.1", device_rtp))
            sequence += 1

    try:
        answer, tag = await raw.answered()
        device_rtp = int(answer.split("m=audio ")[1].split()[0])
        media = phone.features[SIP_SERVICE].calls()[0].media
        assert media is not None
        rtp = _own_socket(media)
        assert not rtp.watched  # the microphone's periods read it
        speak(3)
        await eventually(lambda: len(audible(sink(phone).sink_samples(), -40.0)) > 0, 5, "the far end, clocked")

        phone.params.update([(audio.INPUT_ENABLED, "no")], Role.ADMIN, "t")
        await eventually(lambda: rtp.watched, 5, "the socket watched once the microphone stopped")
        sink(phone).clear_sink()
        speak(3)
        await eventually(lambda: len(audible(sink(phone).sink_samples(), -40.0)) > 0, 5, "the far end, watched")
        await raw.send(raw.request("BYE", 2, to_tag=tag))
        await raw.response(200)
        assert rtp.closed
    finally:
        raw.close()
        far_end.close()
