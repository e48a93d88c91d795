"""VAPIX: the MQTT event bridge API, /axis-cgi/mqtt/event.cgi: which events are published
(configureEventPublication, getEventPublicationConfig) and which MQTT topics become events
(configureMqttSubscription, getMqttSubscriptionConfig). Administrator only; errors in the API's
own codes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.mqtt import model
from vigil.features.mqtt.const import BRIDGE_VERSIONS
from vigil.features.mqtt.http_common import ERRORS, bind, checked
from vigil.features.mqtt.service import MqttService
from vigil.http.vapix import JsonCall

if TYPE_CHECKING:
    from vigil.device import Device


async def configure_event_publication(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    service.configure_publication(checked(model.parse_publication, call.params), who.name)
    return {}


async def get_event_publication_config(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    return {"eventPublicationConfig": service.publication}


async def configure_mqtt_subscription(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    service.configure_subscriptions(checked(model.parse_subscriptions, call.params), who.name)
    return {}


async def get_mqtt_subscription_config(service: MqttService, call: JsonCall, who: Any) -> dict[str, Any]:
    return {"mqttSubscriptionConfig": {"mqttFilterList": service.subscriptions}}


def register(device: Device, service: MqttService) -> None:
    device.router.json_api(PATH, BRIDGE_VERSIONS, bind(METHODS, service), ERRORS)
    device.apis.append(Api("event-mqtt-bridge", BRIDGE_VERSIONS[-1], "MQTT Event Bridge"))


PATH = "/axis-cgi/mqtt/event.cgi"
METHODS = {
    "configureEventPublication": (Role.ADMIN, configure_event_publication),
    "getEventPublicationConfig": (Role.ADMIN, get_event_publication_config),
    "configureMqttSubscription": (Role.ADMIN, configure_mqtt_subscription),
    "getMqttSubscriptionConfig": (Role.ADMIN, get_mqtt_subscription_config),
}
