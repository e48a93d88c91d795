"""Audio both ways through a real far end: the speaker calls SIPp, which echoes the RTP it
receives; a 600 Hz tone fed to the microphone comes back and is heard at the speaker's sink."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import client_as, eventually
from tests.peers.sipp import start_sipp_echo
from tests.playback.conftest import sink
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
from vigil.hal.audio import RATE, audible, dominant_frequency, tone


async def test_microphone_reaches_the_far_end_and_its_echo_is_heard(phone: Device, tmp_path: Path) -> None:
    far = start_sipp_echo(tmp_path / "sipp")
    try:
        sink(phone).feed(tone(600, 3.0, -12.0))
        async with client_as(phone, "operator") as operator:
            placed = await sip_call(operator, "call", uri=far.uri)
            assert "error" not in placed, placed
            await eventually(lambda: call_state(phone) == "Active", 5, "SIPp to answer")
            speaker = sink(phone)
            await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 2, 8, "the echo")
            heard = audible(speaker.sink_samples(), -40.0)
            assert abs(dominant_frequency(heard[:RATE // 2]) - 600) < 20
            await sip_call(operator, "hangup", callId=placed["data"]["id"])
    finally:
        far.stop()
