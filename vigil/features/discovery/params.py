"""The discovery settings as parameters (the manual's "Network discovery protocols"): Bonjour
and its name, UPnP and its name, WS-Discovery, LLDP and CDP. The service follows their changes
at once (a listener on the tree)."""

from __future__ import annotations

from vigil.core.identity import Identity
from vigil.core.params import ParamDef, applied
from vigil.features.discovery.const import (
    BONJOUR_ENABLED,
    BONJOUR_NAME,
    LLDP_ENABLED,
    NAME_BYTES,
    UPNP_ENABLED,
    UPNP_NAME,
    WSD_ENABLED,
)
from vigil.profiles import Profile

ON_CHANGE = applied("discovery", how="listener")
YESNO = {"kind": "bool"}


def friendly_name(value: str) -> str | None:
    """A name other devices show: one DNS label (63 bytes of UTF-8), not blank."""
    if not value.strip():
        return "a name is required"
    if len(value.encode()) > NAME_BYTES:
        return f"longer than {NAME_BYTES} bytes in UTF-8"
    if value != value.strip():
        return "no spaces at the start or the end"
    return None


def param_defs(profile: Profile, identity: Identity) -> list[ParamDef]:
    friendly = f"{profile.short_name} - {identity.serial}"  # the manual: "the device name and MAC address"
    return [
        ParamDef(BONJOUR_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
        ParamDef(BONJOUR_NAME, friendly, maxlen=NAME_BYTES, check=friendly_name, owner=ON_CHANGE),
        ParamDef(UPNP_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
        ParamDef(UPNP_NAME, friendly, maxlen=NAME_BYTES, check=friendly_name, owner=ON_CHANGE),
        ParamDef(WSD_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
        ParamDef(LLDP_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
    ]
