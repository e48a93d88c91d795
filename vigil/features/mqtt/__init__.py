"""MQTT: the device as an MQTT client (manual chapter "MQTT"). Events flow out to the broker as
messages, subscribed messages flow in as events, and rules publish with the MQTT action.

- `const`: error codes, event topics, the action, limits.
- `model`: the settings as the VAPIX MQTT APIs spell them, validation, event <-> message.
- `transport`: TLS (certificates from the keystore), HTTP proxies, and why a connection attempt failed.
- `service`: the connection, event publication, subscriptions as events, the rule action.
- `http_mqtt_client` (/axis-cgi/mqtt/client.cgi) and `http_event_bridge` (/axis-cgi/mqtt/event.cgi).

Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.mqtt import http_event_bridge, http_mqtt_client
from vigil.features.mqtt.service import MQTT_SERVICE, MqttService

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    service = MqttService(device)
    device.features[MQTT_SERVICE] = service
    device.rules.register(service.action_type())
    device.on_load.append(service.declare)
    device.services.append(service.run)
    http_mqtt_client.register(device, service)
    http_event_bridge.register(device, service)
