"""A C1410 on the Linux audio backend (VIGIL_HAL=linux, VIGIL_AUDIO_SINK): its speaker is the
PulseAudio null sink of the test peer, and the output gain set through Audio Device Control
is what the sink's monitor hears (within 1 dB)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import client_as, make_device
from tests.peers import pulse
from vigil.core.clock import FakeClock
from vigil.hal.audio import AUDIO_HARDWARE, BLOCK, RATE, audible, level_dbfs, tone
from vigil.hal.linux.audio import PulseAudio


async def test_the_device_plays_on_the_pulseaudio_sink_with_its_output_gain(
        tmp_path: Path, pulse_server: pulse.PulsePeer, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("VIGIL_HAL", "linux")
    monkeypatch.setenv("VIGIL_AUDIO_SINK", pulse.SINK)
    monkeypatch.setenv("VIGIL_PULSE_SERVER", pulse_server.server)
    device = make_device(tmp_path, FakeClock(), "c1410")
    audio = device.hardware[AUDIO_HARDWARE]
    try:
        assert isinstance(audio, PulseAudio) and audio.source == pulse.SOURCE
        async with client_as(device, "operator") as client:
            reply = await client.post("/axis-cgi/audiodevicecontrol.cgi", json={
                "apiVersion": "1.0", "method": "setDevicesSettings", "params": {"devices": [{"id": "0", "outputs": [
                    {"id": "0", "connectionTypes": [{"id": "internal", "signalingTypes": [
                        {"id": "unbalanced", "channels": [{"id": 0, "gain": -9}]}]}]}]}]}})
            assert "error" not in reply.json()
        recording = asyncio.create_task(pulse_server.record(2.0))
        await audio.play(np.zeros(BLOCK, np.int16))  # the stream is up before the tone counts
        await audio.play(tone(440, 1.0, -3.0))
        await audio.play(np.zeros(RATE // 2, np.int16))
        heard = audible(await recording, -40.0)
        assert abs(level_dbfs(heard[BLOCK:-BLOCK]) - -12.0) < 1.0
    finally:
        await audio.close()
        device.close()
