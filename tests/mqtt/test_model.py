"""MQTT model: topic and filter rules, event <-> message translation, announcements, TLS setup
and failure reasons. Pure functions, no broker."""

from __future__ import annotations

import json
import re
import ssl
from pathlib import Path

import pytest

from tests.peers.certs import ca_signed
from vigil.core.events import Event
from vigil.features.certificates.service import KEYSTORE
from vigil.features.mqtt import model
from vigil.features.mqtt.transport import (
    ConnectFailure,
    classify,
    proxy_for,
    resolve_certificate,
    tls_context,
)
from vigil.http.vapix import ConfigCodes


@pytest.mark.parametrize(("topic_filter", "topic", "expected"), [
    ("a/b", "a/b", True), ("a/b", "a/c", False), ("a/+", "a/b", True), ("a/+", "a/b/c", False),
    ("a/#", "a", True), ("a/#", "a/b/c", True), ("#", "x/y", True), ("+/+", "a/b", True),
    ("+", "$SYS", False), ("#", "$SYS/x", False), ("$SYS/#", "$SYS/x", True), ("a/+/c", "a//c", True),
])
def test_mqtt_filter_matching(topic_filter: str, topic: str, expected: bool) -> None:
    assert model.matches(topic_filter, topic) is expected


def test_filter_and_topic_validation() -> None:
    for good in ("a", "a/b", "+", "#", "a/+/c", "a/#", "/a", "$SYS/#"):
        assert model.check_filter(good, "f") == good
    for bad in ("", "a#", "a/#/b", "a+", "+a/b", "a/b+", "a\x00"):
        with pytest.raises(model.ConfigError) as err:
            model.check_filter(bad, "f")
        assert err.value.code == ConfigCodes.INVALID
    with pytest.raises(model.ConfigError, match="stateless"):
        model.check_filter("a/+", "f", stateful=True)
    with pytest.raises(model.ConfigError, match="wildcards"):
        model.check_topic("a/+/b", "t")
    with pytest.raises(model.ConfigError, match="1024"):
        model.check_topic("é" * 513, "t")  # 1026 bytes


@pytest.mark.parametrize("expression", ["//.", "onvif:Device/axis:IO/Port", "onvif:Device/axis:Status//.",
                                        "axis:CameraApplicationPlatform/VMD/Camera1ProfileANY",
                                        "onvif:RuleEngine/MotionRegionDetector/Motion",
                                        "tns1:Device/tnsaxis:IO/Port|tnsaxis:Storage/Disruption"])
def test_event_filters_accepted(expression: str) -> None:
    assert model.check_event_filter(expression, "f") == expression


@pytest.mark.parametrize("expression", ["", "onvif:Device/", "onvif:Device//axis:IO", "x:Device/Port",
                                        "onvif:Dev ice", "onvif:Device/axis:IO/Port|", "a/b/c*"])
def test_event_filters_refused(expression: str) -> None:
    with pytest.raises(model.ConfigError):
        model.check_event_filter(expression, "f")


def test_compiled_event_filters() -> None:
    spec = {"qos": 0, "retain": "none"}
    subtree = model.PublicationFilter.compile({**spec, "topicFilter": "onvif:Device/axis:IO//."})
    assert subtree.matches("tns1:Device/tnsaxis:IO/Port") and subtree.matches("tns1:Device/tnsaxis:IO")
    assert not subtree.matches("tns1:Device/tnsaxis:IOX") and not subtree.matches("tns1:Device/Trigger/Relay")
    exact = model.PublicationFilter.compile({**spec, "topicFilter": "onvif:Device/axis:IO/axis:Port"})
    assert exact.matches("tns1:Device/tnsaxis:IO/Port") and not exact.matches("tns1:Device/tnsaxis:IO/Port/X")
    assert model.PublicationFilter.compile({**spec, "topicFilter": "//."}).matches("tnsaxis:Storage/Disruption")


def test_event_topic_and_payload() -> None:
    event = Event("tns1:Device/tnsaxis:IO/Port", {"port": "1"}, {"state": "1"}, 1_700_000_000.1234, "Changed")
    pub = model.default_publication()
    assert model.event_topic(pub, "axis/SERIAL", event.topic) == "axis/SERIAL/event/onvif:Device/axis:IO/Port"
    assert model.event_topic({**pub, "includeTopicNamespaces": False}, "p", event.topic) == "p/event/Device/IO/Port"
    custom = {**pub, "topicPrefix": "custom", "customTopicPrefix": "site/x/"}
    assert model.event_topic(custom, "p", event.topic) == "site/x/onvif:Device/axis:IO/Port"
    assert model.event_topic({**custom, "appendEventTopic": False}, "p", event.topic) == "site/x/"
    body = json.loads(model.event_payload(event, None))
    assert body == {"topic": "onvif:Device/axis:IO/Port", "timestamp": 1700000000123,
                    "message": {"source": {"port": "1"}, "key": {}, "data": {"state": "1"}}}
    assert json.loads(model.event_payload(event, "ABC"))["serial"] == "ABC"
    # what the `axis` library does with it (axis/interfaces/mqtt.py mqtt_json_to_event)
    topic = body["topic"].replace("onvif", "tns1").replace("axis", "tnsaxis")
    assert topic == "tns1:Device/tnsaxis:IO/Port"
    stateless = Event("tnsaxis:Storage/Disruption", {}, {}, 0.0)
    assert [model.retained(p, event) for p in model.RETAIN_POLICIES] == [False, True, True]
    assert [model.retained(p, stateless) for p in model.RETAIN_POLICIES] == [False, False, True]


def test_announcements() -> None:
    config = model.default_client("SER1")
    topic, payload, qos, retain = model.announcement(config, "lastWillTestament", "SER1", None)
    assert topic == "axis/SER1/event/connection" and qos == 1 and retain
    assert json.loads(payload) == {"serialNumber": "SER1", "connected": False, "description": "Connection Lost",
                                   "timestamp": None}
    _, payload, _, _ = model.announcement(config, "connectMessage", "SER1", 1_599_217_375.0)
    assert json.loads(payload)["timestamp"] == "2020-09-04T11:02:55Z"
    config["disconnectMessage"] = None
    assert model.announcement(config, "disconnectMessage", "SER1", 0.0) is None
    shown = model.shown_client(config, True)
    assert shown["password"] == "*****" and "disconnectMessage" not in shown


def test_client_defaults_from_minimal_params() -> None:
    config = model.parse_client({"server": {"host": "b", "protocol": "ws"}}, "SER")
    assert config["server"] == {"protocol": "ws", "host": "b", "port": 80, "basepath": "", "alpnProtocol": ""}
    assert config["clientId"] == "SER" and config["deviceTopicPrefix"] == "axis/SER"
    assert config["lastWillTestament"] is None and config["ssl"]["validateServerCert"] is True
    assert model.parse_password({"password": "x"}) == ("x", False)
    assert model.parse_password({"password": "x", "keepExistingPassword": True}) == (None, True)


def test_tls_context_and_certificates(device) -> None:
    keystore = device.features[KEYSTORE]
    with pytest.raises(ConnectFailure, match="not in the keystore|no CA certificate"):
        resolve_certificate("missing", keystore)
    insecure = tls_context({"validateServerCert": False}, "mqtt", keystore)
    assert insecure.verify_mode == ssl.CERT_NONE and not insecure.check_hostname
    secure = tls_context({"validateServerCert": True}, "", keystore)
    assert secure.verify_mode == ssl.CERT_REQUIRED and secure.check_hostname
    with pytest.raises(ConnectFailure, match="no CA certificate 'junk'"):
        tls_context({"validateServerCert": True, "CACertID": "junk"}, "", keystore)
    with pytest.raises(ConnectFailure, match="no client/server certificate 'nokey'"):
        tls_context({"validateServerCert": False, "clientCertID": "nokey"}, "", keystore)


def test_certificate_ids_name_entries_of_the_keystore_only(device, tmp_path: Path) -> None:
    """An id is never a path (probe: ssl.CACertID=/etc/shadow was loaded); every refusal reads the
    same as a missing certificate, so none tells whether a file exists elsewhere."""
    keystore = device.features[KEYSTORE]
    certs = ca_signed(tmp_path / "certs")
    keystore.add_ca("ca", certs.ca.read_bytes(), "test")
    assert resolve_certificate("ca", keystore).read_bytes() == certs.ca.read_bytes()
    outside = tmp_path / "secret.pem"
    outside.write_text("secret")
    messages = set()
    for ident in (str(outside), str(tmp_path / "nothing.pem"), "/etc/shadow", "/etc/nonexistent-file",
                  "../secret", "..", ".hidden", "sub/ca", "link", "missing"):
        with pytest.raises(ConnectFailure, match="no CA certificate .* in the keystore") as refused:
            resolve_certificate(ident, keystore)
        assert refused.value.reason == "config"
        messages.add(re.sub(r"'.*'", "<id>", refused.value.message))
    assert len(messages) == 1, messages


def test_proxy_choice_and_failure_reasons() -> None:
    config = {"server": {"protocol": "wss"}, "httpProxy": "http://a:1", "httpsProxy": "http://b:2"}
    assert proxy_for(config) == "http://b:2"
    assert proxy_for({**config, "server": {"protocol": "tcp"}}) == "http://a:1"
    assert classify(OSError("[Errno 111] Connection refused"), "h", 1).reason == "refused"
    assert classify(OSError("[Errno -2] Name or service not known"), "h", 1).reason == "dns"
    assert classify(OSError("[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed"), "h", 1).reason == "tls"
    assert classify(TimeoutError(), "h", 1).reason == "timeout"
    assert classify(OSError("proxy refused CONNECT"), "h", 1).reason == "proxy"


def test_profile_m_topic_and_payload():
    """ONVIF Core's own example: TopicPrefix/onvif-ej/<topic without tns1:>/&<source values>."""
    crossed = Event("tns1:RuleEngine/LineDetector/Crossed",
                    {"Rule": "MyImportantFence1", "VideoSource": "1", "AnalyticsConfiguration": "2"},
                    {"ObjectId": "15"}, 1223641497.321)
    order = ("VideoSource", "AnalyticsConfiguration", "Rule")  # as GetEventProperties lists them
    assert model.onvif_topic("MyDevice", crossed, order) == \
        "MyDevice/onvif-ej/RuleEngine/LineDetector/Crossed/&1/2/MyImportantFence1"
    assert json.loads(model.onvif_payload(crossed)) == {
        "UtcTime": "2008-10-10T12:24:57.321Z",
        "Source": {"Rule": "MyImportantFence1", "VideoSource": "1", "AnalyticsConfiguration": "2"},
        "Data": {"ObjectId": "15"}}
    port = Event("tns1:Device/tnsaxis:IO/Port", {"port": "a+b#"}, {"state": "1"}, 0.0, "Deleted")
    assert model.onvif_topic("site/", port) == "site/onvif-ej/Device/tnsaxis:IO/Port/&ab"  # no wildcards
    assert model.onvif_payload(port) == b""  # a deleted property clears the retained message
    stateless = Event("tns1:Device/Trigger/Pulse", {}, {"n": "1"}, 0.0)
    assert model.onvif_topic("p", stateless) == "p/onvif-ej/Device/Trigger/Pulse"
