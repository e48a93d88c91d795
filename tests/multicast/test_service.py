"""The speaker plays RTP multicast sent by ffmpeg (a real sender) on loopback: the tone is heard
at the simulated sink; a source of higher priority takes the speaker and gives it back when its
stream stops; an SRTP source plays what ffmpeg protected with its key, and a wrong key plays nothing."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path

import httpx
import numpy as np

from tests.conftest import eventually, free_port, record_actions, settle_rules
from tests.multicast.conftest import finished, new_group, send, served_on
from tests.playback.conftest import sink
from vigil.core.rules import Condition, Rule
from vigil.device import Device
from vigil.features.multicast import const as c
from vigil.features.multicast.service import MULTICAST_SERVICE
from vigil.features.playback.player import Play
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency, tone


async def add(admin: httpx.AsyncClient, **fields: object) -> str:
    r = await admin.post(c.API + "/sources", json={"data": fields})
    assert r.status_code == 201, r.text
    return r.json()["data"]["id"]


def playing(device: Device, source_id: str) -> bool:
    state = device.events.state(c.PLAYING, {"Source": source_id})
    return bool(state and state.get("Playing") == "1")


def frequency_at(samples: np.ndarray, start: float, seconds: float) -> float:
    return dominant_frequency(samples[int(start * RATE):int((start + seconds) * RATE)])


async def test_a_multicast_tone_is_heard(tmp_path: Path):
    async with served_on(tmp_path / "d", "127.0.0.1") as (device, admin):
        group, port = new_group(), free_port()
        source = await add(admin, label="Announcements", address=group, port=port, codec="pcmu", priority=5)
        calls = record_actions(device)  # a rule on the event: "while the announcements play"
        action = device.rules.add_action("Dim", "test.unlimited", {}, "test")
        device.rules.add_rule(Rule(0, "Dim", True, action.id, (),
                                   Condition(c.PLAYING, (("Source", source), ("Playing", "1")))), "test")
        await finished(await send(group, port, "127.0.0.1", 1000, 1.0))
        await eventually(lambda: not device.features[MULTICAST_SERVICE].player.live, 5, "the stream to end")
        heard = audible(sink(device).sink_samples(), -60.0)
        assert abs(len(heard) / RATE - 1.0) < 0.2, len(heard) / RATE
        assert abs(dominant_frequency(heard) - 1000) < 20
        assert not playing(device, source)
        assert "Multicast stream Announcements (priority 5) plays" in device.logs.text("system")
        await settle_rules(device)
        assert calls == ["start:Dim", "stop:Dim"]


async def test_higher_priority_takes_the_speaker_and_gives_it_back(tmp_path: Path):
    async with served_on(tmp_path / "d", "127.0.0.1") as (device, admin):
        music = (new_group(), free_port())
        alarm = (new_group(), free_port())
        low = await add(admin, label="Music", address=music[0], port=music[1], codec="pcmu", priority=2)
        high = await add(admin, label="Alarm", address=alarm[0], port=alarm[1], codec="pcma", priority=9)
        background = await send(*music, "127.0.0.1", 500, 3.0)
        await eventually(lambda: playing(device, low), 5, "the music to play")
        await finished(await send(*alarm, "127.0.0.1", 1500, 0.8, codec="pcm_alaw"))
        assert playing(device, high) and not playing(device, low)  # until the alarm's stream times out
        await eventually(lambda: playing(device, low), 5, "the music to come back after the alarm")
        await finished(background)
        await eventually(lambda: not device.features[MULTICAST_SERVICE].player.live, 5, "the music to end")
        heard = audible(sink(device).sink_samples(), -60.0)
        tones = [frequency_at(heard, at, 0.2) for at in np.arange(0, len(heard) / RATE - 0.2, 0.2)]
        first_alarm = next(i for i, f in enumerate(tones) if abs(f - 1500) < 30)
        last_alarm = max(i for i, f in enumerate(tones) if abs(f - 1500) < 30)
        assert first_alarm > 0 and all(abs(f - 500) < 30 for f in tones[:first_alarm - 1])
        assert last_alarm - first_alarm >= 2  # the alarm played whole, not mixed
        assert any(abs(f - 500) < 30 for f in tones[last_alarm + 2:])  # then the music again
        system = device.logs.text("system")
        assert "Multicast stream Alarm (priority 9) plays, in place of Music" in system


async def test_srtp_sources_play_with_their_key_only(tmp_path: Path):
    key = base64.b64encode(os.urandom(30)).decode()
    async with served_on(tmp_path / "d", "127.0.0.1") as (device, admin):
        group, port = new_group(), free_port()
        source = await add(admin, label="Secure", address=group, port=port, codec="pcmu", priority=5, srtpKey=key)
        wrong = base64.b64encode(os.urandom(30)).decode()
        await finished(await send(group, port, "127.0.0.1", 700, 0.5, srtp_key=wrong))
        await asyncio.sleep(0)  # the last datagrams are handled
        assert not audible(sink(device).sink_samples(), -60.0).size
        assert not device.features[MULTICAST_SERVICE].arriving(source)
        await finished(await send(group, port, "127.0.0.1", 700, 1.0, srtp_key=key))
        await eventually(lambda: not device.features[MULTICAST_SERVICE].player.live, 5, "the stream to end")
        heard = audible(sink(device).sink_samples(), -60.0)
        assert abs(dominant_frequency(heard) - 700) < 20 and len(heard) / RATE > 0.7


async def test_a_stream_takes_the_speaker_from_a_clip_and_yields_to_talk(tmp_path: Path):
    async with served_on(tmp_path / "d", "127.0.0.1") as (device, admin):
        player = device.features[PLAYBACK_SERVICE].player
        group, port = new_group(), free_port()
        source = await add(admin, label="Paging", address=group, port=port, codec="pcmu", priority=5)
        long_clip = tone(440, 10.0)
        clip = await player.play(Play((("c1", lambda: iter(np.array_split(long_clip, 200))),)))
        await eventually(lambda: player.playing_clip == "c1", 5, "the clip to play")
        await finished(await send(group, port, "127.0.0.1", 1000, 0.6))
        await asyncio.wait({clip}, timeout=5)
        assert clip.cancelled()  # the stream stopped the clip
        await eventually(lambda: not player.live, 5, "the stream to end")
        assert player.playing_clip is None
        # While someone talks (transmit.cgi, the backchannel), the stream is refused, once in the log.
        sink(device).clear_sink()
        async with player.live_stream():
            await finished(await send(group, port, "127.0.0.1", 1000, 0.6))
            assert not playing(device, source)
        refusals = device.logs.text("system").count("Multicast stream Paging is not played")
        assert refusals == 1 and not audible(sink(device).sink_samples(), -60.0).size


async def test_a_controller_turned_off_receives_nothing(tmp_path: Path):
    async with served_on(tmp_path / "d", "127.0.0.1") as (device, admin):
        group, port = new_group(), free_port()
        source = await add(admin, label="Paging", address=group, port=port, codec="pcmu", priority=5)
        assert (await admin.patch(c.API + "/enabled", json={"data": False})).status_code == 200
        await finished(await send(group, port, "127.0.0.1", 1000, 0.5))
        await asyncio.sleep(0)
        assert not device.features[MULTICAST_SERVICE].arriving(source)
        assert not audible(sink(device).sink_samples(), -60.0).size
