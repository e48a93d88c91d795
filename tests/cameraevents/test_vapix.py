"""What a camera's VAPIX event message becomes: its topic and source items name the event, its
data gives the state; a message that is not a notification is dropped, never an error."""

from __future__ import annotations

from vigil.features.cameraevents.model import Received
from vigil.features.cameraevents.vapix import parse_notification


def notify(message: object, topic: object = "tns1:VideoSource/MotionAlarm") -> dict:
    return {"method": "events:notify", "params": {"notification": {"topic": topic, "message": message}}}


def test_notifications_become_named_camera_events_with_their_state() -> None:
    event = parse_notification(notify({"source": {"b": "2", "a": 1}, "data": {"State": "true"}}))
    assert event == Received("tns1:VideoSource/MotionAlarm", {"b": "2", "a": "1"}, {"State": "true"}, "Changed")
    assert event.name == "tns1:VideoSource/MotionAlarm a=1 b=2" and event.active is True
    assert Received("t", {}, {"level": "87", "active": "inactive"}, "Changed").active is False
    assert Received("t", {}, {"level": "87"}, "Changed").active is None
    pulse = parse_notification(notify({"source": {}}))
    assert pulse is not None and pulse.operation == ""  # no data: a stateless event


def test_what_is_no_notification_is_dropped() -> None:
    for body in ({}, {"params": []}, {"params": {"notification": "x"}}, notify({}, topic=5)):
        assert parse_notification(body) is None, body
    # A message that is not an object: the topic alone, as a stateless event.
    assert parse_notification(notify("message")) == Received("tns1:VideoSource/MotionAlarm", {}, {}, "")
