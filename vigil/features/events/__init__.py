"""Events and actions over VAPIX: the SOAP event and action services at /vapix/services,
the recipient store and the notification action types (see service.py and recipients.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.events.recipients import NotificationActions, RecipientStore
from vigil.features.events.service import EVENT_SERVICES, EventServices

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:

    recipients = RecipientStore(device.store, device.vault, device.logs)
    recipients.load()

    def device_info() -> dict[str, str]:
        info = {"serial": device.identity.serial, "mac": device.identity.mac, "model": device.profile.model,
                "name": device.profile.full_name}
        for key, param in (("hostname", "Network.HostName"), ("timezone", "Time.TimeZone")):
            if param in device.params.defs:
                info[key] = device.params.get(param)
        return info

    notifications = NotificationActions(recipients, device_info)
    for action in notifications.action_types():
        device.rules.register(action)
    services = EventServices(device, recipients, notifications)
    services.register()
    device.features[EVENT_SERVICES] = services
