"""The wireless interface's parameters (`Network.Wireless.*`): the network joined and its IP
settings. The WLAN page's Configure writes them after the network accepted them; written
otherwise (Plain config, param.cgi), the service joins with them and reports the outcome."""

from __future__ import annotations

from vigil.core import checks
from vigil.core.params import ParamDef, applied
from vigil.core.roles import Role
from vigil.features.wlan.const import (
    HIDDEN,
    IDENTITY,
    IPV4_ADDRESS,
    IPV4_GATEWAY,
    IPV4_MODE,
    IPV4_PREFIX,
    IPV6_ENABLED,
    PASSWORD,
    SECURITY,
    SSID,
)
from vigil.hal.wlan import SECURITIES

ON_CHANGE = applied("wlan", how="listener")  # the service joins again with the new settings


def param_defs() -> list[ParamDef]:
    A = Role.ADMIN
    return [
        ParamDef(SSID, "", maxlen=32, read=A, nice="Network name (SSID)", owner=ON_CHANGE),
        ParamDef(SECURITY, "wpa2-psk", "enum", SECURITIES, read=A, nice="Security", owner=ON_CHANGE),
        ParamDef(HIDDEN, "no", "bool", read=A, nice="Hidden network", owner=ON_CHANGE),
        ParamDef(PASSWORD, "", "password", maxlen=128, read=A, nice="Password", owner=ON_CHANGE),
        ParamDef(IDENTITY, "", maxlen=128, read=A, nice="Identity (enterprise)", owner=ON_CHANGE),
        ParamDef(IPV4_MODE, "dhcp", "enum", ("dhcp", "static"), read=A, nice="IPv4", owner=ON_CHANGE),
        ParamDef(IPV4_ADDRESS, "", maxlen=15, read=A, nice="IPv4 address", check=checks.ipv4_or_empty, owner=ON_CHANGE),
        ParamDef(IPV4_PREFIX, "24", "int", minimum=1, maximum=32, read=A, nice="IPv4 prefix length",
                 owner=ON_CHANGE),
        ParamDef(IPV4_GATEWAY, "", maxlen=15, read=A, nice="IPv4 router", check=checks.ipv4_or_empty, owner=ON_CHANGE),
        ParamDef(IPV6_ENABLED, "yes", "bool", read=A, nice="IPv6", owner=ON_CHANGE),
    ]
