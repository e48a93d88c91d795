"""The ONVIF device management service (`tds`, /onvif/device_service): capabilities and
services, device information, date and time (through the timesync feature), network
settings (read), discovery scopes and mode (the discovery feature's), reboot and factory
default, relay outputs (the io feature's; the W401). Users are in `http_users.py`."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from datetime import UTC, datetime

from lxml import etree

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.zones import device_zone
from vigil.device import Device
from vigil.features.discovery.const import WSD_ENABLED, WSD_SCOPES
from vigil.features.discovery.service import DISCOVERY_SERVICE
from vigil.features.io.service import IO_SERVICE, IOError_
from vigil.features.mqtt.service import MQTT_SERVICE
from vigil.features.onvif.const import (
    ACTION_NOT_SUPPORTED,
    ACTUATE,
    DEVICE_PATH,
    DEVICEIO_PATH,
    DEVICEIO_VERSION,
    EVENTS_PATH,
    EVENTS_VERSION,
    MEDIA2_PATH,
    MEDIA2_VERSION,
    MEDIA_PATH,
    OPERATION_PROHIBITED,
    PRE_AUTH,
    READ_SYSTEM,
    RECORDING_PATH,
    RECORDING_VERSION,
    REPLAY_PATH,
    REPLAY_VERSION,
    SEARCH_PATH,
    SEARCH_VERSION,
    TDS,
    TER,
    TEV,
    TMD,
    TR2,
    TRC,
    TRP,
    TRT,
    TSE,
    UNRECOVERABLE,
    VERSION,
    WRITE_SYSTEM,
)
from vigil.features.onvif.endpoint import CALL, OnvifEndpoint, base_address
from vigil.features.onvif.http_deviceio import deviceio_capabilities
from vigil.features.onvif.http_event_broker import broker_capabilities
from vigil.features.onvif.http_events import events_capabilities
from vigil.features.onvif.http_media import media_capabilities
from vigil.features.onvif.http_media2 import media2_capabilities
from vigil.features.onvif.http_recording import recording_capabilities
from vigil.features.onvif.http_replay import replay_capabilities
from vigil.features.onvif.xml import (
    TDS_,
    TT_,
    boolean,
    date_time,
    find,
    find_all,
    flag,
    invalid,
    number,
    text,
)
from vigil.features.system.device_info import device_properties
from vigil.features.timesync.const import (
    DST_ENABLED,
    NTP_PORT,
    NTP_SERVERS,
    OBTAIN_FROM_DHCP,
    POSIX_TIME_ZONE,
    SYNC_SOURCE,
)
from vigil.features.timesync.servers import Server, parse_list
from vigil.features.timesync.service import TIMESYNC_SERVICE
from vigil.http.soap import SoapFault, SoapMessage, sender


class DeviceService:
    def __init__(self, device: Device, has_media: bool, has_search: bool | None = None, has_deviceio: bool = False,
                 media2_types: tuple[str, ...] | None = None, recordings: Callable[[], int] = lambda: 0) -> None:
        self.device = device
        self.has_media = has_media
        self.has_search = has_media if has_search is None else has_search
        self.has_deviceio = has_deviceio  # the audio source and output (the C1410)
        self.media2_types = media2_types  # the configuration types Media2's profiles hold; None: the cameras'
        self.recordings = recordings  # () -> how many recordings (the recorder's cameras) there are

    # -- addresses -------------------------------------------------------------------------
    def base(self) -> str:
        return base_address(self.device.listening)

    def services(self) -> list[tuple[str, str, etree._Element]]:
        """(namespace, address, capabilities) of each service this device has."""
        out = [(TDS, self.base() + DEVICE_PATH, self.device_capabilities()),
               (TEV, self.base() + EVENTS_PATH,
                events_capabilities(broker_capabilities() if self.device.features.get(MQTT_SERVICE) else None))]
        if self.has_media:
            out.append((TRT, self.base() + MEDIA_PATH, media_capabilities()))
            out.append((TR2, self.base() + MEDIA2_PATH, media2_capabilities(self.media2_types) if self.media2_types
                        else media2_capabilities()))
        if self.has_deviceio:
            out.append((TMD, self.base() + DEVICEIO_PATH, deviceio_capabilities()))
        if self.has_search:
            out.append((TSE, self.base() + SEARCH_PATH,
                        etree.Element(f"{{{TSE}}}Capabilities", MetadataSearch="false", GeneralStartEvents="false",
                                      nsmap={"tse": TSE})))
            out.append((TRC, self.base() + RECORDING_PATH, recording_capabilities(self.recordings())))
            out.append((TRP, self.base() + REPLAY_PATH, replay_capabilities()))
        return out

    def device_capabilities(self) -> etree._Element:
        return TDS_.Capabilities(
            TDS_.Network(IPFilter="false", ZeroConfiguration="false", IPVersion6="false", DynDNS="false",
                         NTP="1", HostnameFromDHCP="false"),
            TDS_.Security(**{"TLS1.2": boolean(bool(self.device.listening.https)), "UsernameToken": "true",
                             "HttpDigest": "true", "DefaultAccessPolicy": "true"}),
            TDS_.System(DiscoveryResolve="true", DiscoveryBye="true", RemoteDiscovery="false",
                        SystemBackup="false", SystemLogging="false", FirmwareUpgrade="false"),
        )

    # -- capabilities ----------------------------------------------------------------------
    async def get_services(self, msg: SoapMessage, who: Principal) -> etree._Element:
        with_caps = flag(msg.body, "IncludeCapability") or False
        response = TDS_.GetServicesResponse()
        for namespace, address, caps in self.services():
            service = TDS_.Service(TDS_.Namespace(namespace), TDS_.XAddr(address))
            if with_caps:
                service.append(TDS_.Capabilities(caps))
            major, minor = {TR2: MEDIA2_VERSION, TEV: EVENTS_VERSION, TSE: SEARCH_VERSION,
                            TRC: RECORDING_VERSION, TRP: REPLAY_VERSION, TMD: DEVICEIO_VERSION}.get(namespace, VERSION)
            service.append(TDS_.Version(TT_.Major(str(major)), TT_.Minor(str(minor))))
            response.append(service)
        return response

    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TDS_.GetServiceCapabilitiesResponse(self.device_capabilities())

    async def get_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        categories = {(c.text or "").strip() for c in find_all(msg.body, "Category")} or {"All"}
        known = {"All", "Analytics", "Device", "Events", "Imaging", "Media", "PTZ"}
        if not categories <= known:
            raise invalid(f"unknown Category {sorted(categories - known)[0][:40]!r}")
        have = {"All", "Device", "Events"} | ({"Media"} if self.has_media else set())
        if not categories & have:
            raise SoapFault(f"The device has no {', '.join(sorted(categories))} service", "Receiver",
                            (ACTION_NOT_SUPPORTED, etree.QName(TER, "NoSuchService")))
        caps = TDS_.Capabilities()
        if categories & {"All", "Device"}:
            io = self.device.features.get(IO_SERVICE)
            relays = sum(1 for v in io.views() if v.direction == "output") if io else 0
            inputs = sum(1 for v in io.views() if v.direction == "input") if io else 0
            caps.append(TT_.Device(
                TT_.XAddr(self.base() + DEVICE_PATH),
                TT_.Network(TT_.IPFilter("false"), TT_.ZeroConfiguration("false"), TT_.IPVersion6("false"),
                            TT_.DynDNS("false")),
                TT_.System(TT_.DiscoveryResolve("true"), TT_.DiscoveryBye("true"), TT_.RemoteDiscovery("false"),
                           TT_.SystemBackup("false"), TT_.SystemLogging("false"), TT_.FirmwareUpgrade("false"),
                           TT_.SupportedVersions(TT_.Major(str(VERSION[0])), TT_.Minor(str(VERSION[1])))),
                TT_.IO(TT_.InputConnectors(str(inputs)), TT_.RelayOutputs(str(relays))),
                TT_.Security(*(getattr(TT_, "TLS1.1")("false"), getattr(TT_, "TLS1.2")(
                    boolean(bool(self.device.listening.https)))), TT_.OnboardKeyGeneration("false"),
                    TT_.AccessPolicyConfig("false"), getattr(TT_, "X.509Token")("false"), TT_.SAMLToken("false"),
                    TT_.KerberosToken("false"), TT_.RELToken("false")),
            ))
        if categories & {"All", "Events"}:
            caps.append(TT_.Events(TT_.XAddr(self.base() + EVENTS_PATH), TT_.WSSubscriptionPolicySupport("false"),
                                   TT_.WSPullPointSupport("true"),
                                   TT_.WSPausableSubscriptionManagerInterfaceSupport("false")))
        if categories & {"All", "Media"} and self.has_media:
            caps.append(TT_.Media(TT_.XAddr(self.base() + MEDIA_PATH),
                                  TT_.StreamingCapabilities(TT_.RTPMulticast("false"), TT_.RTP_TCP("true"),
                                                            TT_.RTP_RTSP_TCP("true"))))
        # Profile G's services and DeviceIO have no category of their own: the Extension, in the schema's order.
        extension = []
        if "All" in categories and self.has_deviceio:
            extension.append(TT_.DeviceIO(
                TT_.XAddr(self.base() + DEVICEIO_PATH), TT_.VideoSources("0"), TT_.VideoOutputs("0"),
                TT_.AudioSources("1"), TT_.AudioOutputs("1"), TT_.RelayOutputs("0")))
        if "All" in categories and self.has_search:
            extension += [
                TT_.Recording(TT_.XAddr(self.base() + RECORDING_PATH), TT_.ReceiverSource("false"),
                              TT_.MediaProfileSource("true"), TT_.DynamicRecordings("false"),
                              TT_.DynamicTracks("false"), TT_.MaxStringLength("256")),
                TT_.Search(TT_.XAddr(self.base() + SEARCH_PATH), TT_.MetadataSearch("false")),
                TT_.Replay(TT_.XAddr(self.base() + REPLAY_PATH))]
        if extension:
            caps.append(TT_.Extension(*extension))
        return TDS_.GetCapabilitiesResponse(caps)

    async def get_wsdl_url(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TDS_.GetWsdlUrlResponse(TDS_.WsdlUrl("http://www.onvif.org/Documents/Specifications.aspx"))

    async def get_endpoint_reference(self, msg: SoapMessage, who: Principal) -> etree._Element:
        discovery = self.device.features.get(DISCOVERY_SERVICE)
        address = discovery.facts.endpoint if discovery else f"urn:uuid:{self.device.identity.device_id}"
        return TDS_.GetEndpointReferenceResponse(TDS_.GUID(address))

    # -- system ----------------------------------------------------------------------------
    async def get_device_information(self, msg: SoapMessage, who: Principal) -> etree._Element:
        props = device_properties(self.device)
        return TDS_.GetDeviceInformationResponse(
            TDS_.Manufacturer(props["Brand"]), TDS_.Model(props["ProdNbr"]), TDS_.FirmwareVersion(props["Version"]),
            TDS_.SerialNumber(props["SerialNumber"]), TDS_.HardwareId(props["HardwareID"]))

    async def get_system_date_and_time(self, msg: SoapMessage, who: Principal) -> etree._Element:
        params = self.device.params
        now = datetime.fromtimestamp(self.device.clock.time(), UTC)
        local = now.astimezone(device_zone(params))
        return TDS_.GetSystemDateAndTimeResponse(TDS_.SystemDateAndTime(
            TT_.DateTimeType("NTP" if params.get(SYNC_SOURCE) == "NTP" else "Manual"),
            TT_.DaylightSavings(boolean(params.get_bool(DST_ENABLED))),
            TT_.TimeZone(TT_.TZ(params.get(POSIX_TIME_ZONE))),
            _renamed(date_time(now), "UTCDateTime"), _renamed(date_time(local), "LocalDateTime")))

    async def set_system_date_and_time(self, msg: SoapMessage, who: Principal) -> etree._Element:
        body = msg.body
        kind = text(body, "DateTimeType", required=True)
        if kind not in ("Manual", "NTP"):
            raise invalid(f"DateTimeType must be Manual or NTP, not {kind[:40]!r}")
        dst = flag(body, "DaylightSavings", required=True)
        zone = text(body, "TimeZone", "TZ", limit=64)
        utc = None
        if kind == "Manual":
            moment = find(body, "UTCDateTime")
            if moment is None:
                raise invalid("a Manual date and time needs UTCDateTime", "InvalidDateTime")
            utc = _utc_of(moment)
        timesync = self.device.features[TIMESYNC_SERVICE]
        try:
            if kind == "NTP":
                timesync.set_manual(None, zone or None, dst, who.name)
                timesync.set_automatic(who.name)
            else:
                timesync.set_manual(utc, zone or None, dst, who.name)
        except ValueError as err:
            raise invalid(str(err), "InvalidTimeZone" if "zone" in str(err) else "InvalidDateTime") from None
        return TDS_.SetSystemDateAndTimeResponse()

    async def system_reboot(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.device.logs.audit(who.name, "restart requested through ONVIF", "maintenance")
        CALL.get().after_reply.append(lambda: self.device.request_stop("restart"))
        return TDS_.SystemRebootResponse(TDS_.Message("Restarting."))

    async def set_system_factory_default(self, msg: SoapMessage, who: Principal) -> etree._Element:
        kind = text(msg.body, "FactoryDefault", required=True)
        if kind not in ("Hard", "Soft"):
            raise invalid(f"FactoryDefault must be Hard or Soft, not {kind[:40]!r}")
        action = "hard-factory-default" if kind == "Hard" else "factory-default"
        self.device.logs.audit(who.name, f"{kind.lower()} factory default requested through ONVIF", "maintenance")
        CALL.get().after_reply.append(lambda: self.device.request_stop(action))
        return TDS_.SetSystemFactoryDefaultResponse()

    # -- network (read; the network settings own them) ---------------------------------------
    async def get_hostname(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TDS_.GetHostnameResponse(TDS_.HostnameInformation(
            TT_.FromDHCP("false"), TT_.Name(self.device.params.get("Network.HostName"))))

    async def get_dns(self, msg: SoapMessage, who: Principal) -> etree._Element:
        p = self.device.params
        info = TDS_.DNSInformation(TT_.FromDHCP(boolean(p.get_bool("Network.Resolver.ObtainFromDHCP"))))
        if p.get("Network.DomainName"):
            info.append(TT_.SearchDomain(p.get("Network.DomainName")))
        servers = [s for s in (p.get("Network.DNSServer1"), p.get("Network.DNSServer2")) if s and s != "0.0.0.0"]
        for server in servers:
            info.append(TT_.DNSManual(TT_.Type("IPv4"), TT_.IPv4Address(server)))
        return TDS_.GetDNSResponse(info)

    async def get_ntp(self, msg: SoapMessage, who: Principal) -> etree._Element:
        p = self.device.params
        timesync = self.device.features.get(TIMESYNC_SERVICE)
        info = TDS_.NTPInformation(TT_.FromDHCP(boolean(p.get_bool(OBTAIN_FROM_DHCP))))
        # ONVIF's NetworkHost has no port: a server on another port is named by its host alone.
        for kind, servers in (("NTPFromDHCP", timesync.dhcp_servers if timesync else ()),
                              ("NTPManual", _servers(p.get(NTP_SERVERS)))):
            for server in servers:
                info.append(TT_(kind, *_host(server.host)))
        return TDS_.GetNTPResponse(info)

    async def get_network_interfaces(self, msg: SoapMessage, who: Principal) -> etree._Element:
        p = self.device.params
        dhcp = p.get("Network.BootProto") == "dhcp"
        prefix = sum(bin(int(part)).count("1") for part in p.get("Network.SubnetMask").split("."))
        address = TT_.Address(p.get("Network.IPAddress")), TT_.PrefixLength(str(prefix))
        config = TT_.Config(*((TT_.FromDHCP(*address),) if dhcp else (TT_.Manual(*address),)), TT_.DHCP(boolean(dhcp)))
        return TDS_.GetNetworkInterfacesResponse(TDS_.NetworkInterfaces(
            TT_.Enabled("true"), TT_.Info(TT_.Name("eth0"), TT_.HwAddress(self.device.identity.mac), TT_.MTU("1500")),
            TT_.IPv4(TT_.Enabled("true"), config), token="eth0"))

    async def get_network_protocols(self, msg: SoapMessage, who: Principal) -> etree._Element:
        listening = self.device.listening
        response = TDS_.GetNetworkProtocolsResponse()
        for name, port in (("HTTP", listening.http), ("HTTPS", listening.https), ("RTSP", listening.rtsp)):
            response.append(TDS_.NetworkProtocols(TT_.Name(name), TT_.Enabled(boolean(bool(port))),
                                                  TT_.Port(str(port or 0))))
        return response

    async def get_network_default_gateway(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TDS_.GetNetworkDefaultGatewayResponse(TDS_.NetworkGateway(
            TT_.IPv4Address(self.device.params.get("Network.DefaultRouter"))))

    # -- discovery -------------------------------------------------------------------------
    def _scopes(self) -> tuple[tuple[str, ...], list[str]]:
        discovery = self.device.features[DISCOVERY_SERVICE]
        return discovery.facts.scopes, [s for s in discovery.scopes() if s not in discovery.facts.scopes]

    async def get_scopes(self, msg: SoapMessage, who: Principal) -> etree._Element:
        fixed, configured = self._scopes()
        response = TDS_.GetScopesResponse()
        for kind, scopes in (("Fixed", fixed), ("Configurable", configured)):
            for scope in scopes:
                response.append(TDS_.Scopes(TT_.ScopeDef(kind), TT_.ScopeItem(scope)))
        return response

    def _save_scopes(self, scopes: list[str], who: Principal) -> None:
        try:
            self.device.params.set_internal({WSD_SCOPES: " ".join(dict.fromkeys(scopes))}, who.name)
        except ParamError as err:
            raise invalid(str(err)) from None

    @staticmethod
    def _given(msg: SoapMessage, name: str) -> list[str]:
        given = [(e.text or "").strip() for e in find_all(msg.body, name)]
        if not given:
            raise invalid(f"{etree.QName(msg.body).localname} needs at least one {name}")
        return given

    async def set_scopes(self, msg: SoapMessage, who: Principal) -> etree._Element:
        fixed, _ = self._scopes()
        given = self._given(msg, "Scopes")
        if any(s in fixed for s in given):
            raise sender("A fixed scope cannot be set", OPERATION_PROHIBITED,
                         etree.QName(TER, "ScopeOverwrite"))
        self._save_scopes(given, who)
        return TDS_.SetScopesResponse()

    async def add_scopes(self, msg: SoapMessage, who: Principal) -> etree._Element:
        fixed, configured = self._scopes()
        self._save_scopes(configured + [s for s in self._given(msg, "ScopeItem") if s not in fixed], who)
        return TDS_.AddScopesResponse()

    async def remove_scopes(self, msg: SoapMessage, who: Principal) -> etree._Element:
        fixed, configured = self._scopes()
        given = self._given(msg, "ScopeItem")
        for scope in given:
            if scope in fixed:
                raise sender(f"The fixed scope {scope[:80]} cannot be removed", OPERATION_PROHIBITED,
                             etree.QName(TER, "FixedScope"))
            if scope not in configured:
                raise invalid(f"The device has no scope {scope[:80]}", "NoScope")
        self._save_scopes([s for s in configured if s not in given], who)
        return TDS_.RemoveScopesResponse(*(TDS_.ScopeItem(s) for s in dict.fromkeys(given)))

    async def get_discovery_mode(self, msg: SoapMessage, who: Principal) -> etree._Element:
        on = self.device.params.get_bool(WSD_ENABLED)
        return TDS_.GetDiscoveryModeResponse(TDS_.DiscoveryMode("Discoverable" if on else "NonDiscoverable"))

    async def set_discovery_mode(self, msg: SoapMessage, who: Principal) -> etree._Element:
        mode = text(msg.body, "DiscoveryMode", required=True)
        if mode not in ("Discoverable", "NonDiscoverable"):
            raise invalid(f"DiscoveryMode must be Discoverable or NonDiscoverable, not {mode[:40]!r}")
        self.device.params.set_internal({WSD_ENABLED: "yes" if mode == "Discoverable" else "no"}, who.name)
        return TDS_.SetDiscoveryModeResponse()

    # -- relay outputs (io) ----------------------------------------------------------------
    def _relays(self):
        io = self.device.features.get(IO_SERVICE)
        return [v for v in io.views() if v.direction == "output"] if io else []

    async def get_relay_outputs(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = TDS_.GetRelayOutputsResponse()
        for view in self._relays():
            response.append(TDS_.RelayOutputs(TT_.Properties(
                TT_.Mode("Bistable"), TT_.DelayTime("PT0S"), TT_.IdleState(view.normal)), token=str(view.index)))
        return response

    async def set_relay_output_state(self, msg: SoapMessage, who: Principal) -> etree._Element:
        token = text(msg.body, "RelayOutputToken", required=True, limit=64)
        state = text(msg.body, "LogicalState", required=True)
        if state not in ("active", "inactive"):
            raise invalid(f"LogicalState must be active or inactive, not {state[:40]!r}")
        relay = next((v for v in self._relays() if str(v.index) == token), None)
        if relay is None:
            raise invalid(f"There is no relay output {token[:40]!r}", "RelayToken")
        try:
            self.device.features[IO_SERVICE].set_output(relay.index, state == "active", who.name)
        except IOError_ as err:
            raise invalid(str(err)) from None
        return TDS_.SetRelayOutputStateResponse()


def _renamed(element: etree._Element, name: str) -> etree._Element:
    element.tag = f"{{{etree.QName(element).namespace}}}{name}"
    return element


def _servers(text: str) -> list[Server]:
    try:
        return parse_list(text, NTP_PORT)
    except ValueError:  # stored before the check of today: show none rather than fail
        return []


def _host(name: str) -> tuple[etree._Element, etree._Element]:
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return TT_.Type("DNS"), TT_.DNSname(name)
    if address.version == 6:
        return TT_.Type("IPv6"), TT_.IPv6Address(name)
    return TT_.Type("IPv4"), TT_.IPv4Address(name)


def _utc_of(moment: etree._Element) -> float:
    try:
        when = datetime(number_of(moment, "Date", "Year", 1970, 2100), number_of(moment, "Date", "Month", 1, 12),
                        number_of(moment, "Date", "Day", 1, 31), number_of(moment, "Time", "Hour", 0, 23),
                        number_of(moment, "Time", "Minute", 0, 59), number_of(moment, "Time", "Second", 0, 59),
                        tzinfo=UTC)
    except ValueError as err:
        raise invalid(f"UTCDateTime is not a date and time: {err}", "InvalidDateTime") from None
    return when.timestamp()


def number_of(parent: etree._Element, group: str, name: str, low: int, high: int) -> int:
    return number(parent, group, name, low=low, high=high)


def register(endpoint: OnvifEndpoint, service: DeviceService) -> None:
    for name, access, handler in (
        ("GetServices", PRE_AUTH, service.get_services),
        ("GetServiceCapabilities", PRE_AUTH, service.get_service_capabilities),
        ("GetCapabilities", PRE_AUTH, service.get_capabilities),
        ("GetWsdlUrl", PRE_AUTH, service.get_wsdl_url),
        ("GetEndpointReference", PRE_AUTH, service.get_endpoint_reference),
        ("GetSystemDateAndTime", PRE_AUTH, service.get_system_date_and_time),
        ("GetHostname", PRE_AUTH, service.get_hostname),
        ("GetDeviceInformation", READ_SYSTEM, service.get_device_information),
        ("SetSystemDateAndTime", WRITE_SYSTEM, service.set_system_date_and_time),
        ("SystemReboot", UNRECOVERABLE, service.system_reboot),
        ("SetSystemFactoryDefault", UNRECOVERABLE, service.set_system_factory_default),
        ("GetDNS", READ_SYSTEM, service.get_dns),
        ("GetNTP", READ_SYSTEM, service.get_ntp),
        ("GetNetworkInterfaces", READ_SYSTEM, service.get_network_interfaces),
        ("GetNetworkProtocols", READ_SYSTEM, service.get_network_protocols),
        ("GetNetworkDefaultGateway", READ_SYSTEM, service.get_network_default_gateway),
        ("GetScopes", READ_SYSTEM, service.get_scopes),
        ("SetScopes", WRITE_SYSTEM, service.set_scopes),
        ("AddScopes", WRITE_SYSTEM, service.add_scopes),
        ("RemoveScopes", WRITE_SYSTEM, service.remove_scopes),
        ("GetDiscoveryMode", READ_SYSTEM, service.get_discovery_mode),
        ("SetDiscoveryMode", WRITE_SYSTEM, service.set_discovery_mode),
        ("GetRelayOutputs", READ_SYSTEM, service.get_relay_outputs),
        ("SetRelayOutputState", ACTUATE, service.set_relay_output_state),
    ):
        endpoint.add(TDS, name, access, handler)
