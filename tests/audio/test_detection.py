"""Audio detection against the simulated microphone: the 0-100 scale, a rule that acts while the
sound is above the alarm level (and stops once it falls below), the activity indicator's JSON,
the event in the declared instances, and refused settings (out of range, a viewer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import pytest

from tests.conftest import client_as, eventually, record_actions, settle_rules
from tests.peers.servers import EV, NS, call
from vigil.core.events import NAMESPACES as TOPIC_NS
from vigil.core.events import Event
from vigil.core.roles import Role
from vigil.core.rules import Condition, Rule
from vigil.device import Device
from vigil.features.audio import const as c
from vigil.features.audio.detection import AUDIO_DETECTION, level_percent
from vigil.hal.audio import AUDIO_HARDWARE, tone


def test_the_level_scale_runs_from_minus_90_to_0_dbfs() -> None:
    assert level_percent(np.zeros(960, np.int16)) == 0
    assert level_percent(tone(1000, 0.1, -45.0)) == 50
    assert level_percent(tone(1000, 0.1, -9.0)) == 90
    assert level_percent(np.full(960, 32767, np.int16)) == 100


@pytest.fixture
async def detecting(speaker: Device) -> AsyncIterator[Device]:
    task = asyncio.create_task(speaker.features[AUDIO_DETECTION].run())
    await eventually(lambda: speaker.features[AUDIO_DETECTION].status()["listening"], 5, "detection listening")
    yield speaker
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_a_rule_acts_while_the_sound_is_above_the_alarm_level(detecting: Device) -> None:
    device = detecting
    seen: list[Event] = []
    device.events.subscribe(lambda e: seen.append(e) if e.topic == c.TRIGGER_LEVEL else None)
    calls = record_actions(device)
    action = device.rules.add_action("while loud", "test.unlimited", {}, "t")
    device.rules.add_rule(Rule(0, "loud", True, action.id,
                               (Condition(c.TRIGGER_LEVEL, (("channel", "1"), ("triggered", "1"))),)), "t")
    device.params.update([(c.ALARM_LEVEL, "60")], Role.ADMIN, "t")
    await settle_rules(device)
    assert calls == []
    device.hardware[AUDIO_HARDWARE].feed(tone(1000, 0.3, -20.0))  # level 78
    await eventually(lambda: calls == ["start:loud"], 3, "the rule to start")
    status = device.features[AUDIO_DETECTION].status()
    assert status["triggered"] is True and status["alarmLevel"] == 60
    await eventually(lambda: calls == ["start:loud", "stop:loud"], 3, "the rule to stop after the sound")
    assert [e.data["triggered"] for e in seen] == ["1", "0"]
    device.hardware[AUDIO_HARDWARE].feed(tone(1000, 0.3, -40.0))  # level 56: below 60, nothing happens
    await eventually(lambda: device.hardware[AUDIO_HARDWARE].fed_seconds == 0, 3, "the quiet tone heard")
    await settle_rules(device)
    assert calls == ["start:loud", "stop:loud"]


async def test_the_indicator_shows_the_level_and_turning_the_input_off_ends_it(detecting: Device) -> None:
    device = detecting
    device.hardware[AUDIO_HARDWARE].feed(tone(500, 2.0, -27.0))  # level 70
    await eventually(lambda: device.features[AUDIO_DETECTION].status()["level"] == 70, 3, "the tone's level")
    async with client_as(device, "operator") as operator:
        shown = (await operator.get(c.DETECTION_PATH)).json()
        assert shown == {"inputEnabled": True, "listening": True, "level": 70, "alarmLevel": 50, "triggered": True}
        r = await operator.get("/axis-cgi/param.cgi", params={"action": "update", c.INPUT_ENABLED: "no"})
        assert r.text.strip() == "OK"
        shown = (await operator.get(c.DETECTION_PATH)).json()
        assert shown["level"] is None and shown["triggered"] is False and shown["inputEnabled"] is False


async def test_bad_alarm_levels_and_viewers_change_nothing(speaker: Device) -> None:
    async with client_as(speaker, "operator") as operator, client_as(speaker, "viewer") as viewer:
        for value in ("101", "-1", "loud"):
            r = await operator.get("/axis-cgi/param.cgi", params={"action": "update", c.ALARM_LEVEL: value})
            assert r.text.startswith("# Error"), r.text
        r = await viewer.get("/axis-cgi/param.cgi", params={"action": "update", c.ALARM_LEVEL: "10"})
        assert r.status_code in (401, 403) or r.text.startswith("# Error")
        assert (await viewer.get(c.DETECTION_PATH)).status_code in (401, 403)
    assert speaker.params.get(c.ALARM_LEVEL) == "50"
    assert speaker.events.topic(c.TRIGGER_LEVEL) is not None
    assert speaker.events.state(c.TRIGGER_LEVEL, {"channel": "1"}) == {"triggered": "0"}


async def test_event_instances_list_audio_detection_and_the_speaker_test_result(speaker: Device) -> None:
    async with client_as(speaker, "admin") as admin:
        topics = (await call(admin, "<aev:GetEventInstances/>")).find("wstop:TopicSet", NS)
    level = topics.find(f"{{{TOPIC_NS['tns1']}}}AudioSource/{{{TOPIC_NS['tnsaxis']}}}TriggerLevel")
    assert level is not None and level.get(f"{{{EV}}}NiceName") == "Audio detection"
    instance = level.find("aev:MessageInstance", NS)
    assert instance.get(f"{{{EV}}}isProperty") == "true"
    state = instance.find("aev:DataInstance/aev:SimpleItemInstance", NS)
    assert (state.get("Name"), state.get("Type"), state.get("isPropertyState")) == ("triggered", "xsd:boolean", "true")
    result = topics.find(f"{{{TOPIC_NS['tns1']}}}Device/{{{TOPIC_NS['tnsaxis']}}}SpeakerTest/TestResult")
    values = result.find("aev:MessageInstance/aev:DataInstance/aev:SimpleItemInstance", NS)
    assert values.get("Name") == "SpeakerTestStatus"
    assert [v.text for v in values.iterfind("aev:Value", NS)] == ["OK", "Failed"]
