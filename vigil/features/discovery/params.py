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
    MAX_SCOPE_LENGTH,
    MAX_SCOPES,
    NAME_BYTES,
    UPNP_ENABLED,
    UPNP_NAME,
    WSD_ENABLED,
    WSD_SCOPES,
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


def scope_list(value: str) -> str | None:
    """Configurable WS-Discovery scopes: URIs separated by spaces."""
    scopes = value.split()
    if len(scopes) > MAX_SCOPES:
        return f"at most {MAX_SCOPES} scopes"
    for scope in scopes:
        if len(scope) > MAX_SCOPE_LENGTH:
            return f"a scope is at most {MAX_SCOPE_LENGTH} characters"
        if ":" not in scope or any(ord(c) < 33 or ord(c) > 126 for c in scope) or "<" in scope or '"' in scope:
            return f"{scope[:40]!r} is not a URI (e.g. onvif://www.onvif.org/location/hall)"
    return None


def param_defs(profile: Profile, identity: Identity) -> list[ParamDef]:
    friendly = f"{profile.short_name} - {identity.serial}"  # the manual: "the device name and MAC address"
    return [
        ParamDef(BONJOUR_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
        ParamDef(BONJOUR_NAME, friendly, maxlen=NAME_BYTES, check=friendly_name, owner=ON_CHANGE),
        ParamDef(UPNP_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
        ParamDef(UPNP_NAME, friendly, maxlen=NAME_BYTES, check=friendly_name, owner=ON_CHANGE),
        ParamDef(WSD_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
        ParamDef(WSD_SCOPES, "", maxlen=MAX_SCOPES * (MAX_SCOPE_LENGTH + 1), check=scope_list,
                 owner=applied("discovery", how="listener",
                               note="ONVIF's GetScopes, SetScopes, AddScopes and RemoveScopes read and write it.")),
        ParamDef(LLDP_ENABLED, "yes", **YESNO, owner=ON_CHANGE),
    ]
