"""A call keeps its latency: audio that arrives in a burst (after a stall of the network or of
the far end) is not queued at the speaker for the rest of the call; what would play later than
media.MAX_AHEAD behind real time is skipped."""

from __future__ import annotations

import socket
import struct

from tests.conftest import eventually
from tests.playback.conftest import sink
from tests.sip.test_ua import RawPeer
from vigil.device import Device
from vigil.features.sip.service import SIP_SERVICE
from vigil.hal.audio import RATE, audible


async def test_a_burst_of_late_audio_is_skipped_not_queued(phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    raw = RawPeer(agent.port)
    media_out = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        answer, tag = await raw.answered()
        device_rtp = int(answer.split("m=audio ")[1].split()[0])
        for seq in range(100):  # two seconds of loud µ-law at once
            media_out.sendto(struct.pack("!BBHII", 0x80, 0, seq, seq * 160, 99) + b"\x80" * 160,
                             ("127.0.0.1", device_rtp))
        media = phone.features[SIP_SERVICE].calls()[0].media
        assert media is not None
        await eventually(lambda: media.received_packets == 100 and media.blocks.empty(), 5, "the burst")
        played = len(audible(sink(phone).sink_samples(), -40.0))
        assert media.skipped > RATE  # more than a second of it skipped ...
        assert played < RATE // 2  # ... and well under a second queued at the speaker
        await raw.send(raw.request("BYE", 2, to_tag=tag))
        await raw.response(200)
    finally:
        raw.close()
        media_out.close()
