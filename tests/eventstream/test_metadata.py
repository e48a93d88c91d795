"""The event wire formats and filters shared by the RTSP and WebSocket streams, and the
fan-out that keeps a slow client from holding up the bus."""

from __future__ import annotations

import json

import pytest
from lxml import etree

from vigil.core.clock import FakeClock
from vigil.core.events import Event, EventBus, Item, Topic
from vigil.features.eventstream.fanout import Fanout, Listener, Outbox
from vigil.features.eventstream.metadata import EventFilter, FilterError, to_notification, to_xml

PORT = "tns1:Device/tnsaxis:IO/Port"
NS = {"tt": "http://www.onvif.org/ver10/schema", "wsnt": "http://docs.oasis-open.org/wsn/b-2",
      "tns1": "http://www.onvif.org/ver10/topics", "tnsaxis": "http://www.axis.com/2009/event/topics"}
EVENT = Event(PORT, {"port": "1"}, {"state": "0"}, 1547538645.206264, "Initialized")


def test_xml_is_the_axis_metadata_document() -> None:
    document = to_xml(EVENT)
    assert document.startswith(b'<?xml version="1.0" encoding="UTF-8"?>\n<tt:MetadataStream ')
    expected = (
        '<tt:MetadataStream xmlns:tt="http://www.onvif.org/ver10/schema"><tt:Event>'
        '<wsnt:NotificationMessage xmlns:tns1="http://www.onvif.org/ver10/topics" '
        'xmlns:tnsaxis="http://www.axis.com/2009/event/topics" xmlns:wsnt="http://docs.oasis-open.org/wsn/b-2">'
        '<wsnt:Topic Dialect="http://docs.oasis-open.org/wsn/t-1/TopicExpression/Simple">'
        "tns1:Device/tnsaxis:IO/Port</wsnt:Topic>"
        '<wsnt:Message><tt:Message UtcTime="2019-01-15T07:50:45.206264Z" PropertyOperation="Initialized">'
        '<tt:Source><tt:SimpleItem Name="port" Value="1"/></tt:Source><tt:Key/>'
        '<tt:Data><tt:SimpleItem Name="state" Value="0"/></tt:Data>'
        "</tt:Message></wsnt:Message></wsnt:NotificationMessage></tt:Event></tt:MetadataStream>"
    )
    assert document.decode().split("\n", 1)[1] == expected
    root = etree.fromstring(document)
    topic = root.find("tt:Event/wsnt:NotificationMessage/wsnt:Topic", NS)
    # The topic's prefixes resolve where the topic is.
    assert topic.nsmap["tns1"] == NS["tns1"] and topic.nsmap["tnsaxis"] == NS["tnsaxis"]


def test_xml_stateless_empty_and_escaped() -> None:
    event = Event("tns1:Device/tnsaxis:SystemMessage/ActionFailed", {}, {"description": 'a "b" <c> & d'}, 0.5)
    root = etree.fromstring(to_xml(event))
    message = root.find(".//tt:Message", NS)
    assert "PropertyOperation" not in message.attrib
    assert message.get("UtcTime") == "1970-01-01T00:00:00.500000Z"
    assert message.find("tt:Source", NS) is not None and len(message.find("tt:Source", NS)) == 0
    assert message.find("tt:Data/tt:SimpleItem", NS).get("Value") == 'a "b" <c> & d'
    multi = Event(PORT, {"a": "1", "b": "ü"}, {}, 0, "Deleted")
    root = etree.fromstring(to_xml(multi))
    assert [i.get("Name") for i in root.findall(".//tt:Source/tt:SimpleItem", NS)] == ["a", "b"]
    assert root.find(".//tt:Source/tt:SimpleItem[@Name='b']", NS).get("Value") == "ü"
    assert root.find(".//tt:Message", NS).get("PropertyOperation") == "Deleted"


def test_notification_json() -> None:
    assert json.loads(to_notification(EVENT)) == {
        "apiVersion": "1.0", "method": "events:notify",
        "params": {"notification": {"topic": PORT, "timestamp": 1547538645206,
                                    "message": {"source": {"port": "1"}, "key": {}, "data": {"state": "0"}}}},
    }


@pytest.mark.parametrize(("topic", "content", "matches"), [
    ("//.", None, True),
    ("", None, True),
    (PORT, None, True),
    ("onvif:Device/axis:IO/Port", None, True),
    ("tns1:Device/tnsaxis:IO//.", None, True),
    ("tns1:Device/tnsaxis:IO//", None, True),
    ("tns1:Device//.", None, True),
    ("tns1:Device/tnsaxis:IO/VirtualInput", None, False),
    ("tns1:Device/tnsaxis:IO/VirtualInput | tns1:Device/tnsaxis:IO/Port", None, True),
    ("tns1:Device/tnsaxis:IO/Po", None, False),
    (PORT, 'boolean(//SimpleItem[@Name="port" and @Value="1"])', True),
    (PORT, 'boolean(//SimpleItem[@Name="port" and @Value="2"])', False),
    (PORT, 'boolean(//tt:SimpleItem[@Name="port" and @Value="1"])', True),
    (PORT, 'boolean(//SimpleItem[@Name="port" and @Value="1"]) and boolean(//SimpleItem[@Name="state" and '
           '@Value="0"])', True),
    (PORT, 'boolean(//SimpleItem[@Name="port" and @Value="1"]) and boolean(//SimpleItem[@Name="state" and '
           '@Value="1"])', False),
    (PORT, 'boolean(//Source/SimpleItem[@Name="state"])', False),
    (PORT, 'boolean(//Data/SimpleItem[@Name="state"])', True),
    (PORT, 'not(boolean(//SimpleItem[@Value="9"]))', True),
    (PORT, "", True),
    ("tns1:Other", 'boolean(//SimpleItem[@Name="port"])', False),
])
def test_filters(topic: str, content: str | None, matches: bool) -> None:
    assert EventFilter(topic, content).matches(EVENT) is matches


@pytest.mark.parametrize("content", ["boolean(//SimpleItem[", "nope(1)", "$x", "//SimpleItem[@Name='" + "a" * 2000])
def test_bad_content_filters(content: str) -> None:
    with pytest.raises(FilterError):
        EventFilter("//.", content)


def test_outbox_drops_events_but_never_replies() -> None:
    box = Outbox("test", limit=2)
    assert box.put(1) and box.put(2)
    assert not box.put(3)
    assert box.put("reply", force=True)
    assert len(box) == 3 and box.dropped == 1
    box.close()
    assert not box.put(4, force=True)


async def test_fanout_initial_state_per_filter_and_slow_clients() -> None:
    bus = EventBus(FakeClock())
    bus.declare(Topic(PORT, "Port", True, (Item("port"),), (Item("state", state=True),)))
    bus.declare(Topic("tnsaxis:Test/Pulse", "Pulse", False))
    bus.publish(PORT, {"port": "1"}, {"state": "0"})
    fanout = Fanout(bus)
    renders: list[Event] = []

    def render(event: Event) -> str:
        renders.append(event)
        return f"{event.topic} {event.operation} {dict(event.data)}"

    fast = Listener(Outbox("fast"), render, [EventFilter(PORT), EventFilter("//.")], per_filter=True)
    once = Listener(Outbox("once"), render, [EventFilter(PORT), EventFilter("//.")])
    slow = Listener(Outbox("slow", limit=3), render, [EventFilter()])
    for listener in (fast, once, slow):
        fanout.start(listener)
    assert [await fast.outbox.get() for _ in range(2)] == [f"{PORT} Initialized {{'state': '0'}}"] * 2
    assert await once.outbox.get() == f"{PORT} Initialized {{'state': '0'}}" and len(once.outbox) == 0
    for i in range(10):
        bus.publish("tnsaxis:Test/Pulse", {}, {"n": str(i)})
    assert len(slow.outbox) == 3 and slow.outbox.dropped == 8  # 1 initial + 2, then 8 dropped
    assert len(fast.outbox) == 10 and len(once.outbox) == 10  # one filter matches a pulse
    assert len([e for e in renders if e.operation is None]) == 10  # rendered once per event, not per client
    fanout.stop(slow)
    bus.publish("tnsaxis:Test/Pulse", {}, {"n": "x"})
    assert len(slow.outbox) == 3
    fanout.close()
    bus.publish("tnsaxis:Test/Pulse", {}, {"n": "y"})
    assert len(fast.outbox) == 11
