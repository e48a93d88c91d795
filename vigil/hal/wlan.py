"""The wireless LAN interface: the access points in range, joining one network (personal WPA2 /
WPA3, enterprise WPA2 with PEAP, open; hidden or not) with its IP settings, and what the
interface has now.

Joining reports the outcome: a refused password, a network out of range or an association that
times out is a `WlanError` saying so; a network lost later (the access point goes away) is a
state change the watchers hear.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vigil.core.registry import Key

SECURITIES = ("open", "wpa2-psk", "wpa3-sae", "wpa2-eap")


class WlanError(RuntimeError):
    """Joining or scanning failed, with a message for the user."""


@dataclass(frozen=True)
class AccessPoint:
    ssid: str
    bssid: str
    signal: int  # percent, 0-100
    channel: int
    security: str  # one of SECURITIES


@dataclass(frozen=True)
class WlanSettings:
    ssid: str
    security: str = "wpa2-psk"
    password: str = ""  # the pre-shared key (personal) or the account's password (enterprise)
    identity: str = ""  # enterprise: the account
    hidden: bool = False  # join by name, the network does not broadcast it
    ipv4: str = "dhcp"  # dhcp | static
    address: str = ""  # static: the address, prefix and router
    prefix: int = 24
    gateway: str = ""
    ipv6: bool = True  # router advertisements on the wireless interface


@dataclass(frozen=True)
class WlanState:
    connected: bool = False
    ssid: str = ""
    bssid: str = ""
    signal: int = 0
    addresses: tuple[str, ...] = ()  # "192.168.1.20/24" style
    reason: str = ""  # why it is not connected (out of range, password refused ...)


class WlanRadio(Protocol):
    async def scan(self) -> list[AccessPoint]:
        """Scan now and return the networks in range (hidden ones are not listed)."""

    async def connect(self, settings: WlanSettings) -> WlanState:
        """Join the network; raises WlanError when it cannot."""

    async def disconnect(self) -> None: ...

    def state(self) -> WlanState: ...

    def watch(self, callback: Callable[[], None]) -> None:
        """`callback` runs when the state or the networks in range change by themselves."""


WLAN_RADIO: Key[WlanRadio] = Key("wlan")
