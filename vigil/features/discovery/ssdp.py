"""UPnP: the Axis basic-device announcement over SSDP (async-upnp-client's responder and
announcer) and its description XML, which Vigil's own HTTP server serves (http_upnp.py).

The device is a `urn:schemas-upnp-org:device:Basic:1` with UDN `uuid:Upnp-BasicDevice-1_0-<MAC>`
and one service, `urn:axis-com:service:BasicService:1`, as Axis devices announce themselves;
Home Assistant's Axis integration reads the description's friendlyName, serialNumber (the MAC)
and presentationURL. Per interface, a search responder answers M-SEARCH (ssdp:all,
upnp:rootdevice, the UDN, the device type and the service type) and an announcer sends
`ssdp:alive` NOTIFYs, and `ssdp:byebye` for each when it stops.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from async_upnp_client.const import DeviceInfo, ServiceInfo
from async_upnp_client.server import (
    NopRequester,
    SsdpAdvertisementAnnouncer,
    SsdpSearchResponder,
    UpnpServerDevice,
    UpnpServerService,
    UpnpXmlSerializer,
)

from vigil.features.discovery.const import (
    BASIC_DEVICE,
    BASIC_SERVICE,
    BASIC_SERVICE_ID,
    CONTROL_PATH,
    DESCRIPTION_PATH,
    EVENT_PATH,
    SCPD_PATH,
)
from vigil.features.discovery.model import Facts, Settings


class BasicService(UpnpServerService):
    """Axis's basic service: no actions and no state; it names the device kind."""

    SERVICE_DEFINITION = ServiceInfo(service_id=BASIC_SERVICE_ID, service_type=BASIC_SERVICE,
                                     control_url=CONTROL_PATH, event_sub_url=EVENT_PATH, scpd_url=SCPD_PATH,
                                     xml=ET.Element("server_service"))
    STATE_VARIABLE_DEFINITIONS: dict = {}


class BasicDevice(UpnpServerDevice):
    """The device as UPnP describes it, reached at `base_uri` (http://<address>:<port>)."""

    EMBEDDED_DEVICES = ()
    SERVICES = (BasicService,)

    def __init__(self, facts: Facts, name: str, base_uri: str, boot_id: int = 1, config_id: int = 1) -> None:
        self.DEVICE_DEFINITION = DeviceInfo(
            device_type=BASIC_DEVICE, friendly_name=name, manufacturer=facts.brand,
            manufacturer_url="https://vigil.invalid/", model_description=facts.full_name,
            model_name=facts.model_name, model_number=facts.model, model_url="https://vigil.invalid/",
            serial_number=facts.serial, udn=udn(facts), upc=None, presentation_url=f"{base_uri}/",
            url=DESCRIPTION_PATH, icons=[], xml=ET.Element("server_device"))
        super().__init__(NopRequester(), base_uri, boot_id, config_id)


def udn(facts: Facts) -> str:
    return f"uuid:Upnp-BasicDevice-1_0-{facts.serial}"


def description(facts: Facts, name: str, base_uri: str) -> bytes:
    """The device description served at DESCRIPTION_PATH."""
    return _xml(UpnpXmlSerializer.to_xml(BasicDevice(facts, name, base_uri)))


def service_description() -> bytes:
    """The basic service's SCPD served at SCPD_PATH."""
    return _xml(UpnpXmlSerializer.to_xml(BasicService(NopRequester())))


def _xml(element: ET.Element) -> bytes:
    return b'<?xml version="1.0"?>\n' + ET.tostring(element, encoding="utf-8")


class Upnp:
    """SSDP search answers and announcements; `start` and `stop` as the discovery service asks."""

    label = "UPnP"

    def __init__(self, facts: Facts, boot_id: int) -> None:
        self.facts = facts
        self.boot_id = boot_id  # BOOTID.UPNP.ORG: a new one each time the device starts
        self.config_id = 0  # CONFIGID.UPNP.ORG: a new one each time the description changes
        self._parts: list[SsdpSearchResponder | SsdpAdvertisementAnnouncer] = []

    @staticmethod
    def wanted(settings: Settings) -> tuple | None:
        if not settings.upnp or not settings.interfaces:
            return None
        return settings.interfaces, settings.http_port, settings.upnp_name

    async def start(self, settings: Settings) -> None:
        self.config_id += 1
        for interface in settings.interfaces:
            device = BasicDevice(self.facts, settings.upnp_name, f"http://{interface.address}:{settings.http_port}",
                                 self.boot_id, self.config_id)
            source = (interface.address, 0)
            responder = SsdpSearchResponder(device, source=source)
            await responder.async_start()
            self._parts.append(responder)
            announcer = SsdpAdvertisementAnnouncer(device, source=source)
            await announcer.async_start()
            self._parts.append(announcer)

    async def stop(self) -> None:
        parts, self._parts = self._parts, []
        for part in reversed(parts):  # announcers first: their byebyes go out before the responders close
            await part.async_stop()
