"""The audio hardware layer: the device settings applied on the way to the speaker and from the
microphone, the simulated backend's sink and source, and the PulseAudio backend against a real
null sink whose monitor is the microphone (levels read back within 1 dB)."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest

from tests.peers import pulse
from vigil.hal.audio import (
    BLOCK,
    ECHO_HOLD,
    PERIOD,
    RATE,
    AudioError,
    AudioSettings,
    audible,
    dominant_frequency,
    level_dbfs,
    tone,
)
from vigil.hal.linux.audio import PulseAudio
from vigil.hal.sim.audio import C1410, SimulatedAudio


def test_tone_has_the_level_and_frequency_asked_for():
    samples = tone(1000, 0.5, -12.0)
    assert abs(level_dbfs(samples) - -12.0) < 0.05
    assert abs(dominant_frequency(samples) - 1000) < 5


async def test_sink_keeps_what_was_played_with_the_output_gain_and_mute():
    audio = SimulatedAudio()
    await audio.play(tone(1000, 0.2, -12.0))
    audio.path.configure(AudioSettings(output_gain=-6))
    await audio.play(tone(1000, 0.2, -12.0))
    audio.path.configure(AudioSettings(output_mute=True))
    await audio.play(tone(1000, 0.2, -12.0))
    sink = audio.sink_samples()
    n = int(0.2 * RATE)
    assert len(sink) == 3 * n
    assert abs(level_dbfs(sink[:n]) - -12.0) < 0.1
    assert abs(level_dbfs(sink[n:2 * n]) - -18.0) < 0.1
    assert level_dbfs(sink[2 * n:]) < -100


async def test_microphone_hears_what_is_fed_with_the_input_gain():
    audio = SimulatedAudio()
    audio.path.configure(AudioSettings(input_gain=6))
    await audio.open_input()
    audio.feed(tone(440, 0.12, -20.0))
    periods = [await audio.read() for _ in range(3)]
    assert all(len(p) == PERIOD for p in periods)
    heard = np.concatenate(periods)
    assert abs(level_dbfs(heard) - -14.0) < 0.2
    assert abs(dominant_frequency(heard) - 440) < 30
    audio.path.configure(AudioSettings(input_mute=True))
    audio.feed(tone(440, 0.02, -20.0))
    assert level_dbfs(await audio.read()) < -100


async def test_an_input_turned_off_captures_nothing():
    audio = SimulatedAudio()
    audio.path.configure(AudioSettings(input_enabled=False))
    with pytest.raises(AudioError, match="turned off"):
        await audio.open_input()


async def test_echo_cancellation_suppresses_the_speaker_in_the_microphone_while_it_plays():
    audio = SimulatedAudio()
    now = [1000.0]
    audio.path.clock = lambda: now[0]
    await audio.open_input()
    await audio.play(tone(1000, 0.04, -12.0))
    echo = await audio.read()
    assert abs(level_dbfs(echo) - -12.0) < 0.5  # the room: the microphone hears the speaker
    audio.path.configure(AudioSettings(echo_cancellation=True))
    await audio.play(tone(1000, 0.04, -12.0))
    suppressed = await audio.read()
    assert level_dbfs(suppressed) < -12.0 - 35
    now[0] += 0.04 + ECHO_HOLD + 0.01  # the speaker has been quiet for longer than the echo lasts
    audio.feed(tone(1000, 0.04, -12.0))  # someone speaks: heard again
    assert abs(level_dbfs(await audio.read()) - -12.0) < 0.5


def test_settings_the_hardware_cannot_do_are_refused():
    audio = SimulatedAudio()
    for settings, why in ((AudioSettings(input_type="line"), "input type"),
                          (AudioSettings(power_type="P48"), "power type"),
                          (AudioSettings(input_gain=31), "input gain"),
                          (AudioSettings(output_gain=1), "output gain")):
        with pytest.raises(AudioError, match=why):
            audio.path.configure(settings)
    assert audio.path.settings == AudioSettings()


async def test_pulseaudio_plays_to_the_sink_and_captures_its_monitor_within_1_db(pulse_server):
    audio = PulseAudio(pulse.SINK, pulse.SOURCE, C1410, server=pulse_server.server)
    try:
        await audio.open_input()
        captured: list[np.ndarray] = []

        async def capture() -> None:
            while True:
                captured.append(await audio.read())

        reader = asyncio.create_task(capture())
        audio.path.configure(AudioSettings(output_gain=-6))
        await audio.play(tone(1000, 1.0, -6.0))
        await audio.play(np.zeros(RATE // 2, np.int16))  # push the tone out of the server's buffers
        reader.cancel()
        heard = audible(np.concatenate(captured), -40.0)
        assert 0.9 * RATE <= len(heard) <= 1.1 * RATE
        assert abs(level_dbfs(heard[BLOCK:-BLOCK]) - -12.0) < 1.0
        assert abs(dominant_frequency(heard) - 1000) < 10
    finally:
        await audio.close()


async def test_pulseaudio_reports_a_sink_that_does_not_exist(pulse_server):
    audio = PulseAudio("no_such_sink", pulse.SOURCE, C1410, server=pulse_server.server)
    try:
        with pytest.raises(AudioError, match="no_such_sink"):
            for _ in range(50):  # pacat fails once it has connected; the pipe breaks then
                await audio.play(tone(1000, 0.1))
    finally:
        await audio.close()
