"""ONVIF Profile M's event broker in the event service (/onvif/events_service): AddEventBroker,
GetEventBrokers, DeleteEventBroker.

The device has one MQTT connection, the MQTT client's (vigil.features.mqtt, the MQTT page and the
VAPIX MQTT client API): an event broker is that client's broker, so there is at most one
(MaxEventBrokers 1). AddEventBroker configures the client as configureClient would (the address
as server, the user name, the password sealed by the client's store, CertificateID as its client
certificate), sets its ONVIF publication (TopicPrefix, PublishFilter, QoS: events go out in
Profile M's form, `TopicPrefix/onvif-ej/<topic>`) and activates it; GetEventBrokers shows it with
the client's connection status; DeleteEventBroker ends the publication and deactivates the
client. A client another broker is configured and active for leaves no room: TooManyEventBrokers.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from lxml import etree
from lxml.builder import ElementMaker

from vigil.core.auth import Principal
from vigil.features.mqtt import model
from vigil.features.mqtt.service import MqttService
from vigil.features.mqtt.transport import ConnectFailure, resolve_certificate
from vigil.features.onvif.const import CONCRETE_SET, ITEM_FILTER, READ_MEDIA, TER, TEV, WRITE_SYSTEM, WSNT
from vigil.features.onvif.endpoint import OnvifEndpoint
from vigil.features.onvif.http_events import event_filter
from vigil.features.onvif.xml import find, invalid, text
from vigil.http.soap import SoapFault, SoapMessage

TEV_ = ElementMaker(namespace=TEV, nsmap={"tev": TEV})
WSNT_ = ElementMaker(namespace=WSNT, nsmap={"wsnt": WSNT})
# Profile M's schemes -> the MQTT client's protocols
SCHEMES = {"mqtt": "tcp", "mqtts": "ssl", "ws": "ws", "wss": "wss"}
PROTOCOL_SCHEME = {protocol: scheme for scheme, protocol in SCHEMES.items()}
STATUS = {"connected": "Connected", "connecting": "Connecting"}  # otherwise Offline
MAX_EVENT_BROKERS = 1


def broker_capabilities() -> dict[str, str]:
    """The event service capabilities' attributes of the event broker."""
    return {"EventBrokerProtocols": " ".join(SCHEMES), "MaxEventBrokers": str(MAX_EVENT_BROKERS)}


def address_of(config: dict[str, Any]) -> str:
    """The client's broker as a Profile M address: scheme://host:port[/path]."""
    server = config["server"]
    host = f"[{server['host']}]" if ":" in server["host"] else server["host"]
    path = "/" + server["basepath"].lstrip("/") if server["protocol"] in ("ws", "wss") and server["basepath"] else ""
    return f"{PROTOCOL_SCHEME[server['protocol']]}://{host}:{server['port']}{path}"


class EventBrokers:
    def __init__(self, mqtt: MqttService) -> None:
        self.mqtt = mqtt

    def _current(self) -> str | None:
        """The address of the event broker, if there is one."""
        return address_of(self.mqtt.config) if self.mqtt.broker is not None else None

    def _server(self, address: str) -> dict[str, Any]:
        try:
            parts = urlsplit(address)
            port = parts.port
        except ValueError:
            raise invalid(f"{address[:80]!r} is not a broker address such as mqtt://host:1883", "InvalidAddress") \
                from None
        if parts.scheme not in SCHEMES:
            raise invalid(f"The broker protocol {parts.scheme[:20]!r} is not supported: {', '.join(SCHEMES)}",
                          "InvalidProtocol")
        if not parts.hostname or parts.username or parts.query or parts.fragment or \
                (parts.path not in ("", "/") and parts.scheme not in ("ws", "wss")):
            raise invalid(f"{address[:80]!r} is not a broker address scheme://host:port", "InvalidAddress")
        protocol = SCHEMES[parts.scheme]
        return {"protocol": protocol, "host": parts.hostname, "port": port or model.PROTOCOLS[protocol],
                "basepath": parts.path.lstrip("/"), "alpnProtocol": ""}

    async def add_event_broker(self, msg: SoapMessage, who: Principal) -> etree._Element:
        given = find(msg.body, "EventBroker")
        if given is None:
            raise invalid("AddEventBroker needs an EventBroker")
        server = self._server(text(given, "Address", required=True, limit=1024) or "")
        prefix = text(given, "TopicPrefix", required=True, limit=model.MAX_TOPIC) or ""
        try:
            model.check_topic(prefix, "TopicPrefix")
        except model.ConfigError as err:
            raise invalid(err.message) from None
        qos_text = text(given, "QoS") or "0"
        if qos_text not in ("0", "1", "2"):
            raise invalid(f"QoS must be 0, 1 or 2, not {qos_text[:20]!r}")
        for unsupported in ("MetadataFilter", "CertPathValidationPolicyID"):
            node = find(given, unsupported)
            if node is not None and (len(node) or (node.text or "").strip()):
                raise invalid(f"{unsupported} is not supported: the device has no metadata stream to publish and "
                              "validates the broker with the MQTT client's CA certificate", "InvalidFilter")
        try:
            chosen = event_filter(find(given, "PublishFilter"))
        except SoapFault as fault:
            raise invalid(fault.reason, "InvalidFilter") from None
        certificate = text(given, "CertificateID", limit=model.MAX_CERT_ID) or ""
        if certificate:
            try:
                resolve_certificate(certificate, self.mqtt.device.data)
            except ConnectFailure as err:
                raise invalid(f"CertificateID: {err.message}") from None
        config = self.mqtt.config
        current = address_of(config) if config["server"]["host"] else None
        wanted = address_of({"server": server})
        if current != wanted and (self.mqtt.broker is not None or self.mqtt.active):
            raise SoapFault(f"The device has one event broker, the MQTT client's: {current} is in use",
                            "Receiver", (etree.QName(TER, "Action"), etree.QName(TER, "TooManyEventBrokers")))
        params = {**config, "server": server, "username": text(given, "UserName", limit=model.MAX_NAME) or "",
                  "ssl": {**config["ssl"], "clientCertID": certificate}}
        try:
            client = model.parse_client(params, self.mqtt.serial)
        except model.ConfigError as err:
            raise invalid(f"The broker cannot be used: {err.message}", "InvalidAddress") from None
        password = text(given, "Password", limit=model.MAX_NAME)
        if password is None and current != wanted:
            password = ""  # another broker's password never goes to this one
        self.mqtt.configure_client(client, password, who.name)  # None: the stored password stays
        self.mqtt.configure_broker({"topicPrefix": prefix, "topic": chosen.topic, "content": chosen.content or "",
                                    "qos": int(qos_text)}, who.name)
        self.mqtt.set_active(True, who.name)
        return TEV_.AddEventBrokerResponse()

    def _config(self) -> etree._Element:
        broker, config = self.mqtt.broker, self.mqtt.config
        assert broker is not None
        expression = WSNT_.TopicExpression(broker["topic"], Dialect=CONCRETE_SET)
        content = [WSNT_.MessageContent(broker["content"], Dialect=ITEM_FILTER)] if broker["content"] else []
        out = TEV_.EventBroker(TEV_.Address(address_of(config)), TEV_.TopicPrefix(broker["topicPrefix"]))
        if config["username"]:
            out.append(TEV_.UserName(config["username"]))
        if config["ssl"]["clientCertID"]:
            out.append(TEV_.CertificateID(config["ssl"]["clientCertID"]))
        out.append(TEV_.PublishFilter(expression, *content))
        out.append(TEV_.QoS(str(broker["qos"])))
        out.append(TEV_.Status(STATUS.get(self.mqtt.connection, "Offline") if self.mqtt.active else "Offline"))
        return out

    async def get_event_brokers(self, msg: SoapMessage, who: Principal) -> etree._Element:
        wanted = text(msg.body, "Address", limit=1024)
        current = self._current()
        if wanted is not None and wanted != current:
            raise invalid(f"There is no event broker {wanted[:80]!r}", "InvalidAddress")
        return TEV_.GetEventBrokersResponse(*([self._config()] if current else []))

    async def delete_event_broker(self, msg: SoapMessage, who: Principal) -> etree._Element:
        wanted = text(msg.body, "Address", required=True, limit=1024)
        if self._current() is None or wanted != self._current():
            raise invalid(f"There is no event broker {str(wanted)[:80]!r}", "InvalidAddress")
        self.mqtt.configure_broker(None, who.name)
        self.mqtt.set_active(False, who.name)
        return TEV_.DeleteEventBrokerResponse()


def register(events: OnvifEndpoint, brokers: EventBrokers) -> None:
    events.add(TEV, "AddEventBroker", WRITE_SYSTEM, brokers.add_event_broker)
    events.add(TEV, "GetEventBrokers", READ_MEDIA, brokers.get_event_brokers)
    events.add(TEV, "DeleteEventBroker", WRITE_SYSTEM, brokers.delete_event_broker)
