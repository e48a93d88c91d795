"""SIP calls in the multicast controller's priority order: a call of higher priority (the SIP
settings' callPriority) takes the speaker from a multicast stream (ffmpeg sending on loopback),
whose Playing event goes off, and the caller (baresip's 1 kHz tone) is heard."""

from __future__ import annotations

import asyncio
import contextlib

from tests.conftest import client_as, eventually, free_port
from tests.multicast.conftest import new_group, send
from tests.peers.baresip import Baresip
from tests.playback.conftest import sink
from tests.sip.conftest import sip_call
from vigil.device import Device
from vigil.features.multicast import const as mc
from vigil.features.multicast.service import MULTICAST_SERVICE
from vigil.features.sip.service import SIP_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency


def playing(device: Device, source_id: str) -> bool:
    state = device.events.state(mc.PLAYING, {"Source": source_id})
    return bool(state and state.get("Playing") == "1")


async def test_a_call_of_higher_priority_takes_the_speaker_from_multicast(phone: Device, peer: Baresip) -> None:
    multicast = phone.features[MULTICAST_SERVICE]
    task = asyncio.create_task(multicast.run())
    try:
        async with client_as(phone, "admin") as admin:
            refused = await sip_call(admin, "setSipConfiguration", callPriority=11)
            assert "callPriority must be a whole number from 1 to 10" in refused["error"]["message"], refused
            assert "error" not in await sip_call(admin, "setSipConfiguration", callPriority=8)
        await multicast.set_enabled(True, "test")
        group, port = new_group(), free_port()
        source = await multicast.add({"label": "Music", "address": group, "port": port, "codec": "pcmu",
                                      "priority": 3}, "test")
        music = await send(group, port, "127.0.0.1", 500, 4.0)
        await eventually(lambda: playing(phone, source.id), 5, "the music to play")
        agent = phone.features[SIP_SERVICE].agent
        assert agent is not None
        assert (await peer.command("dial", f"sip:vigil@127.0.0.1:{agent.port}"))["ok"]
        await eventually(lambda: not playing(phone, source.id), 5, "the call to take the speaker")
        assert "takes the speaker from the multicast controller's stream" in phone.logs.text("system")
        speaker = sink(phone)
        start = len(speaker.sink_samples())
        await eventually(lambda: len(audible(speaker.sink_samples()[start:], -40.0)) > RATE // 2, 8, "the caller")
        assert abs(dominant_frequency(audible(speaker.sink_samples()[start:], -40.0)[-RATE // 2:]) - 1000) < 30
        assert (await peer.command("hangup"))["ok"]
        music.kill()  # the rest of the music is not needed
        await music.wait()
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_call_that_lost_the_speaker_to_multicast_is_heard_again_when_the_stream_ends(
        phone: Device, peer: Baresip) -> None:
    multicast = phone.features[MULTICAST_SERVICE]
    task = asyncio.create_task(multicast.run())
    try:
        async with client_as(phone, "admin") as admin:
            assert "error" not in await sip_call(admin, "setSipConfiguration", callPriority=2)
        await multicast.set_enabled(True, "test")
        group, port = new_group(), free_port()
        source = await multicast.add({"label": "Alarm", "address": group, "port": port, "codec": "pcmu",
                                      "priority": 8}, "test")
        agent = phone.features[SIP_SERVICE].agent
        assert agent is not None
        assert (await peer.command("dial", f"sip:vigil@127.0.0.1:{agent.port}"))["ok"]
        speaker = sink(phone)
        await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 4, 8, "the caller")
        alarm = await send(group, port, "127.0.0.1", 500, 1.0)
        await eventually(lambda: playing(phone, source.id), 5, "the alarm to take the speaker")
        _, err = await asyncio.wait_for(alarm.communicate(), 10)
        assert alarm.returncode == 0, err.decode()
        await eventually(lambda: not playing(phone, source.id), 5, "the alarm to end")
        after = len(speaker.sink_samples())
        await eventually(lambda: len(audible(speaker.sink_samples()[after:], -40.0)) > RATE // 2, 8,
                         "the caller again")
        assert abs(dominant_frequency(audible(speaker.sink_samples()[after:], -40.0)[-RATE // 2:]) - 1000) < 30
        assert "has the speaker again" in phone.logs.text("system")
        assert (await peer.command("hangup"))["ok"]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
