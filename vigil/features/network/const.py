"""The network feature's names: parameters, the network settings API's path, versions and
error codes, and its limits."""

from __future__ import annotations

from vigil.http.vapix import ServiceCodes

# -- parameters: the settings (static values, as VAPIX names them) --------------------------
ENABLED = "Network.Enabled"  # the interface up (yes) or down (no)
BOOT_PROTO = "Network.BootProto"  # dhcp | none (static)
IP_ADDRESS = "Network.IPAddress"
SUBNET_MASK = "Network.SubnetMask"
BROADCAST = "Network.Broadcast"
DEFAULT_ROUTER = "Network.DefaultRouter"
IPV4_ENABLED = "Network.Interface.I0.Link.IPv4Enabled"
STATIC_FALLBACK = "Network.Interface.I0.Manual.Fallback"  # DHCP without a lease: the static address
ZEROCONF = "Network.ZeroConf.Enabled"  # link-local IPv4 address
ZEROCONF_FALLBACK = "Network.ZeroConf.Fallback"  # ... only when there is no other address
HOST_NAME = "Network.HostName"  # the static host name
HOST_NAME_FROM_DHCP = "Network.VolatileHostName.ObtainFromDHCP"
DNS_SERVER_1 = "Network.DNSServer1"
DNS_SERVER_2 = "Network.DNSServer2"
DOMAIN_NAME = "Network.DomainName"
STATIC_SEARCH = "Network.Resolver.StaticSearchDomains"  # comma-separated
RESOLVER_FROM_DHCP = "Network.Resolver.ObtainFromDHCP"
IPV6_ENABLED = "Network.IPv6.Enabled"
IPV6_ACCEPT_RA = "Network.IPv6.AcceptRA"
IPV6_ADDRESS = "Network.IPv6.IPAddress"  # space-separated, each with an optional /prefix
IPV6_ROUTER = "Network.IPv6.DefaultRouter"
DNS_UPDATE = "Network.DNSUpdate.Enabled"
DNS_UPDATE_NAME = "Network.DNSUpdate.DNSName"
DNS_UPDATE_TTL = "Network.DNSUpdate.TTL"
HTTP_PROXY = "Network.Proxy.HTTP"  # scheme://[user@]host:port, the password apart
HTTP_PROXY_PASSWORD = "Network.Proxy.HTTPPassword"
HTTPS_PROXY = "Network.Proxy.HTTPS"
HTTPS_PROXY_PASSWORD = "Network.Proxy.HTTPSPassword"
NO_PROXY = "Network.Proxy.NoProxy"

# -- parameters: what is in use (read-only, from the interface) -----------------------------
IN_USE_ADDRESS = "Network.eth0.IPAddress"
IN_USE_MASK = "Network.eth0.SubnetMask"
IN_USE_BROADCAST = "Network.eth0.Broadcast"
MAC_ADDRESS = "Network.eth0.MACAddress"
IN_USE_IPV6 = "Network.eth0.IPv6.IPAddresses"
IN_USE_ROUTER = "Network.Routing.DefaultRouter"
IN_USE_ROUTER6 = "Network.Routing.IPv6.DefaultRouter"
IN_USE_LINK_LOCAL = "Network.ZeroConf.IPAddress"
IN_USE_LINK_LOCAL_MASK = "Network.ZeroConf.SubnetMask"
IN_USE_HOST_NAME = "Network.VolatileHostName.HostName"
IN_USE_NAME_SERVERS = "Network.Resolver.NameServerList"
IN_USE_SEARCH = "Network.Resolver.Search"

# -- limits ---------------------------------------------------------------------------------
MAX_STATIC_NAME_SERVERS = 2  # DNSServer1, DNSServer2
MAX_STATIC_SEARCH_DOMAINS = 6
MAX_STATIC_IPV4 = 1
MAX_STATIC_IPV6 = 4
DNS_UPDATE_TIMEOUT = 5.0  # seconds for a DNS server to answer an update
INTERFACE = "eth0"  # the device name the APIs use, whatever the backend's interface is called

# -- /axis-cgi/network_settings.cgi ---------------------------------------------------------
NETWORK_SETTINGS = "/axis-cgi/network_settings.cgi"
NETWORK_SETTINGS_VERSIONS = ["1.0", "1.21"]
NO_DEVICE = 5000
ERRORS = {
    ServiceCodes.INTERNAL: "Internal error",
    ServiceCodes.INVALID_REQUEST: "Invalid request",
    ServiceCodes.BODY_TOO_LARGE: "Request body too large",
    ServiceCodes.INVALID_JSON: "Invalid JSON data",
    ServiceCodes.NO_METHOD: "Method does not exist",
    ServiceCodes.BAD_VERSION: "The specified version is not supported",
    ServiceCodes.AUTHORIZATION: "Authorization failed",
    ServiceCodes.MISSING: "Missing parameter(s)",
    ServiceCodes.INVALID: "Invalid parameter(s)",
    NO_DEVICE: "No device found for the given device name",
}
MAX_BODY = 65536

# -- the simulation API ---------------------------------------------------------------------
SIM_NETWORK = "/vigil/sim/network"

# The device has no FTP server of its own: the parameter exists (clients read it) and stays "no".
FTP_SERVER = "Network.FTP.Enabled"
NO_FTP_SERVER = "the device has no FTP server: files leave it through the FTP and SFTP recipients"
