"""Events and MQTT against a real mosquitto: event publication (topics, payload, retain
policies), subscriptions as bus events, the "Send MQTT publish message" action, and rules
on MQTT conditions."""

from __future__ import annotations

import asyncio
import contextlib
import json

import pytest

from tests.conftest import eventually
from tests.mqtt.conftest import configure, connected, mqtt
from tests.peers.mosquitto import Broker, needs_mosquitto, peer
from vigil.core.clock import FakeClock
from vigil.core.events import Event
from vigil.core.rules import ACTION_FAILED, Condition, Rule, RuleError
from vigil.device import Device
from vigil.features.io.service import IO_SERVICE
from vigil.features.mqtt import model
from vigil.features.mqtt.service import ACTION, STATEFUL, STATELESS, MqttService
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE

pytestmark = needs_mosquitto
VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"


@pytest.fixture
def w401(w401: Device) -> Device:
    """tests/conftest.py's W401 with I1 as an output."""
    w401.params.set_internal({"IOPort.I1.Direction": "output"})
    return w401


async def connect(device: Device, broker: Broker) -> MqttService:
    service = configure(device, broker)
    await connected(service)
    return service


def publish_config(service: MqttService, *filters: dict, **options) -> None:
    service.configure_publication(model.parse_publication({"eventFilterList": list(filters), **options}), "test")


def subscribe(service: MqttService, *filters: dict) -> None:
    service.configure_subscriptions(model.parse_subscriptions({"mqttFilterList": list(filters)}), "test")


async def test_event_publication_payload_and_topic(dev: Device, broker: Broker, clock: FakeClock) -> None:
    serial = dev.identity.serial
    service = await connect(dev, broker)
    async with peer(broker, f"axis/{serial}/event/#") as p:
        publish_config(service, {"topicFilter": "onvif:Device/axis:IO/VirtualInput", "qos": 1, "retain": "property"})
        topic = f"axis/{serial}/event/onvif:Device/axis:IO/VirtualInput"
        await p.next(topic)  # the current states, published when the filter is set
        await asyncio.sleep(0.2)
        p.clear()
        clock.advance(5)
        dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(3, True, "test")
        message = await p.next(topic)
        body = json.loads(message.payload)
        assert body == {"topic": "onvif:Device/axis:IO/VirtualInput", "timestamp": int(clock.time() * 1000),
                        "message": {"source": {"port": "3"}, "key": {}, "data": {"active": "1"}}}
        assert list(body) == ["topic", "timestamp", "message"]
        assert message.qos == 1
    # retain=property: the last property state is retained on the broker
    async with peer(broker, topic) as late:
        retained = await late.next()
        assert retained.retain and json.loads(retained.payload)["message"]["data"] == {"active": "1"}


async def test_publication_options(dev: Device, broker: Broker) -> None:
    serial = dev.identity.serial
    service = await connect(dev, broker)
    async with peer(broker, "site/#", f"axis/{serial}/event/#") as p:
        publish_config(service, {"topicFilter": "onvif:Device/axis:IO//."}, topicPrefix="custom",
                       customTopicPrefix="site/cam7", includeTopicNamespaces=False,
                       includeSerialNumberInPayload=True)
        await asyncio.sleep(0.2)
        p.clear()
        dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(2, True, "test")
        message = await p.next("site/cam7/Device/IO/VirtualInput")
        body = json.loads(message.payload)
        assert body["serial"] == serial and list(body) == ["topic", "timestamp", "serial", "message"]
        publish_config(service, {"topicFilter": "tns1:Device/tnsaxis:IO/VirtualInput"}, appendEventTopic=False)
        await asyncio.sleep(0.2)
        p.clear()
        dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(2, False, "test")
        assert json.loads((await p.next(f"axis/{serial}/event")).payload)["message"]["data"] == {"active": "0"}


async def test_retain_policies(dev: Device, broker: Broker) -> None:
    """none: nothing retained; property: states retained, stateless events not; all: both."""
    serial = dev.identity.serial
    service = await connect(dev, broker)
    base = f"axis/{serial}/event/onvif:Device/axis:"
    for policy in ("none", "property", "all"):
        publish_config(service, {"topicFilter": "onvif:Device/axis:IO/VirtualInput", "retain": policy},
                       {"topicFilter": "onvif:Device/axis:SystemMessage/ActionFailed", "retain": policy})
        dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(5, True, "test")
        dev.events.publish(ACTION_FAILED, {}, {"description": policy})
        await eventually(lambda: service._queue.empty(), what="the queue to drain")
        await asyncio.sleep(0.2)
        async with peer(broker, f"axis/{serial}/event/#") as late:
            got: dict[str, bool] = {}
            with contextlib.suppress(TimeoutError):
                while True:
                    m = await late.next(timeout=0.4)
                    got[m.topic.value.split(":")[-1]] = m.retain
        stateful, stateless = "IO/VirtualInput" in got, "SystemMessage/ActionFailed" in got
        assert (stateful, stateless) == {"none": (False, False), "property": (True, False),
                                         "all": (True, True)}[policy], (policy, got)
        # clear what this round retained
        async with peer(broker) as p:
            for leaf in ("IO/VirtualInput", "SystemMessage/ActionFailed"):
                await p.client.publish(base + leaf, b"", retain=True)
        dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(5, False, "test")
        await asyncio.sleep(0.1)


async def test_events_are_dropped_not_queued_while_disconnected(dev: Device, broker: Broker) -> None:
    service = mqtt(dev)
    publish_config(service, {"topicFilter": "//."})
    for n in range(1, 33):
        dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(n, True, "test")  # the bus never waits for the network
    assert service.stats.dropped >= 32 and service._queue.qsize() == 0
    await connect(dev, broker)
    assert service.stats.published >= 1 or service._queue.qsize() >= 1


async def test_bounded_queue_drops_when_full(dev: Device, broker: Broker) -> None:
    service = await connect(dev, broker)
    publish_config(service, {"topicFilter": "onvif:Device/axis:IO/VirtualInput"})
    await eventually(lambda: service._queue.empty())
    before = service.stats.dropped
    for n in range(2000):  # synchronously: the sender cannot run in between
        service._on_event(Event(VIRTUAL, {"port": "1"}, {"active": str(n % 2)}, 0.0, "Changed"))
    assert service._queue.qsize() == 1000 and service.stats.dropped - before == 1000
    await eventually(lambda: service._queue.empty(), 10, "the queue to drain")


async def test_subscriptions_become_events(dev: Device, broker: Broker) -> None:
    serial = dev.identity.serial
    service = await connect(dev, broker)
    seen: list[Event] = []
    dev.events.subscribe(lambda e: seen.append(e) if e.topic in (STATELESS, STATEFUL) else None)
    subscribe(service,
              {"topicFilter": "building/+/window/#", "qos": 1},
              {"topicFilter": "building/A/door/state", "isStateData": True},
              {"topicFilter": "cmd", "useDeviceTopicPrefix": True, "qos": 2})
    declared = dev.events.topic(STATELESS)
    assert declared and declared.source[0].values == ("building/+/window/#", "cmd")
    await asyncio.sleep(0.3)
    seen.clear()
    async with peer(broker) as p:
        await p.client.publish("building/B/window/3/open", b"yes", qos=1)
        await p.client.publish("building/A/door/state", b"open", qos=1)
        await p.client.publish("building/A/door/state", b"open", qos=1)  # unchanged: no event
        await p.client.publish(f"axis/{serial}/cmd", "grüß".encode(), qos=1)
        await p.client.publish("cmd", b"not for us", qos=1)
        await p.client.publish("building/A/door/state", b"closed", qos=1)
    await eventually(lambda: len(seen) >= 4, what="four events")
    await asyncio.sleep(0.1)
    got = [(e.topic, dict(e.source), dict(e.data), e.operation) for e in seen]
    assert got == [
        (STATELESS, {"mqtt-topic": "building/+/window/#", "device-prefix": "0"}, {"mqtt-payload": "yes"}, None),
        (STATEFUL, {"mqtt-topic": "building/A/door/state", "device-prefix": "0"}, {"mqtt-payload": "open"},
         "Changed"),
        (STATELESS, {"mqtt-topic": "cmd", "device-prefix": "1"}, {"mqtt-payload": "grüß"}, None),
        (STATEFUL, {"mqtt-topic": "building/A/door/state", "device-prefix": "0"}, {"mqtt-payload": "closed"},
         "Changed"),
    ]
    # removing a stateful subscription deletes its property
    subscribe(service, {"topicFilter": "cmd", "useDeviceTopicPrefix": True})
    assert dev.events.states(STATEFUL) == []
    assert seen[-1].operation == "Deleted"


async def test_oversize_messages_are_dropped_with_a_warning(dev: Device, broker: Broker) -> None:
    service = await connect(dev, broker)
    subscribe(service, {"topicFilter": "big"})
    await asyncio.sleep(0.3)
    seen: list[Event] = []
    dev.events.subscribe(lambda e: seen.append(e) if e.topic == STATELESS else None)
    async with peer(broker) as p:
        await p.client.publish("big", b"x" * (model.MAX_PAYLOAD + 1), qos=1)
        await p.client.publish("big", b"y" * model.MAX_PAYLOAD, qos=1)
    await eventually(lambda: seen, what="the small message")
    assert len(seen) == 1 and len(seen[0].data["mqtt-payload"]) == model.MAX_PAYLOAD
    assert service.stats.oversize == 1
    assert any("exceeds" in e.message for e in dev.logs.entries("system"))


async def test_publish_action(dev: Device, broker: Broker) -> None:
    await connect(dev, broker)
    action = dev.rules.add_action("motion on", ACTION, {"Topic": "Motion", "QoS": "1", "Retained": "false",
                                                        "Payload": "On {source.port}"}, "test")
    dev.rules.add_rule(Rule(0, "motion", True, action.id, (), Condition(VIRTUAL, (("port", "4"),))), "test")
    async with peer(broker, "Motion") as p:
        dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(4, True, "test")
        message = await p.next("Motion")
        assert message.payload == b"On 4" and message.qos == 1


async def test_publish_action_validation(dev: Device) -> None:
    for params, error in (({"Topic": ""}, "must not be empty"), ({"Topic": "a/#"}, "wildcards"),
                          ({"Topic": "a", "QoS": "3"}, "QoS"), ({"Topic": "a", "Retained": "maybe"}, "Retained"),
                          ({"Topic": "a", "Payload": "x" * 8193}, "8192"), ({"Topic": "a", "Other": "1"}, "Other")):
        with pytest.raises(RuleError, match=error):
            dev.rules.add_action("bad", ACTION, params, "test")
    assert ACTION in dev.rules.types and dev.rules.types[ACTION].params == ("Topic", "QoS", "Retained", "Payload")


async def test_publish_action_fails_visibly_when_not_connected(dev: Device) -> None:
    failures: list[Event] = []
    dev.events.subscribe(lambda e: failures.append(e) if e.topic == ACTION_FAILED else None)
    action = dev.rules.add_action("pub", ACTION, {"Topic": "x", "Payload": "y"}, "test")
    dev.rules.add_rule(Rule(0, "r", True, action.id, (), Condition(VIRTUAL, (("port", "6"),))), "test")
    dev.features[VIRTUAL_INPUTS_SERVICE].set_virtual(6, True, "test")
    await eventually(lambda: failures, what="ActionFailed")
    assert "not active" in failures[0].data["description"]


async def test_rule_on_a_stateful_mqtt_condition_holds_an_output(dev: Device, broker: Broker) -> None:
    """W401 manual: MQTT > Stateful, subscription filter Motion, payload On -> Toggle I/O while active."""
    service = await connect(dev, broker)
    subscribe(service, {"topicFilter": "Motion", "isStateData": True, "qos": 1})
    hold = dev.rules.add_action("hold", "com.axis.action.unlimited.io.toggle", {"port": "1", "state": "high"}, "t")
    dev.rules.add_rule(Rule(0, "Motion detected", True, hold.id,
                            (Condition(STATEFUL, (("mqtt-topic", "Motion"), ("mqtt-payload", "On"))),)), "t")
    io = dev.features[IO_SERVICE]
    await asyncio.sleep(0.3)
    assert not io.view(1).active
    async with peer(broker) as p:
        await p.client.publish("Motion", b"On", qos=1)
        await eventually(lambda: io.view(1).active, what="I/O 1 active")
        await p.client.publish("Motion", b"Off", qos=1)
        await eventually(lambda: not io.view(1).active, what="I/O 1 inactive")
