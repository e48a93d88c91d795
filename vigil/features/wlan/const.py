"""The WLAN feature's names: the event topic, parameter names, paths, error codes and limits."""

from __future__ import annotations

# Stateful: Connected while the wireless interface is joined; Interface says which one the
# device uses now (ethernet, wlan or none).
WIRELESS = "tns1:Device/tnsaxis:Network/Wireless"

# -- parameters -------------------------------------------------------------------------------
GROUP = "Network.Wireless."
SSID = GROUP + "SSID"
SECURITY = GROUP + "Security"
HIDDEN = GROUP + "Hidden"
PASSWORD = GROUP + "Password"  # sealed: the pre-shared key, or the enterprise account's password
IDENTITY = GROUP + "Identity"  # enterprise: the account
IPV4_MODE = GROUP + "IPv4.Mode"
IPV4_ADDRESS = GROUP + "IPv4.Address"
IPV4_PREFIX = GROUP + "IPv4.PrefixLength"
IPV4_GATEWAY = GROUP + "IPv4.Gateway"
IPV6_ENABLED = GROUP + "IPv6.Enabled"
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
