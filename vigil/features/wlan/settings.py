"""The wireless settings as users give them (the WLAN page's Configure, or the parameters),
checked: `parse` turns a request's fields into `WlanSettings` or says what is wrong."""

from __future__ import annotations

from typing import Any

from vigil.core import checks
from vigil.features.wlan.const import MAX_SSID_BYTES
from vigil.hal.wlan import SECURITIES, WlanSettings


class SettingsError(ValueError):
    """A field that is wrong, with `field` naming it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


def check_ssid(ssid: str) -> str | None:
    if not ssid or len(ssid.encode()) > MAX_SSID_BYTES:
        return f"a network name (SSID) is 1 to {MAX_SSID_BYTES} bytes"
    return None


def check_password(security: str, password: str) -> str | None:
    if security in ("wpa2-psk", "wpa3-sae"):
        ascii_ok = password.isascii() and password.isprintable() and 8 <= len(password) <= 63
        hex_ok = len(password) == 64 and all(c in "0123456789abcdefABCDEF" for c in password)
        if not (ascii_ok or hex_ok):
            return "a WPA password is 8 to 63 printable ASCII characters (or 64 hexadecimal digits)"
    elif security == "wpa2-eap" and not 1 <= len(password) <= 128:
        return "the account's password is 1 to 128 characters"
    return None


def parse(fields: Any, stored_password: str = "") -> WlanSettings:
    """A configure request's fields; a password left out keeps `stored_password` (same network)."""
    if not isinstance(fields, dict):
        raise SettingsError("params", "params must be an object with ssid, security and password")

    def text(name: str, default: str = "", limit: int = 256) -> str:
        value = fields.get(name, default)
        if not isinstance(value, str) or len(value) > limit:
            raise SettingsError(name, f"{name} must be text of at most {limit} characters")
        return value

    def flag(name: str, default: bool) -> bool:
        value = fields.get(name, default)
        if not isinstance(value, bool):
            raise SettingsError(name, f"{name} must be true or false")
        return value

    ssid = text("ssid")
    if reason := check_ssid(ssid):
        raise SettingsError("ssid", reason)
    security = text("security", "wpa2-psk")
    if security not in SECURITIES:
        raise SettingsError("security", f"security must be one of {', '.join(SECURITIES)}")
    password = text("password", stored_password) if "password" in fields else stored_password
    if reason := check_password(security, password):
        raise SettingsError("password", reason)
    identity = text("identity", "", 128)
    if security == "wpa2-eap" and not identity:
        raise SettingsError("identity", "an enterprise network needs the account (identity)")
    ipv4 = text("ipv4", "dhcp")
    if ipv4 not in ("dhcp", "static"):
        raise SettingsError("ipv4", "ipv4 is dhcp or static")
    address, gateway, prefix = text("address", "", 15), text("gateway", "", 15), fields.get("prefix", 24)
    if isinstance(prefix, bool) or not isinstance(prefix, int) or not 1 <= prefix <= 32:
        raise SettingsError("prefix", "prefix is a whole number from 1 to 32")
    if ipv4 == "static":
        if reason := checks.ipv4(address):
            raise SettingsError("address", f"address: {reason}")
        if reason := checks.ipv4_or_empty(gateway):
            raise SettingsError("gateway", f"gateway: {reason}")
    return WlanSettings(ssid, security, "" if security == "open" else password, identity,
                        flag("hidden", False), ipv4, address if ipv4 == "static" else "", prefix,
                        gateway if ipv4 == "static" else "", flag("ipv6", True))
