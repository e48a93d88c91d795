"""Notifications (System > Events > Recipients): everything about recipients flows through this
package. The VAPIX recipient templates map onto transports (`settings`, `validate`); stored
recipients keep their secrets sealed (`store`); notification actions render a message from the
event (`templates`) and deliver it (`actions`, `delivery`, one module per transport in
`transports/`). Network share recipients write only to the shares of System > Storage.

Loaded before the events feature, whose action service serves the recipients over VAPIX.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.core.proxies import PROXIES, proxies_of
from vigil.features.certificates.service import KEYSTORE
from vigil.features.notify.actions import NotificationActions
from vigil.features.notify.service import NOTIFY_SERVICE, NotifyService
from vigil.features.notify.store import RecipientStore
from vigil.features.notify.templates import device_values
from vigil.features.sip.service import SIP_SERVICE
from vigil.features.storage.service import STORAGE_SERVICE

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    # The storage feature loads before events (vigil.features.FEATURES): its shares are known here.
    recipients = RecipientStore(device.store, device.vault, device.logs, device.features.get(STORAGE_SERVICE))
    recipients.load()
    # The global proxies are asked for at each delivery: a change applies to the next one.
    # So are the keystore's CA certificates (vigil/features/certificates), which a verified TLS
    # server (HTTPS, SMTP over TLS) may chain to besides the system's.
    keystore = device.features[KEYSTORE]
    # The SIP feature (loaded before, on every profile) places the calls of SIP recipients.
    actions = NotificationActions(recipients, lambda: device_values(device),
                                  lambda: proxies_of(device.features.get(PROXIES)), keystore.trust_bundle,
                                  device.features.get(SIP_SERVICE))
    for action in actions.action_types():
        device.rules.register(action)
    device.features[NOTIFY_SERVICE] = NotifyService(recipients, actions)
