"""The MQTT settings as the VAPIX MQTT client API and MQTT event bridge API spell them:
validation, defaults, and the translation between bus events and MQTT messages.

Everything here is pure (no I/O), so the HTTP API, the service and the tests share it.
Validation raises `ConfigError` with the API's own error code: 2103 for a missing or
mistyped parameter, 2104 for a value out of range, 2106 for a request too large.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vigil.core.events import Event, from_short, normalize, to_short
from vigil.features.mqtt.const import (
    MAX_CERT_ID,
    MAX_FILTERS,
    MAX_NAME,
    MAX_PAYLOAD,
    MAX_REQUEST,
    MAX_TOPIC,
    PROTOCOLS,
    RETAIN_POLICIES,
)
from vigil.http.vapix import ConfigCodes

NAMESPACE_PREFIXES = {"onvif", "axis", "tns1", "tnsaxis"}
_SEGMENT = re.compile(r"^[A-Za-z0-9_.\-]+$")


class ConfigError(ValueError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


# -- typed access to JSON params ---------------------------------------------------------
def _get(obj: Mapping[str, Any], key: str, kind: type | tuple[type, ...], where: str, default: Any = ...) -> Any:
    value = obj.get(key, default)
    if value is ...:
        raise ConfigError(ConfigCodes.MISSING, f"Required parameter '{where}{key}' missing")
    if value is default:
        return value
    bad_bool = kind is int and isinstance(value, bool)
    if bad_bool or not isinstance(value, kind):
        names = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "a list"}
        wanted = names.get(kind, "of another type") if isinstance(kind, type) else "of another type"
        raise ConfigError(ConfigCodes.MISSING, f"Parameter '{where}{key}' must be {wanted}")
    return value


def _text(obj: Mapping[str, Any], key: str, where: str, default: Any = ..., limit: int = MAX_NAME) -> Any:
    value = _get(obj, key, str, where, default)
    if isinstance(value, str):
        if len(value.encode()) > limit:
            raise ConfigError(ConfigCodes.INVALID, f"Parameter '{where}{key}' is longer than {limit} bytes")
        if "\x00" in value:
            raise ConfigError(ConfigCodes.INVALID, f"Parameter '{where}{key}' contains a NUL character")
    return value


def _qos(obj: Mapping[str, Any], key: str, where: str, default: Any = ...) -> Any:
    value = _get(obj, key, int, where, default)
    if isinstance(value, int) and value not in (0, 1, 2):
        raise ConfigError(ConfigCodes.INVALID, f"Parameter '{where}{key}' must be 0, 1 or 2")
    return value


def _int(obj: Mapping[str, Any], key: str, where: str, default: int, low: int, high: int) -> int:
    value = _get(obj, key, int, where, default)
    if not low <= value <= high:
        raise ConfigError(ConfigCodes.INVALID, f"Parameter '{where}{key}' must be {low} to {high}")
    return value


def check_request_size(params: Mapping[str, Any]) -> None:
    if len(json.dumps(params)) > MAX_REQUEST:
        raise ConfigError(ConfigCodes.TOO_LARGE,
                          f"Request size too large (at most {MAX_REQUEST // 1024} KiB of parameters)")


# -- MQTT topics ---------------------------------------------------------------------------
def check_topic(topic: str, what: str) -> str:
    """A topic to publish to: 1 to 1024 bytes, no wildcards."""
    if not topic:
        raise ConfigError(ConfigCodes.INVALID, f"{what} must not be empty")
    if len(topic.encode()) > MAX_TOPIC:
        raise ConfigError(ConfigCodes.INVALID, f"{what} is longer than {MAX_TOPIC} bytes")
    if "+" in topic or "#" in topic:
        raise ConfigError(ConfigCodes.INVALID, f"{what} {topic!r} must not contain the wildcards + or #")
    if "\x00" in topic:
        raise ConfigError(ConfigCodes.INVALID, f"{what} contains a NUL character")
    return topic


def check_filter(topic_filter: str, what: str, stateful: bool = False) -> str:
    """An MQTT subscription filter: `+` takes a whole level, `#` only the whole last level."""
    if not topic_filter:
        raise ConfigError(ConfigCodes.INVALID, f"{what} must not be empty")
    if len(topic_filter.encode()) > MAX_TOPIC:
        raise ConfigError(ConfigCodes.INVALID, f"{what} is longer than {MAX_TOPIC} bytes")
    if "\x00" in topic_filter:
        raise ConfigError(ConfigCodes.INVALID, f"{what} contains a NUL character")
    levels = topic_filter.split("/")
    for n, level in enumerate(levels):
        if "#" in level and (level != "#" or n != len(levels) - 1):
            raise ConfigError(ConfigCodes.INVALID,
                              f"{what} {topic_filter!r} is not a valid MQTT topic filter: "
                                       "# must be the whole last level")
        if "+" in level and level != "+":
            raise ConfigError(ConfigCodes.INVALID,
                              f"{what} {topic_filter!r} is not a valid MQTT topic filter: "
                                       "+ must be a whole level")
    if stateful and ("+" in levels or "#" in levels):
        raise ConfigError(ConfigCodes.INVALID,
                          f"{what} {topic_filter!r}: the wildcards + and # are only allowed for "
                                   "stateless subscriptions (isStateData false)")
    return topic_filter


def check_event_filter(expression: str, what: str) -> str:
    """An event topic filter in the ConcreteSet dialect: `onvif:Device/axis:IO/Port`,
    `onvif:Device/axis:Status//.`, `//.`, alternatives joined by `|`."""
    if not expression.strip():
        raise ConfigError(ConfigCodes.INVALID, f"{what} must not be empty")
    if len(expression.encode()) > MAX_TOPIC:
        raise ConfigError(ConfigCodes.INVALID, f"{what} is longer than {MAX_TOPIC} bytes")
    for alternative in expression.split("|"):
        alt = alternative.strip()
        if alt == "//.":
            continue
        if alt.endswith("//."):
            alt = alt[:-3]
        segments = alt.split("/")
        for segment in segments:
            prefix, sep, name = segment.partition(":")
            if not sep:
                name = prefix
            elif prefix not in NAMESPACE_PREFIXES:
                raise ConfigError(ConfigCodes.INVALID,
                                  f"{what} {expression!r}: unknown namespace prefix {prefix!r} "
                                           "(use onvif: and axis:, or tns1: and tnsaxis:)")
            if not _SEGMENT.match(name or ""):
                raise ConfigError(ConfigCodes.INVALID,
                                  f"{what} {expression!r} is not a valid event topic filter "
                                           "(e.g. onvif:Device/axis:IO/Port or onvif:Device/axis:IO//.)")
    return expression


def matches(topic_filter: str, topic: str) -> bool:
    """Whether an MQTT topic matches an MQTT topic filter (`+`, `#`)."""
    f_levels = topic_filter.split("/")
    t_levels = topic.split("/")
    if topic.startswith("$") and f_levels[0] in ("+", "#"):
        return False  # $SYS and friends only match filters that name them
    for n, level in enumerate(f_levels):
        if level == "#":
            return True
        if n >= len(t_levels):
            return False
        if level != "+" and level != t_levels[n]:
            return False
    return len(f_levels) == len(t_levels)


# -- client configuration ----------------------------------------------------------------
def default_prefix(serial: str) -> str:
    return f"axis/{serial}"


def default_client(serial: str) -> dict[str, Any]:
    """The factory configuration: no broker yet, default connect/LWT/disconnect messages."""
    return {
        "server": {"protocol": "tcp", "host": "", "port": PROTOCOLS["tcp"], "basepath": "", "alpnProtocol": ""},
        "httpProxy": "",
        "httpsProxy": "",
        "username": "",
        "clientId": serial,
        "keepAliveInterval": 60,
        "connectTimeout": 60,
        "cleanSession": True,
        "autoReconnect": True,
        "deviceTopicPrefix": default_prefix(serial),
        "lastWillTestament": {"useDefault": True},
        "connectMessage": {"useDefault": True},
        "disconnectMessage": {"useDefault": True},
        "ssl": {"validateServerCert": True, "CACertID": "", "clientCertID": ""},
    }


def _proxy(obj: Mapping[str, Any], key: str) -> str:
    value = _text(obj, key, "", "").strip()
    if value:
        try:
            parts = urlsplit(value if "://" in value else "http://" + value)  # ValueError: "http://[x"
        except ValueError:
            parts = None
        if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(ConfigCodes.INVALID,
                              f"Parameter '{key}' must be a proxy URL such as http://proxy.example:3128")
        try:
            parts.port  # noqa: B018 - raises on a port out of range
        except ValueError:
            raise ConfigError(ConfigCodes.INVALID, f"Parameter '{key}' has an invalid port") from None
    return value


def _message(obj: Mapping[str, Any], key: str) -> dict[str, Any] | None:
    raw = _get(obj, key, dict, "", None)
    if raw is None:
        return None
    where = f"{key}."
    if _get(raw, "useDefault", bool, where, False):
        return {"useDefault": True}
    topic = check_topic(_text(raw, "topic", where, limit=MAX_TOPIC), f"{where}topic")
    message = _text(raw, "message", where, limit=MAX_PAYLOAD)
    return {"useDefault": False, "topic": topic, "message": message,
            "retain": _get(raw, "retain", bool, where, False), "qos": _qos(raw, "qos", where, 0)}


def parse_client(params: Mapping[str, Any], serial: str) -> dict[str, Any]:
    """configureClient params -> the stored configuration (password not included)."""
    check_request_size(params)
    server = _get(params, "server", dict, "")
    protocol = _text(server, "protocol", "server.", "tcp")
    if protocol not in PROTOCOLS:
        raise ConfigError(ConfigCodes.INVALID, "Parameter 'server.protocol' must be tcp, ssl, ws or wss")
    host = _text(server, "host", "server.").strip()
    if not host:
        raise ConfigError(ConfigCodes.INVALID, "Parameter 'server.host' must not be empty")
    if "://" in host or "/" in host or any(c.isspace() for c in host):
        raise ConfigError(ConfigCodes.INVALID,
                          "Parameter 'server.host' must be a host name or an IP address, not a URL")
    port = _int(server, "port", "server.", PROTOCOLS[protocol], 1, 65535)
    basepath = _text(server, "basepath", "server.", "")
    alpn = _text(server, "alpnProtocol", "server.", "")
    client_id = _text(params, "clientId", "", serial)
    clean = _get(params, "cleanSession", bool, "", True)
    if not client_id and not clean:
        raise ConfigError(ConfigCodes.INVALID, "An empty clientId needs cleanSession true")
    prefix = _text(params, "deviceTopicPrefix", "", default_prefix(serial), MAX_TOPIC)
    check_topic(prefix, "Parameter 'deviceTopicPrefix'")
    ssl = _get(params, "ssl", dict, "", None)
    ssl_config = {"validateServerCert": True, "CACertID": "", "clientCertID": ""}
    if ssl is not None:
        ssl_config = {"validateServerCert": _get(ssl, "validateServerCert", bool, "ssl.", True),
                      "CACertID": _text(ssl, "CACertID", "ssl.", "", MAX_CERT_ID),
                      "clientCertID": _text(ssl, "clientCertID", "ssl.", "", MAX_CERT_ID)}
    return {
        "server": {"protocol": protocol, "host": host, "port": port, "basepath": basepath, "alpnProtocol": alpn},
        "httpProxy": _proxy(params, "httpProxy"),
        "httpsProxy": _proxy(params, "httpsProxy"),
        "username": _text(params, "username", "", ""),
        "clientId": client_id,
        "keepAliveInterval": _int(params, "keepAliveInterval", "", 60, 0, 65535),
        "connectTimeout": _int(params, "connectTimeout", "", 60, 1, 3600),
        "cleanSession": clean,
        "autoReconnect": _get(params, "autoReconnect", bool, "", True),
        "deviceTopicPrefix": prefix,
        "lastWillTestament": _message(params, "lastWillTestament"),
        "connectMessage": _message(params, "connectMessage"),
        "disconnectMessage": _message(params, "disconnectMessage"),
        "ssl": ssl_config,
    }


def parse_password(params: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(the new password or None, keep the stored one)."""
    keep = _get(params, "keepExistingPassword", bool, "", False)
    password = _text(params, "password", "", "")
    return (None, True) if keep else (password, False)


def shown_client(config: Mapping[str, Any], has_password: bool) -> dict[str, Any]:
    """The configuration as getClientStatus shows it: the password masked, messages resolved."""
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key in ("lastWillTestament", "connectMessage", "disconnectMessage"):
            if value is None:
                continue
            if value.get("useDefault"):
                value = {"useDefault": True, "topic": connection_topic(config), "retain": True, "qos": 1}
        out[key] = value
        if key == "username":
            out["password"] = "*****" if has_password else ""
    return json.loads(json.dumps(out))


def connection_topic(config: Mapping[str, Any]) -> str:
    return f"{config['deviceTopicPrefix']}/event/connection"


def announcement(config: Mapping[str, Any], key: str, serial: str, now: float | None) -> tuple[str, str, int, bool] | None:
    """(topic, payload, qos, retain) of the LWT, connect or disconnect message, or None when off."""
    message = config.get(key)
    if message is None:
        return None
    if not message.get("useDefault"):
        return message["topic"], message["message"], message["qos"], message["retain"]
    connected = key == "connectMessage"
    description = {"lastWillTestament": "Connection Lost", "connectMessage": "Connected",
                   "disconnectMessage": "Disconnected"}[key]
    stamp = None if now is None else dt.datetime.fromtimestamp(now, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    payload = json.dumps({"serialNumber": serial, "connected": connected, "description": description,
                          "timestamp": stamp})
    return connection_topic(config), payload, 1, True


# -- event publication ----------------------------------------------------------------------
def default_publication() -> dict[str, Any]:
    return {"topicPrefix": "default", "customTopicPrefix": "", "appendEventTopic": True,
            "includeTopicNamespaces": True, "includeSerialNumberInPayload": False, "eventFilterList": []}


def parse_publication(params: Mapping[str, Any]) -> dict[str, Any]:
    check_request_size(params)
    prefix = _text(params, "topicPrefix", "", "default")
    if prefix not in ("default", "custom"):
        raise ConfigError(ConfigCodes.INVALID, "Parameter 'topicPrefix' must be default or custom")
    custom = _text(params, "customTopicPrefix", "", "", MAX_TOPIC)
    if prefix == "custom":
        if not custom:
            raise ConfigError(ConfigCodes.MISSING,
                              "Parameter 'customTopicPrefix' is required when topicPrefix is custom")
        check_topic(custom, "Parameter 'customTopicPrefix'")
    filters = _get(params, "eventFilterList", list, "")
    if len(filters) > MAX_FILTERS:
        raise ConfigError(ConfigCodes.INVALID, f"At most {MAX_FILTERS} event filters are allowed")
    out = []
    for n, item in enumerate(filters):
        where = f"eventFilterList[{n}]."
        if not isinstance(item, dict):
            raise ConfigError(ConfigCodes.MISSING, f"Parameter 'eventFilterList[{n}]' must be an object")
        expression = check_event_filter(_text(item, "topicFilter", where, limit=MAX_TOPIC),
                                        f"Parameter '{where}topicFilter'")
        retain = _text(item, "retain", where, "none")
        if retain not in RETAIN_POLICIES:
            raise ConfigError(ConfigCodes.INVALID, f"Parameter '{where}retain' must be none, property or all")
        out.append({"topicFilter": expression, "qos": _qos(item, "qos", where, 0), "retain": retain})
    return {
        "topicPrefix": prefix,
        "customTopicPrefix": custom,
        "appendEventTopic": _get(params, "appendEventTopic", bool, "", True),
        "includeTopicNamespaces": _get(params, "includeTopicNamespaces", bool, "", True),
        "includeSerialNumberInPayload": _get(params, "includeSerialNumberInPayload", bool, "", False),
        "eventFilterList": out,
    }


def strip_namespaces(topic: str) -> str:
    return "/".join(part.partition(":")[2] or part for part in topic.split("/"))


def event_topic(publication: Mapping[str, Any], device_prefix: str, topic: str) -> str:
    """The MQTT topic an event is published on."""
    if publication["topicPrefix"] == "custom":
        base = publication["customTopicPrefix"]
    else:
        base = f"{device_prefix}/event"
    if not publication["appendEventTopic"]:
        return base
    path = to_short(topic) if publication["includeTopicNamespaces"] else strip_namespaces(topic)
    return f"{base.rstrip('/') or base}/{path}"


def event_payload(event: Event, serial: str | None) -> str:
    """The JSON payload of a published event, as the `axis` client library parses it."""
    body: dict[str, Any] = {"topic": to_short(event.topic), "timestamp": int(round(event.time * 1000))}
    if serial is not None:
        body["serial"] = serial
    body["message"] = {"source": dict(event.source), "key": {}, "data": dict(event.data)}
    return json.dumps(body, separators=(",", ":"))


@dataclass(frozen=True)
class PublicationFilter:
    """A compiled event publication filter."""

    qos: int
    retain: str
    exact: frozenset[str]
    subtrees: tuple[str, ...]
    everything: bool

    @classmethod
    def compile(cls, spec: Mapping[str, Any]) -> PublicationFilter:
        exact, subtrees, everything = set(), [], False
        for alternative in spec["topicFilter"].split("|"):
            alt = normalize(from_short(alternative.strip()))
            if alt in ("//.", ""):
                everything = True
            elif alt.endswith("//."):
                subtrees.append(alt[:-3])
            else:
                exact.add(alt)
        return cls(spec["qos"], spec["retain"], frozenset(exact), tuple(subtrees), everything)

    def matches(self, topic: str) -> bool:
        if self.everything or topic in self.exact:
            return True
        return any(topic == base or topic.startswith(base + "/") for base in self.subtrees)


def retained(policy: str, event: Event) -> bool:
    return policy == "all" or (policy == "property" and event.stateful)


# -- ONVIF Profile M's event broker ------------------------------------------------------------
ONVIF_JSON = "onvif-ej"  # Profile M's payload prefix: ONVIF events as JSON


def onvif_topic(prefix: str, event: Event, order: Sequence[str] = ()) -> str:
    """Profile M's MQTT topic of an event: TopicPrefix/onvif-ej/LocalTopic[/&Source], the ONVIF
    namespace prefix dropped (others kept by alias), the Source values in `order` (the declared
    items') and + and # left out."""
    local = "/".join(part.removeprefix("tns1:") for part in normalize(event.topic).split("/"))
    names = [n for n in order if n in event.source] + [n for n in event.source if n not in order]
    values = "/".join(str(event.source[n]) for n in names)
    topic = f"{prefix.rstrip('/') or prefix}/{ONVIF_JSON}/{local}" + (f"/&{values}" if names else "")
    return topic.replace("+", "").replace("#", "")


def onvif_payload(event: Event) -> bytes:
    """Profile M's JSON of an event: UtcTime, Source, Data (no PropertyOperation); a deleted
    property is an empty payload, which clears the retained message."""
    if event.operation == "Deleted":
        return b""
    stamp = dt.datetime.fromtimestamp(event.time, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    body = {"UtcTime": stamp, "Source": dict(event.source), "Data": dict(event.data)}
    return json.dumps(body, separators=(",", ":")).encode()


# -- MQTT subscriptions -----------------------------------------------------------------------
def parse_subscriptions(params: Mapping[str, Any]) -> list[dict[str, Any]]:
    check_request_size(params)
    filters = _get(params, "mqttFilterList", list, "")
    if len(filters) > MAX_FILTERS:
        raise ConfigError(ConfigCodes.INVALID, f"At most {MAX_FILTERS} MQTT subscriptions are allowed")
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, bool]] = set()
    for n, item in enumerate(filters):
        where = f"mqttFilterList[{n}]."
        if not isinstance(item, dict):
            raise ConfigError(ConfigCodes.MISSING, f"Parameter 'mqttFilterList[{n}]' must be an object")
        stateful = _get(item, "isStateData", bool, where, False)
        topic_filter = check_filter(_text(item, "topicFilter", where, limit=MAX_TOPIC),
                                    f"Parameter '{where}topicFilter'", stateful)
        use_prefix = _get(item, "useDeviceTopicPrefix", bool, where, False)
        if (topic_filter, use_prefix) in seen:
            raise ConfigError(ConfigCodes.INVALID,
                              f"Parameter '{where}topicFilter': {topic_filter!r} is subscribed twice")
        seen.add((topic_filter, use_prefix))
        out.append({"topicFilter": topic_filter, "useDeviceTopicPrefix": use_prefix,
                    "qos": _qos(item, "qos", where, 0), "isStateData": stateful})
    return out


def full_filter(subscription: Mapping[str, Any], device_prefix: str) -> str:
    if subscription["useDeviceTopicPrefix"]:
        return f"{device_prefix}/{subscription['topicFilter']}"
    return subscription["topicFilter"]
