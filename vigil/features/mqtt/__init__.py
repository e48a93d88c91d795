"""MQTT: the device as an MQTT client (manual chapter "MQTT").

- `model`: the settings as the VAPIX MQTT APIs spell them, validation, event <-> message.
- `transport`: TLS, certificates, HTTP proxies, and why a connection attempt failed.
- `service`: the connection, event publication, subscriptions as events, the rule action.
- `api`: /axis-cgi/mqtt/client.cgi and /axis-cgi/mqtt/event.cgi.

Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.mqtt import api
from vigil.features.mqtt.service import register_service

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:

    api.register(device, register_service(device))
