"""Profile M's event broker: AddEventBroker (a raw SOAP call: onvif-zeep-async's events WSDL has
no broker operations) makes the MQTT client publish to a real mosquitto in Profile M's form, the
client's configuration is what the VAPIX MQTT API shows (password sealed), GetEventBrokers shows
the connection, DeleteEventBroker stops it; bad brokers and filters are SOAP faults. Replies are
validated against the newest events WSDL (wsdl/specs/ver10/events)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import ADMIN, asgi_client, eventually
from tests.onvif.conftest import Soap, add_onvif_accounts
from tests.onvif.schemas import assert_valid, events_schema
from tests.peers.mosquitto import PASSWORD, USER, Broker, needs_mosquitto, peer
from vigil.device import Device
from vigil.features.mqtt.const import KV_PASSWORD
from vigil.features.mqtt.service import MQTT_SERVICE
from vigil.features.onvif.const import CONCRETE_SET, EVENTS_PATH, TEV, WSNT
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE

NS = {"tev": TEV, "wsnt": WSNT}
VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"


@pytest.fixture
async def onvif_w401(w401: Device) -> AsyncIterator[Soap]:
    """The W401 with ONVIF accounts and its MQTT client running (reconnecting quickly)."""
    add_onvif_accounts(w401)
    service = w401.features[MQTT_SERVICE]
    service.backoff_min = 0.2
    task = asyncio.create_task(service.run())
    async with asgi_client(w401) as client:
        yield Soap(client, w401)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def events(soap: Soap, op: str, inner: str = "", as_level: str | None = "Administrator"):
    return await soap(op, inner, TEV, as_level=as_level, path=EVENTS_PATH)


def broker_config(address: str, prefix: str = "site/w401", topics: str = "tns1:Device/tnsaxis:IO/VirtualInput",
                  extra: str = "", qos: str = "1") -> str:
    return (f"<op:EventBroker><op:Address>{address}</op:Address><op:TopicPrefix>{prefix}</op:TopicPrefix>"
            f"<op:UserName>{USER}</op:UserName><op:Password>{PASSWORD}</op:Password>"
            f'<op:PublishFilter><wsnt:TopicExpression xmlns:wsnt="{WSNT}" xmlns:tns1="http://www.onvif.org/ver10/topics"'
            f' xmlns:tnsaxis="http://www.axis.com/2009/event/topics" Dialect="{CONCRETE_SET}">{topics}'
            f"</wsnt:TopicExpression></op:PublishFilter><op:QoS>{qos}</op:QoS>{extra}</op:EventBroker>")


@needs_mosquitto
async def test_add_event_broker_publishes_events_to_mosquitto_until_deleted(onvif_w401: Soap, broker: Broker):
    device = onvif_w401.device
    mqtt = device.features[MQTT_SERVICE]
    address = f"mqtt://127.0.0.1:{broker.tcp}"
    io = device.features[VIRTUAL_INPUTS_SERVICE]
    async with peer(broker, "site/w401/onvif-ej/#") as watcher:
        assert_valid((await events(onvif_w401, "AddEventBroker", broker_config(address))).content)
        await eventually(lambda: mqtt.connection == "connected", 10, "the MQTT client to connect")
        listed = assert_valid((await events(onvif_w401, "GetEventBrokers", as_level="User")).content)
        shown = listed.find("tev:EventBroker", NS)
        assert (shown.findtext("tev:Address", namespaces=NS), shown.findtext("tev:TopicPrefix", namespaces=NS),
                shown.findtext("tev:Status", namespaces=NS), shown.findtext("tev:QoS", namespaces=NS),
                shown.findtext("tev:PublishFilter/wsnt:TopicExpression", namespaces=NS)) == \
            (address, "site/w401", "Connected", "1", VIRTUAL)
        assert shown.find("tev:Password", NS) is None
        topic = "site/w401/onvif-ej/Device/tnsaxis:IO/VirtualInput/&3"
        first = await watcher.next(topic)  # the current state, published on connecting
        assert json.loads(first.payload)["Data"] == {"active": "0"}
        io.set_virtual(3, True, "test")
        message = await watcher.next(topic, where=lambda m: json.loads(m.payload)["Data"] == {"active": "1"})
        body = json.loads(message.payload)
        assert set(body) == {"UtcTime", "Source", "Data"} and body["Source"] == {"port": "3"}
        assert body["UtcTime"].endswith("Z") and "PropertyOperation" not in message.payload.decode()
        async with peer(broker, topic, name="late") as late:  # a property is retained for who comes later
            retained = await late.next(topic)
            assert retained.retain and json.loads(retained.payload)["Data"] == {"active": "1"}
        # The broker is the MQTT client's: the VAPIX MQTT API shows it, the password sealed.
        async with asgi_client(device, httpx.DigestAuth(*ADMIN)) as vapix:
            status = (await vapix.post("/axis-cgi/mqtt/client.cgi", json={"apiVersion": "1.0",
                                                                         "method": "getClientStatus"})).json()
        assert status["data"]["config"]["server"] == {"protocol": "tcp", "host": "127.0.0.1", "port": broker.tcp,
                                                      "basepath": "", "alpnProtocol": ""}
        assert (status["data"]["config"]["username"], status["data"]["config"]["password"],
                status["data"]["status"]["state"]) == (USER, "*****", "active")
        assert PASSWORD.encode().hex() not in (device.store.get_kv(KV_PASSWORD) or "") and \
            PASSWORD not in (device.store.get_kv(KV_PASSWORD) or "")
        assert "set the ONVIF event broker publication" in device.logs.text("audit")
        r = await events(onvif_w401, "DeleteEventBroker", f"<op:Address>{address}</op:Address>", as_level="Operator")
        assert r.status_code == 400 and "NotAuthorized" in r.text  # WRITE_SYSTEM
        assert_valid((await events(onvif_w401, "DeleteEventBroker", f"<op:Address>{address}</op:Address>")).content)
        await eventually(lambda: mqtt.connection == "disconnected", 10, "the MQTT client to stop")
        assert not mqtt.active
        watcher.clear()
        io.set_virtual(3, False, "test")
        with pytest.raises(TimeoutError):
            await watcher.next(topic, timeout=0.5)
    listed = assert_valid((await events(onvif_w401, "GetEventBrokers")).content)
    assert len(listed) == 0


async def test_capabilities_and_bad_brokers(onvif_w401: Soap):
    caps = (await events(onvif_w401, "GetServiceCapabilities", as_level=None)).content
    element = assert_valid(caps)
    events_schema().validate(element)
    assert (element.find("tev:Capabilities", NS).get("MaxEventBrokers"),
            element.find("tev:Capabilities", NS).get("EventBrokerProtocols")) == ("1", "mqtt mqtts ws wss")
    for inner, subcode in (
        (broker_config("amqp://127.0.0.1:5672"), "InvalidProtocol"),
        (broker_config("mqtt://:1883"), "InvalidAddress"),
        (broker_config("mqtt://127.0.0.1:99999"), "InvalidAddress"),
        (broker_config("mqtt://127.0.0.1:1883", prefix=""), "InvalidArgVal"),
        (broker_config("mqtt://127.0.0.1:1883", prefix="a/#"), "InvalidArgVal"),
        (broker_config("mqtt://127.0.0.1:1883", qos="3"), "InvalidArgVal"),
        (broker_config("mqtt://127.0.0.1:1883", topics="tns1:Device[").replace(CONCRETE_SET, "urn:x"), "InvalidFilter"),
        (broker_config("mqtt://127.0.0.1:1883", extra='<op:MetadataFilter><wsnt:TopicExpression xmlns:wsnt="'
                       f'{WSNT}">tns1:VideoAnalytics//.</wsnt:TopicExpression></op:MetadataFilter>'), "InvalidFilter"),
    ):
        r = await events(onvif_w401, "AddEventBroker", inner)
        assert r.status_code == 400 and subcode in r.text, (inner, r.text)
    r = await events(onvif_w401, "AddEventBroker", broker_config("mqtt://127.0.0.1:1883"), as_level="Operator")
    assert r.status_code == 400 and "NotAuthorized" in r.text
    mqtt = onvif_w401.device.features[MQTT_SERVICE]
    assert mqtt.broker is None and not mqtt.active and mqtt.config["server"]["host"] == ""  # nothing changed
    r = await events(onvif_w401, "GetEventBrokers", "<op:Address>mqtt://127.0.0.1:1883</op:Address>")
    assert r.status_code == 400 and "InvalidAddress" in r.text
    r = await events(onvif_w401, "DeleteEventBroker", "<op:Address>mqtt://127.0.0.1:1883</op:Address>")
    assert r.status_code == 400 and "InvalidAddress" in r.text
    # The MQTT page's client, active for another broker, is the one broker there is room for.
    client = {**mqtt.config, "server": {**mqtt.config["server"], "host": "192.0.2.7"}}
    mqtt.configure_client(client, "other-secret", "test")
    mqtt.set_active(True, "test")
    r = await events(onvif_w401, "AddEventBroker", broker_config("mqtts://127.0.0.1:8883"))
    assert r.status_code == 500 and "TooManyEventBrokers" in r.text
    assert mqtt.config["server"]["host"] == "192.0.2.7"
    mqtt.set_active(False, "test")  # now there is room; the other broker's password does not go along
    no_password = broker_config("mqtt://127.0.0.1:1883").replace(f"<op:Password>{PASSWORD}</op:Password>", "")
    assert_valid((await events(onvif_w401, "AddEventBroker", no_password)).content)
    assert (mqtt.config["server"]["host"], mqtt.active, mqtt.has_password) == ("127.0.0.1", True, False)
