"""The discovery feature's names: parameters, wire constants of each protocol, paths."""

from __future__ import annotations

# -- parameters ---------------------------------------------------------------------------
BONJOUR_ENABLED = "Network.Bonjour.Enabled"
BONJOUR_NAME = "Network.Bonjour.FriendlyName"
UPNP_ENABLED = "Network.UPnP.Enabled"
UPNP_NAME = "Network.UPnP.FriendlyName"
WSD_ENABLED = "WebService.DiscoveryMode.Discoverable"  # ONVIF's discovery mode, as Axis names it
LLDP_ENABLED = "Network.LLDP.Enabled"  # the manual's "LLDP and CDP" switch
# The configurable WS-Discovery scopes, space separated (ONVIF SetScopes/AddScopes/RemoveScopes);
# the fixed ones (hardware, name, MAC, type) come from the device's facts.
WSD_SCOPES = "WebService.DiscoveryMode.Scopes"
MAX_SCOPES = 32
MAX_SCOPE_LENGTH = 128
HOST_NAME = "Network.HostName"  # read: the mDNS host name and the LLDP/CDP system name
SETTINGS = (BONJOUR_ENABLED, BONJOUR_NAME, UPNP_ENABLED, UPNP_NAME, WSD_ENABLED, WSD_SCOPES, LLDP_ENABLED, HOST_NAME)
NAME_BYTES = 63  # a DNS label, and UPnP's "should be < 64 characters"

# -- Bonjour / mDNS -----------------------------------------------------------------------
# Home Assistant's Axis integration browses this type and reads the TXT record `macaddress`.
AXIS_VIDEO = "_axis-video._tcp.local."
HTTP_SERVICE = "_http._tcp.local."

# -- UPnP / SSDP --------------------------------------------------------------------------
BASIC_DEVICE = "urn:schemas-upnp-org:device:Basic:1"
BASIC_SERVICE = "urn:axis-com:service:BasicService:1"
BASIC_SERVICE_ID = "urn:axis-com:serviceId:BasicServiceId"
DESCRIPTION_PATH = "/rootdesc1.xml"  # the paths an Axis device uses
SCPD_PATH = "/scpd_basic.xml"
CONTROL_PATH = "/upnp/control/BasicServiceId"
EVENT_PATH = "/upnp/event/BasicServiceId"

# -- WS-Discovery (ONVIF uses the 2005/04 draft) --------------------------------------------
WSD_PORT = 3702
WSD_GROUP = "239.255.255.250"
NS_SOAP = "http://www.w3.org/2003/05/soap-envelope"
NS_WSA = "http://schemas.xmlsoap.org/ws/2004/08/addressing"
NS_WSD = "http://schemas.xmlsoap.org/ws/2005/04/discovery"
NS_DN = "http://www.onvif.org/ver10/network/wsdl"
NS_TDS = "http://www.onvif.org/ver10/device/wsdl"
WSD_TO = "urn:schemas-xmlsoap-org:ws:2005:04:discovery"
WSA_ANONYMOUS = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous"
# The ONVIF device service the XAddrs point at; the ONVIF issue implements it.
DEVICE_SERVICE_PATH = "/onvif/device_service"

# -- LLDP / CDP ---------------------------------------------------------------------------
LLDP_INTERVAL = 30.0  # IEEE 802.1AB msgTxInterval
LLDP_TTL = 120  # msgTxHold (4) x msgTxInterval, as switches expect
CDP_INTERVAL = 60.0
CDP_HOLD = 180
