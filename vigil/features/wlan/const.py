"""The WLAN feature's names: the event topic, parameter names, paths, error codes and limits."""

from __future__ import annotations

# Stateful: Connected while the wireless interface is joined; Interface says which one the
# device uses now (ethernet, wlan or none).
WIRELESS = "tns1:Device/tnsaxis:Network/Wireless"

# -- parameters -------------------------------------------------------------------------------
SSID = "Network.Wireless.SSID"
SECURITY = "Network.Wireless.Security"
HIDDEN = "Network.Wireless.Hidden"
PASSWORD = "Network.Wireless.Password"  # sealed: the pre-shared key, or the enterprise account's password
IDENTITY = "Network.Wireless.Identity"  # enterprise: the account
IPV4_MODE = "Network.Wireless.IPv4.Mode"
IPV4_ADDRESS = "Network.Wireless.IPv4.Address"
IPV4_PREFIX = "Network.Wireless.IPv4.PrefixLength"
IPV4_GATEWAY = "Network.Wireless.IPv4.Gateway"
IPV6_ENABLED = "Network.Wireless.IPv6.Enabled"
ALL = (SSID, SECURITY, HIDDEN, PASSWORD, IDENTITY, IPV4_MODE, IPV4_ADDRESS, IPV4_PREFIX, IPV4_GATEWAY, IPV6_ENABLED)
MAX_SSID_BYTES = 32

# -- the JSON API ---------------------------------------------------------------------------------
WLAN_PATH = "/vigil/wlan"
ERRORS = {
    2101: "Invalid JSON",
    2102: "Method not supported",
    2104: "Invalid parameter value specified",
    3000: "The network could not be joined",
}
SIM_WLAN = "/vigil/sim/wlan"
