"""Events and actions over VAPIX (System > Events): the SOAP event service (event1: event
instances, schedules, manual triggers) and action service (action1: action rules, action
configurations, recipients) at /vapix/services. Rules and schedules run in the core
(`vigil.core.rules`, `vigil.core.schedules`); recipients and the notification actions are the
notify package, which loads before this one; a rule's conditions travel as VAPIX filters
(`filters.py`); `service.py` holds what the services do without HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.events import http_action1, http_event1
from vigil.features.events.const import AA, EV, PATH
from vigil.features.events.http_action1 import ActionService
from vigil.features.events.http_event1 import EventService
from vigil.features.events.http_soap import EVENT_SERVICES, VapixServices
from vigil.features.events.service import Events
from vigil.features.notify.service import NOTIFY_SERVICE
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    events = Events(device.rules, device.schedules, device.features[VIRTUAL_INPUTS_SERVICE])
    services = VapixServices()
    services.add(EV, EventService(device.events, device.schedules, events), http_event1.OPERATIONS)
    services.add(AA, ActionService(device.rules, device.events, device.logs, events, device.features[NOTIFY_SERVICE]),
                 http_action1.OPERATIONS)
    device.router.add(PATH, services.handle, services.soap.min_role, methods=("POST",), kind="xml")
    device.features[EVENT_SERVICES] = services
