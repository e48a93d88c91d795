"""The speaker's rule actions and its event on an in-process C1410: "Play audio clip" with its
volume and repeat, "Play audio clip while the rule is active" (stops when the rule does), "Stop
playing audio clip", the condition "Audio clip playing" (the manual's "answer the call after the
clip has ended": inverted, as a trigger), and the actions' checks of their parameters."""

from __future__ import annotations

import asyncio

import pytest
from lxml import etree

from tests.conftest import client_as, eventually, record_actions, settle_rules
from tests.peers.servers import call
from tests.playback.conftest import TONE_SECONDS, make_tone, sink, upload
from vigil.core.events import Item, Topic
from vigil.core.rules import Condition, Rule, RuleError
from vigil.device import Device
from vigil.features.playback import const as c
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.hal.audio import RATE, audible

TRIGGER = "tns1:Device/tnsaxis:Test/Trigger"


def declare_trigger(device: Device) -> None:
    device.events.declare(Topic(TRIGGER, "Test trigger", True, (), (Item("active", "xsd:boolean", state=True),)))
    device.events.publish(TRIGGER, {}, {"active": "0"})


def add_rule(device: Device, name: str, template: str, params: dict[str, str], trigger: Condition) -> None:
    action = device.rules.add_action(name, template, params, "test")
    device.rules.add_rule(Rule(0, name, True, action.id, (), trigger), "test")


async def ended(device: Device) -> None:
    player = device.features[PLAYBACK_SERVICE].player
    await eventually(lambda: player.current is None and player.playing_clip is None, 10, "the clip to end")


async def test_play_once_with_repeat_and_the_clip_playing_condition(speaker: Device, clip_files: dict[str, bytes]):
    declare_trigger(speaker)
    calls = record_actions(speaker)
    async with client_as(speaker, "operator") as op:
        await upload(op, clip_files["mp3"])
    add_rule(speaker, "Play", c.PLAY_ONCE, {"clip_id": "0", "volume": "100", "repeat": "1"},
             Condition(TRIGGER, (("active", "1"),)))
    answer = speaker.rules.add_action("Answer", "test.fixed", {}, "test")  # the manual's "Answer call"
    speaker.rules.add_rule(Rule(0, "Answer", True, answer.id, (),
                                Condition(c.CLIP_PLAYING, (("Playing", "1"),), invert=True)), "test")
    speaker.events.publish(TRIGGER, {}, {"active": "1"})
    await settle_rules(speaker)
    await eventually(lambda: speaker.features[PLAYBACK_SERVICE].player.playing_clip == "0", 5, "the clip to play")
    assert calls == []
    await ended(speaker)
    await settle_rules(speaker)
    assert calls == ["run:Answer"]  # once the clip has ended
    heard = audible(sink(speaker).sink_samples(), -60.0)
    assert abs(len(heard) / RATE - 2 * TONE_SECONDS) < 0.06


async def test_play_while_active_stops_with_the_rule_and_stop_action(speaker: Device, tmp_path):
    declare_trigger(speaker)
    async with client_as(speaker, "operator") as op:
        await upload(op, make_tone(tmp_path / "ring.wav", 800, 0.1))
    add_rule(speaker, "Ring", c.PLAY_WHILE, {"clip_id": "0", "volume": "80"}, Condition(TRIGGER, (("active", "1"),)))
    player = speaker.features[PLAYBACK_SERVICE].player
    speaker.events.publish(TRIGGER, {}, {"active": "1"})
    await settle_rules(speaker)
    await eventually(lambda: len(sink(speaker).sink_samples()) > 4 * 0.1 * RATE, 5, "repeats")  # it goes on
    assert player.playing_clip == "0"
    speaker.events.publish(TRIGGER, {}, {"active": "0"})
    await settle_rules(speaker)
    await eventually(lambda: player.playing_clip is None and player.current is None, 5, "the clip to stop")
    # "Stop playing audio clip" stops what a play link started
    add_rule(speaker, "Silence", c.STOP, {}, Condition(TRIGGER, (("active", "1"),)))
    speaker.rules.remove_rule(1, "test")
    await speaker.features[PLAYBACK_SERVICE].play(speaker.features[PLAYBACK_SERVICE].clips.clips(), repeat=-1)
    await eventually(lambda: player.playing_clip == "0", 5, "playing")
    speaker.events.publish(TRIGGER, {}, {"active": "1"})
    await settle_rules(speaker)
    await eventually(lambda: player.playing_clip is None, 5, "the stop action")


@pytest.mark.parametrize("params,why", [
    ({"clip_id": "4"}, "there is no clip 4"),
    ({"clip_id": "0", "volume": "1001"}, "volume must be"),
    ({"clip_id": "0", "repeat": "x"}, "repeat must be"),
])
async def test_the_actions_refuse_bad_parameters(speaker: Device, clip_files: dict[str, bytes], params, why):
    async with client_as(speaker, "operator") as op:
        await upload(op, clip_files["wav"])
    with pytest.raises(RuleError, match=why):
        speaker.rules.add_action("Play", c.PLAY_ONCE, params, "test")


async def test_the_event_is_an_event_instance(speaker: Device):
    async with client_as(speaker, "admin") as admin:
        instances = etree.tostring(await call(admin, "<aev:GetEventInstances/>")).decode()
    assert "MediaClip" in instances and 'NiceName="Audio clip playing"' in instances
    topic = speaker.events.topic(c.CLIP_PLAYING)
    assert topic is not None and topic.stateful and topic.nice == "Audio clip playing"
    assert speaker.events.state(c.CLIP_PLAYING, {}) == {"Playing": "0", "ClipId": ""}
    assert {c.PLAY_ONCE, c.PLAY_WHILE, c.STOP} <= set(speaker.rules.types)


async def test_plays_at_the_same_moment_leave_one_clip_playing(speaker: Device, tmp_path):
    async with client_as(speaker, "operator") as op:
        await upload(op, make_tone(tmp_path / "a.wav", 500, 0.3))
        await upload(op, make_tone(tmp_path / "b.wav", 2000, 0.3))
    service = speaker.features[PLAYBACK_SERVICE]
    a, b = service.clips.clips()
    await service.play([a], repeat=-1)
    tasks = await asyncio.gather(service.play([a], repeat=-1), service.play([b], repeat=-1))
    assert sum(not task.done() for task in tasks) == 1  # one of them plays, the other was replaced
    await service.stop()
    assert all(task.done() for task in tasks)
