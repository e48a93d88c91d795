"""VAPIX MQTT client API and MQTT event bridge API, in-process: shapes, defaults, validation
and error codes, persistence, audit. (No broker needed.)"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import client_as, make_device
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.mqtt.service import MQTT_SERVICE

CLIENT = "/axis-cgi/mqtt/client.cgi"
BRIDGE = "/axis-cgi/mqtt/event.cgi"

PAGE_EXAMPLE = {  # configureClient, as the VAPIX page's example sends it
    "server": {"protocol": "ssl", "host": "somebroker.somewhere.com", "port": 8883},
    "username": "user_1", "password": "password_1", "keepExistingPassword": False,
    "clientId": "unique_id_on_broker", "keepAliveInterval": 20, "connectTimeout": 30, "cleanSession": True,
    "autoReconnect": True, "deviceTopicPrefix": "some/topic/prefix",
    "lastWillTestament": {"useDefault": False, "topic": "Camera_1/ConnectionStatus", "message": "Connection Lost",
                          "retain": True, "qos": 1},
    "connectMessage": {"useDefault": False, "topic": "Camera_1/ConnectionStatus", "message": "Connected",
                       "retain": True, "qos": 1},
    "disconnectMessage": {"useDefault": False, "topic": "Camera_1/ConnectionStatus", "message": "Disconnected",
                          "retain": True, "qos": 1},
    "ssl": {"validateServerCert": True},
}


async def call(client: httpx.AsyncClient, path: str, method: str, params: dict | None = None,
               version: str | None = "1.0") -> dict[str, Any]:
    body: dict[str, Any] = {"context": "t", "method": method}
    if version is not None:
        body["apiVersion"] = version
    if params is not None:
        body["params"] = params
    r = await client.post(path, json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
    reply = r.json()
    assert reply["method"] == method and reply["context"] == "t"
    return reply


async def ok(client: httpx.AsyncClient, path: str, method: str, params: dict | None = None) -> dict[str, Any]:
    reply = await call(client, path, method, params)
    assert "error" not in reply, reply
    return reply["data"]


async def error(client: httpx.AsyncClient, path: str, method: str, params: dict | None, code: int,
                text: str = "", version: str | None = "1.0") -> None:
    reply = await call(client, path, method, params, version)
    assert reply.get("error", {}).get("code") == code, reply
    assert text in reply["error"]["message"], reply


async def test_default_status_has_what_clients_parse(admin: httpx.AsyncClient, device: Device) -> None:
    data = await ok(admin, CLIENT, "getClientStatus")
    serial = device.identity.serial
    assert data["status"]["state"] == "inactive" and data["status"]["connectionStatus"] == "disconnected"
    config = data["config"]
    assert config["server"] == {"protocol": "tcp", "host": "", "port": 1883, "basepath": "", "alpnProtocol": ""}
    assert config["deviceTopicPrefix"] == f"axis/{serial}" and config["clientId"] == serial
    assert config["keepAliveInterval"] == 60 and config["connectTimeout"] == 60
    assert config["cleanSession"] is True and config["autoReconnect"] is True and config["password"] == ""
    assert config["lastWillTestament"] == {"useDefault": True, "topic": f"axis/{serial}/event/connection",
                                           "retain": True, "qos": 1}
    assert config["ssl"]["validateServerCert"] is True


async def test_configure_like_the_page_example(admin: httpx.AsyncClient, device: Device) -> None:
    assert await ok(admin, CLIENT, "configureClient", PAGE_EXAMPLE) == {}
    data = await ok(admin, CLIENT, "getClientStatus")
    config = data["config"]
    assert config["password"] == "*****" and "password_1" not in str(data)
    for key in ("clientId", "keepAliveInterval", "connectTimeout", "cleanSession", "autoReconnect",
                "deviceTopicPrefix", "lastWillTestament", "connectMessage", "disconnectMessage", "username"):
        assert config[key] == PAGE_EXAMPLE[key], key
    assert config["server"]["host"] == "somebroker.somewhere.com" and config["server"]["port"] == 8883
    # the default port follows the protocol; a missing message object means "not sent"
    params = {"server": {"protocol": "wss", "host": "b.example"}, "clientId": "c"}
    await ok(admin, CLIENT, "configureClient", params)
    config = (await ok(admin, CLIENT, "getClientStatus"))["config"]
    assert config["server"]["port"] == 443 and "lastWillTestament" not in config and config["password"] == ""
    audit = [e.message for e in device.logs.entries("audit")]
    assert any("user=root configured the MQTT client: ssl://somebroker.somewhere.com:8883" in m for m in audit)


@pytest.mark.parametrize(("params", "code", "text"), [
    ({}, 2103, "server"),
    ({"server": "b"}, 2103, "server"),
    ({"server": {"protocol": "tcp"}}, 2103, "server.host"),
    ({"server": {"protocol": "udp", "host": "b"}}, 2104, "protocol"),
    ({"server": {"host": "b", "port": 0}}, 2104, "port"),
    ({"server": {"host": "b", "port": "1883"}}, 2103, "port"),
    ({"server": {"host": "mqtt://b:1883"}}, 2104, "not a URL"),
    ({"server": {"host": "b"}, "keepAliveInterval": True}, 2103, "keepAliveInterval"),
    ({"server": {"host": "b"}, "connectTimeout": 0}, 2104, "connectTimeout"),
    ({"server": {"host": "b"}, "lastWillTestament": {"useDefault": False, "message": "x"}}, 2103, "topic"),
    ({"server": {"host": "b"}, "connectMessage": {"useDefault": False, "topic": "a/+", "message": "x"}}, 2104,
     "wildcards"),
    ({"server": {"host": "b"}, "connectMessage": {"useDefault": False, "topic": "a", "message": "x", "qos": 5}},
     2104, "qos"),
    ({"server": {"host": "b"}, "disconnectMessage": {"useDefault": False, "topic": "a", "message": "x" * 9000}},
     2104, "longer"),
    ({"server": {"host": "b"}, "deviceTopicPrefix": "a/#"}, 2104, "deviceTopicPrefix"),
    ({"server": {"host": "b"}, "httpProxy": "ftp://x"}, 2104, "httpProxy"),
    ({"server": {"host": "b"}, "httpProxy": "http://[x"}, 2104, "httpProxy"),
    ({"server": {"protocol": "ssl", "host": "b"}, "ssl": {"validateServerCert": True, "CACertID": "/etc/shadow"}},
     2104, "no CA certificate '/etc/shadow' in the keystore"),
    ({"server": {"protocol": "ssl", "host": "b"}, "ssl": {"clientCertID": "/etc/nonexistent-file"}},
     2104, "no client/server certificate '/etc/nonexistent-file' in the keystore"),
    ({"server": {"host": "b", "alpnProtocol": "x" * 256}}, 2104, "alpnProtocol"),
    ({"server": {"host": "b"}, "clientId": "", "cleanSession": False}, 2104, "clientId"),
    ({"server": {"protocol": "ssl", "host": "b"}, "ssl": {"validateServerCert": True, "CACertID": "nope"}}, 2104,
     "CACertID"),
])
async def test_configure_client_errors(admin: httpx.AsyncClient, params: dict, code: int, text: str) -> None:
    await error(admin, CLIENT, "configureClient", params, code, text)


@pytest.mark.parametrize("params, text", [
    ('{"server": {"host": "b", "port": NaN}}', "'server.port' must be an integer"),
    ('{"server": {"host": "b"}, "keepAliveInterval": Infinity}', "'keepAliveInterval' must be an integer"),
    ('{"server": {"host": "b"}, "connectTimeout": 1e999}', "'connectTimeout' must be an integer"),
])
async def test_non_finite_numbers_are_refused(admin: httpx.AsyncClient, device: Device, params: str,
                                              text: str) -> None:
    body = f'{{"apiVersion": "1.0", "method": "configureClient", "params": {params}}}'
    reply = (await admin.post(CLIENT, content=body, headers={"Content-Type": "application/json"})).json()
    assert reply["error"]["code"] == 2103 and text in reply["error"]["message"], reply
    assert device.features[MQTT_SERVICE].config["server"]["host"] == ""  # nothing stored


async def test_protocol_errors(admin: httpx.AsyncClient) -> None:
    await error(admin, CLIENT, "getClientStatus", None, 2100, version="2.0")
    await error(admin, CLIENT, "noSuchMethod", None, 2102)
    await error(admin, CLIENT, "getClientStatus", None, 2103, version=None)
    r = await admin.post(CLIENT, content=b"{not json")
    assert r.json()["error"]["code"] == 2101
    r = await admin.post(CLIENT, json={"method": "getSupportedVersions"})
    assert r.json()["data"] == {"apiVersions": ["1.0"]}
    r = await admin.post(BRIDGE, json={"method": "getSupportedVersions"})
    assert r.json()["data"] == {"apiVersions": ["1.2"]}
    r = await admin.post(BRIDGE, json={"apiVersion": "1.1", "method": "getMqttSubscriptionConfig"})
    assert "data" in r.json()


async def test_password_kept_replaced_or_erased(admin: httpx.AsyncClient, device: Device) -> None:
    service = device.features[MQTT_SERVICE]
    await ok(admin, CLIENT, "configureClient", {"server": {"host": "b"}, "username": "u", "password": "p1"})
    assert service._password == "p1"
    await ok(admin, CLIENT, "configureClient", {"server": {"host": "b"}, "username": "u", "password": "ignored",
                                                "keepExistingPassword": True})
    assert service._password == "p1"
    await ok(admin, CLIENT, "configureClient", {"server": {"host": "b"}, "username": "u"})
    assert service._password == "" and not service.has_password


async def test_activation_persists_across_restart(tmp_path, clock: FakeClock) -> None:
    device = make_device(tmp_path, clock)
    try:
        async with client_as(device, "admin") as admin:
            await error(admin, CLIENT, "activateClient", {}, 2104, "configureClient")
            await ok(admin, CLIENT, "configureClient", {"server": {"host": "broker.example"}, "username": "u",
                                                        "password": "secret-1"})
            await ok(admin, CLIENT, "activateClient", {})
            await ok(admin, BRIDGE, "configureEventPublication", {"eventFilterList": [{"topicFilter": "//."}]})
            await ok(admin, BRIDGE, "configureMqttSubscription",
                     {"mqttFilterList": [{"topicFilter": "a/b", "isStateData": True}]})
    finally:
        device.close()
    again = build_device("s3016", tmp_path / "data", clock=clock)
    try:
        service = again.features[MQTT_SERVICE]
        assert service.active and service.config["server"]["host"] == "broker.example"
        assert service._password == "secret-1"
        assert service.publication["eventFilterList"] == [{"topicFilter": "//.", "qos": 0, "retain": "none"}]
        assert again.events.state("tnsaxis:MQTT/Message/Stateful", {"mqtt-topic": "a/b", "device-prefix": "0"}) \
            == {"mqtt-payload": ""}
        assert again.events.state("tns1:Device/tnsaxis:MQTT/ClientStatus", {}) == {"connected": "0", "active": "1"}
        async with client_as(again, "admin") as admin:
            assert (await ok(admin, CLIENT, "getClientStatus"))["status"]["state"] == "active"
            await ok(admin, CLIENT, "deactivateClient", {})
        assert not service.active
        audit = [e.message for e in again.logs.entries("audit")]
        assert any("activated the MQTT client" in m for m in audit)
        assert any("deactivated the MQTT client" in m for m in audit)
    finally:
        again.close()


async def test_event_publication_config(admin: httpx.AsyncClient) -> None:
    data = await ok(admin, BRIDGE, "getEventPublicationConfig")
    assert data == {"eventPublicationConfig": {
        "topicPrefix": "default", "customTopicPrefix": "", "appendEventTopic": True, "includeTopicNamespaces": True,
        "includeSerialNumberInPayload": False, "eventFilterList": []}}
    params = {"eventFilterList": [{"topicFilter": "onvif:PTZController/axis:PTZReady"},
                                  {"topicFilter": "onvif:Device/axis:IO/VirtualInput", "qos": 2, "retain": "all"},
                                  {"topicFilter": "onvif:Device/axis:Status//."}],
              "topicPrefix": "custom", "customTopicPrefix": "site/a", "includeSerialNumberInPayload": True}
    await ok(admin, BRIDGE, "configureEventPublication", params)
    config = (await ok(admin, BRIDGE, "getEventPublicationConfig"))["eventPublicationConfig"]
    assert list(config) == ["topicPrefix", "customTopicPrefix", "appendEventTopic", "includeTopicNamespaces",
                            "includeSerialNumberInPayload", "eventFilterList"]
    assert config["eventFilterList"][0] == {"topicFilter": "onvif:PTZController/axis:PTZReady", "qos": 0,
                                            "retain": "none"}
    assert config["eventFilterList"][1]["retain"] == "all" and config["customTopicPrefix"] == "site/a"


@pytest.mark.parametrize(("params", "code", "text"), [
    ({}, 2103, "eventFilterList"),
    ({"eventFilterList": [{"topicFilter": "onvif:Device/axis:IO/"}]}, 2104, "not a valid event topic filter"),
    ({"eventFilterList": [{"topicFilter": "foo:Device/Bar"}]}, 2104, "unknown namespace prefix"),
    ({"eventFilterList": [{"topicFilter": ""}]}, 2104, "empty"),
    ({"eventFilterList": [{"topicFilter": "//.", "retain": "sometimes"}]}, 2104, "retain"),
    ({"eventFilterList": [{"topicFilter": "//.", "qos": 3}]}, 2104, "qos"),
    ({"eventFilterList": ["//."]}, 2103, "eventFilterList[0]"),
    ({"eventFilterList": [], "topicPrefix": "custom"}, 2103, "customTopicPrefix"),
    ({"eventFilterList": [], "topicPrefix": "mine"}, 2104, "topicPrefix"),
    ({"eventFilterList": [{"topicFilter": "//."}] * 101}, 2104, "At most 100"),
])
async def test_event_publication_errors(admin: httpx.AsyncClient, params: dict, code: int, text: str) -> None:
    await error(admin, BRIDGE, "configureEventPublication", params, code, text)


async def test_subscription_config(admin: httpx.AsyncClient, device: Device) -> None:
    assert await ok(admin, BRIDGE, "getMqttSubscriptionConfig") == {"mqttSubscriptionConfig": {"mqttFilterList": []}}
    filters = [{"topicFilter": "building/A/door/10/opened", "qos": 1, "isStateData": False},
               {"topicFilter": "building/A/window/10/state", "qos": 0, "isStateData": True},
               {"topicFilter": "building/+/window/#", "qos": 1, "isStateData": False, "useDeviceTopicPrefix": True}]
    await ok(admin, BRIDGE, "configureMqttSubscription", {"mqttFilterList": filters})
    got = (await ok(admin, BRIDGE, "getMqttSubscriptionConfig"))["mqttSubscriptionConfig"]["mqttFilterList"]
    assert got[0] == {"topicFilter": "building/A/door/10/opened", "useDeviceTopicPrefix": False, "qos": 1,
                      "isStateData": False}
    assert got[2]["useDeviceTopicPrefix"] is True
    stateful = device.events.topic("tnsaxis:MQTT/Message/Stateful")
    assert stateful and stateful.stateful and stateful.source[0].values == ("building/A/window/10/state",)
    assert [i.name for i in stateful.source] == ["mqtt-topic", "device-prefix"]
    assert stateful.data[0].name == "mqtt-payload" and stateful.data[0].state
    assert any("configured MQTT subscriptions" in e.message for e in device.logs.entries("audit"))


@pytest.mark.parametrize(("filters", "code", "text"), [
    ([{"topicFilter": "a/#/b"}], 2104, "# must be the whole last level"),
    ([{"topicFilter": "a+"}], 2104, "+ must be a whole level"),
    ([{"topicFilter": "a/+", "isStateData": True}], 2104, "only allowed for stateless"),
    ([{"topicFilter": "#", "isStateData": True}], 2104, "only allowed for stateless"),
    ([{"topicFilter": ""}], 2104, "empty"),
    ([{"topicFilter": "x" * 1025}], 2104, "longer than 1024"),
    ([{"topicFilter": "a"}, {"topicFilter": "a"}], 2104, "twice"),
    ([{"topicFilter": "a", "qos": -1}], 2104, "qos"),
    ([{"topicFilter": 5}], 2103, "topicFilter"),
    ([{"topicFilter": f"t/{n}"} for n in range(101)], 2104, "At most 100"),
])
async def test_subscription_errors(admin: httpx.AsyncClient, filters: list, code: int, text: str) -> None:
    await error(admin, BRIDGE, "configureMqttSubscription", {"mqttFilterList": filters}, code, text)


async def test_request_too_large(admin: httpx.AsyncClient) -> None:
    params = {"mqttFilterList": [{"topicFilter": "x" * 1000 + str(n)} for n in range(140)]}
    await error(admin, BRIDGE, "configureMqttSubscription", params, 2106, "too large")


async def test_discovery_and_roles(admin: httpx.AsyncClient, device: Device) -> None:
    r = await admin.post("/axis-cgi/apidiscovery.cgi", json={"apiVersion": "1.0", "method": "getApiList"})
    apis = {a["id"]: a["version"] for a in r.json()["data"]["apiList"]}
    assert apis["mqtt-client"] == "1.0" and apis["event-mqtt-bridge"] == "1.2"
    async with client_as(device, "operator") as operator:
        r = await operator.post(CLIENT, json={"apiVersion": "1.0", "method": "getClientStatus"})
        assert r.status_code == 403
        r = await operator.post(BRIDGE, json={"apiVersion": "1.0", "method": "getEventPublicationConfig"})
        assert r.status_code == 403
