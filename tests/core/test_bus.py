"""The event bus: declarations, stateful properties, subscribers."""

from __future__ import annotations

import pytest

from vigil.core.clock import FakeClock
from vigil.core.events import EventBus, Item, Topic, from_short, normalize, to_short, topic_matches

PORT = "tns1:Device/tnsaxis:IO/Port"


@pytest.fixture
def bus() -> EventBus:
    b = EventBus(FakeClock())
    b.declare(Topic(PORT, "Port", True, (Item("port"),), (Item("state", state=True),)))
    b.declare(Topic("tnsaxis:Pulse", "Pulse", False))
    return b


def test_stateful_operations_and_unchanged_state_is_silent(bus: EventBus) -> None:
    seen = []
    bus.subscribe(seen.append)
    assert bus.publish(PORT, {"port": "1"}, {"state": "0"}).operation == "Initialized"
    assert bus.publish(PORT, {"port": "1"}, {"state": "0"}) is None
    assert bus.publish(PORT, {"port": "1"}, {"state": "1"}).operation == "Changed"
    bus.delete(PORT, {"port": "1"})
    assert [e.operation for e in seen] == ["Initialized", "Changed", "Deleted"]
    assert bus.state(PORT, {"port": "1"}) is None


def test_stateless_events_have_no_operation_and_no_state(bus: EventBus) -> None:
    event = bus.publish("tnsaxis:Pulse", {}, {})
    assert event is not None and event.operation is None and bus.properties() == []


def test_new_subscriber_gets_current_properties_first(bus: EventBus) -> None:
    bus.publish(PORT, {"port": "1"}, {"state": "1"})
    bus.publish(PORT, {"port": "2"}, {"state": "0"})
    seen = []
    bus.subscribe(seen.append, initial=True)
    assert sorted((e.source["port"], e.data["state"], e.operation) for e in seen) == [
        ("1", "1", "Initialized"), ("2", "0", "Initialized")]


def test_undeclared_topic_is_refused(bus: EventBus) -> None:
    with pytest.raises(KeyError):
        bus.publish("tns1:Nope", {}, {})


def test_failing_subscriber_does_not_stop_others(bus: EventBus) -> None:
    seen = []

    def broken(event):
        raise RuntimeError("boom")

    bus.subscribe(broken)
    bus.subscribe(seen.append)
    bus.publish(PORT, {"port": "1"}, {"state": "1"})
    assert len(seen) == 1


def test_topic_spelling_and_matching() -> None:
    assert normalize("tns1:Device/tnsaxis:IO/tnsaxis:Port") == PORT
    assert to_short(PORT) == "onvif:Device/axis:IO/Port"
    assert from_short("onvif:Device/axis:IO/Port") == PORT
    assert topic_matches("//.", PORT)
    assert topic_matches("onvif:Device/axis:IO//.", PORT)
    assert topic_matches("tns1:Other|" + PORT, PORT)
    assert not topic_matches("tns1:Device/tnsaxis:IO/VirtualInput", PORT)
