"""The ONVIF event service in process: GetEventProperties lists every declared topic,
PullPoint subscriptions with topic and content filters, PullMessages, SetSynchronizationPoint,
Renew (relative and absolute), Unsubscribe of one subscription only, expiry; every reply valid
against events.wsdl (and b-2.xsd for Renew and Unsubscribe)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.onvif.conftest import Soap
from tests.onvif.schemas import assert_valid
from vigil.core.events import Item, Topic
from vigil.features.onvif.const import EVENTS_PATH, TEV, TT, WSA, WSNT, WSTOP

NS = {"tev": TEV, "tt": TT, "wsa": WSA, "wsnt": WSNT, "wstop": WSTOP}
DOOR = "tns1:Device/tnsaxis:Test/Door"
LIGHT = "tns1:Device/tnsaxis:Test/Light"


@pytest.fixture
def topics(soap: Soap) -> Soap:
    bus = soap.device.events
    for topic in (DOOR, LIGHT):
        bus.declare(Topic(topic, topic, True, (Item("id", "xsd:int"),), (Item("open", "xsd:boolean", state=True),)))
    bus.publish(DOOR, {"id": "1"}, {"open": "0"})
    bus.publish(DOOR, {"id": "2"}, {"open": "0"})
    bus.publish(LIGHT, {"id": "1"}, {"open": "1"})
    return soap


async def events(soap: Soap, op: str, inner: str = "", path: str = EVENTS_PATH, namespace: str = TEV,
                 as_level: str | None = "User"):
    return await soap(op, inner, namespace, as_level=as_level, path=path)


async def subscribe(soap: Soap, inner: str = "") -> str:
    reply = assert_valid((await events(soap, "CreatePullPointSubscription", inner)).content)
    address = reply.findtext("tev:SubscriptionReference/wsa:Address", namespaces=NS)
    assert address.startswith("http://127.0.0.1:80/onvif/pullpoint/")
    return address.removeprefix("http://127.0.0.1:80")


async def pull(soap: Soap, path: str, limit: int = 100, timeout: str = "PT0S") -> list[tuple]:
    reply = await events(soap, "PullMessages", f"<op:Timeout>{timeout}</op:Timeout><op:MessageLimit>{limit}"
                         "</op:MessageLimit>", path=path)
    assert reply.status_code == 200, reply.text
    body = assert_valid(reply.content)
    out = []
    for m in body.iterfind("wsnt:NotificationMessage", NS):
        message = m.find("wsnt:Message/tt:Message", NS)
        source = {i.get("Name"): i.get("Value") for i in message.iterfind("tt:Source/tt:SimpleItem", NS)}
        data = {i.get("Name"): i.get("Value") for i in message.iterfind("tt:Data/tt:SimpleItem", NS)}
        out.append((m.findtext("wsnt:Topic", namespaces=NS), source.get("id"), data.get("open"),
                    message.get("PropertyOperation")))
    return out


async def test_event_properties_list_every_declared_topic(topics: Soap):
    reply = assert_valid((await events(topics, "GetEventProperties")).content)
    leaves = reply.findall(".//*[@wstop:topic='true']", NS)
    assert len(leaves) == len(topics.device.events.topics())
    door = reply.find("wstop:TopicSet/{http://www.onvif.org/ver10/topics}Device/"
                      "{http://www.axis.com/2009/event/topics}Test/{http://www.axis.com/2009/event/topics}Door", NS)
    assert door.find("tt:MessageDescription", NS).get("IsProperty") == "true"
    assert_valid((await events(topics, "GetServiceCapabilities", as_level=None)).content)


async def test_pull_point_with_a_topic_filter(topics: Soap):
    expression = (f'<op:Filter><wsnt:TopicExpression xmlns:wsnt="{WSNT}" xmlns:a="http://www.onvif.org/ver10/topics" '
                  'xmlns:b="http://www.axis.com/2009/event/topics" '
                  'Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">a:Device/b:Test/Door'
                  "</wsnt:TopicExpression></op:Filter><op:InitialTerminationTime>PT60S</op:InitialTerminationTime>")
    path = await subscribe(topics, expression)
    assert sorted(await pull(topics, path)) == [(DOOR, "1", "0", "Initialized"), (DOOR, "2", "0", "Initialized")]
    topics.device.events.publish(DOOR, {"id": "2"}, {"open": "1"})
    topics.device.events.publish(LIGHT, {"id": "1"}, {"open": "0"})  # filtered out
    assert await pull(topics, path) == [(DOOR, "2", "1", "Changed")]
    assert await pull(topics, path, timeout="PT0.2S") == []
    assert_valid((await events(topics, "SetSynchronizationPoint", path=path)).content)
    assert sorted(await pull(topics, path, limit=1) + await pull(topics, path)) == \
        [(DOOR, "1", "0", "Initialized"), (DOOR, "2", "1", "Initialized")]


async def test_content_filter(topics: Soap):
    content = (f'<op:Filter><wsnt:MessageContent xmlns:wsnt="{WSNT}" '
               'Dialect="http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter">'
               'boolean(//SimpleItem[@Name="id" and @Value="1"])</wsnt:MessageContent></op:Filter>')
    path = await subscribe(topics, content)
    assert sorted(await pull(topics, path)) == [(DOOR, "1", "0", "Initialized"), (LIGHT, "1", "1", "Initialized")]


async def test_renew_unsubscribe_and_expiry(topics: Soap):
    clock = topics.device.clock
    first, second = await subscribe(topics), await subscribe(topics, "<op:InitialTerminationTime>PT10M"
                                                                     "</op:InitialTerminationTime>")
    later = datetime.fromtimestamp(clock.time() + 3600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    renewed = assert_valid((await events(topics, "Renew", f"<op:TerminationTime>{later}</op:TerminationTime>",
                                         path=second, namespace=WSNT)).content)
    assert renewed.findtext("wsnt:TerminationTime", namespaces=NS) == later
    relative = assert_valid((await events(topics, "Renew", "<op:TerminationTime>PT2M</op:TerminationTime>",
                                          path=first, namespace=WSNT)).content)
    assert relative.findtext("wsnt:TerminationTime", namespaces=NS) == \
        datetime.fromtimestamp(clock.time() + 120, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert_valid((await events(topics, "Unsubscribe", path=first, namespace=WSNT)).content)
    gone = await events(topics, "PullMessages", "<op:Timeout>PT0S</op:Timeout><op:MessageLimit>1</op:MessageLimit>",
                        path=first)
    assert gone.status_code == 400 and "ResourceUnknownFault" in gone.text
    assert sorted(m for m in await pull(topics, second) if m[0] in (DOOR, LIGHT)) == [  # the other one goes on
        (DOOR, "1", "0", "Initialized"), (DOOR, "2", "0", "Initialized"), (LIGHT, "1", "1", "Initialized")]
    clock.advance(3601)
    expired = await events(topics, "PullMessages", "<op:Timeout>PT0S</op:Timeout><op:MessageLimit>1</op:MessageLimit>",
                           path=second)
    assert expired.status_code == 400 and "ResourceUnknownFault" in expired.text


@pytest.mark.parametrize("inner, fault", [
    ("<op:InitialTerminationTime>yesterday</op:InitialTerminationTime>", "UnacceptableInitialTerminationTimeFault"),
    ("<op:InitialTerminationTime>2001-01-01T00:00:00Z</op:InitialTerminationTime>",
     "UnacceptableInitialTerminationTimeFault"),
    (f'<op:Filter><wsnt:TopicExpression xmlns:wsnt="{WSNT}" Dialect="urn:other">x</wsnt:TopicExpression></op:Filter>',
     "TopicExpressionDialectUnknownFault"),
    (f'<op:Filter><wsnt:MessageContent xmlns:wsnt="{WSNT}">boolean(//x[</wsnt:MessageContent></op:Filter>',
     "InvalidFilterFault"),
])
async def test_bad_subscriptions_are_refused(topics: Soap, inner: str, fault: str):
    r = await events(topics, "CreatePullPointSubscription", inner)
    assert r.status_code == 400 and fault in r.text


async def test_bad_pulls_are_refused(topics: Soap):
    path = await subscribe(topics)
    r = await events(topics, "PullMessages", "<op:Timeout>PT1H</op:Timeout><op:MessageLimit>10</op:MessageLimit>",
                     path=path)
    assert r.status_code == 400 and "PullMessagesFaultResponse" in r.text and "MaxTimeout" in r.text
    r = await events(topics, "PullMessages", "<op:Timeout>soon</op:Timeout><op:MessageLimit>10</op:MessageLimit>",
                     path=path)
    assert r.status_code == 400 and "InvalidArgVal" in r.text
    r = await events(topics, "PullMessages", "<op:Timeout>PT0S</op:Timeout><op:MessageLimit>10</op:MessageLimit>",
                     path="/onvif/pullpoint/nosuchthing")
    assert r.status_code == 400 and "ResourceUnknownFault" in r.text
    r = await events(topics, "PullMessages", "<op:Timeout>PT0S</op:Timeout><op:MessageLimit>10</op:MessageLimit>",
                     path=path, as_level=None)
    assert r.status_code == 401


async def test_base_notification_delivers_notify_to_the_consumer(topics: Soap):
    from lxml import etree

    from tests.conftest import eventually
    from tests.onvif.schemas import body_of
    from tests.peers.servers import http_server

    async with http_server() as sink:
        consumer = f"http://127.0.0.1:{sink.port}/hook"
        door = (f'<op:ConsumerReference><wsa:Address xmlns:wsa="{WSA}">{consumer}</wsa:Address>'
                f'</op:ConsumerReference><op:Filter><op:TopicExpression xmlns:tnsaxis="http://www.axis.com/2009/'
                'event/topics" xmlns:tns1="http://www.onvif.org/ver10/topics" Dialect="http://www.onvif.org/ver10/'
                'tev/topicExpression/ConcreteSet">tns1:Device/tnsaxis:Test/Door</op:TopicExpression></op:Filter>'
                "<op:InitialTerminationTime>PT5M</op:InitialTerminationTime>")
        reply = assert_valid((await events(topics, "Subscribe", door, namespace=WSNT)).content)
        path = reply.findtext("wsnt:SubscriptionReference/wsa:Address", namespaces=NS).removeprefix(
            "http://127.0.0.1:80")

        def delivered() -> list[tuple]:
            out = []
            for method, target, headers, body in sink.requests:
                assert (method, target) == ("POST", "/hook") and "application/soap+xml" in headers["content-type"]
                notify = body_of(body)
                assert etree.QName(notify).localname == "Notify"
                for m in notify.iterfind("wsnt:NotificationMessage", NS):
                    message = m.find("wsnt:Message/tt:Message", NS)
                    source = {i.get("Name"): i.get("Value") for i in message.iterfind("tt:Source/tt:SimpleItem", NS)}
                    data = {i.get("Name"): i.get("Value") for i in message.iterfind("tt:Data/tt:SimpleItem", NS)}
                    out.append((m.findtext("wsnt:Topic", namespaces=NS), source["id"], data["open"],
                                message.get("PropertyOperation")))
            return out

        await eventually(lambda: len(delivered()) == 2, 10, "the initial states")
        assert sorted(delivered()) == [(DOOR, "1", "0", "Initialized"), (DOOR, "2", "0", "Initialized")]
        topics.device.events.publish(DOOR, {"id": "1"}, {"open": "1"})
        await eventually(lambda: len(delivered()) == 3, 10, "the change")
        assert delivered()[-1] == (DOOR, "1", "1", "Changed")
        r = await events(topics, "PullMessages", "<op:Timeout>PT0S</op:Timeout><op:MessageLimit>1</op:MessageLimit>",
                         path=path)
        assert r.status_code == 400 and "nothing to pull" in r.text
        assert_valid((await events(topics, "Unsubscribe", path=path, namespace=WSNT)).content)
        topics.device.events.publish(DOOR, {"id": "1"}, {"open": "0"})
        subscribed = await subscribe(topics)  # the bus goes on; a later event reaches only live subscriptions
        assert await pull(topics, subscribed, timeout="PT0S")
        assert len(delivered()) == 3
        r = await events(topics, "Subscribe", door.replace(consumer, "file:///etc/passwd"), namespace=WSNT)
        assert r.status_code == 400 and "http or https URL" in r.text
