"""A simulated wireless interface among scripted access points: tests (or the simulation API)
put networks in range with a signal, a channel, a security and a password, take them away,
and the device scans and joins them as it would real ones. No radio is touched."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from vigil.hal.wlan import AccessPoint, WlanError, WlanSettings, WlanState


@dataclass
class ScriptedAccessPoint:
    ap: AccessPoint
    password: str = ""
    identity: str = ""  # enterprise: the one account the RADIUS server behind it accepts
    hidden: bool = False
    subnet: str = "192.168.50"  # what its DHCP server hands out: <subnet>.<n>/24, router <subnet>.1


class SimulatedWlan:
    def __init__(self) -> None:
        self.access_points: dict[str, ScriptedAccessPoint] = {}  # by SSID
        self._state = WlanState(reason="not configured")
        self._settings: WlanSettings | None = None
        self._watchers: list[Callable[[], None]] = []
        self.scans = 0

    # -- the device's side -------------------------------------------------------------
    async def scan(self) -> list[AccessPoint]:
        self.scans += 1
        return sorted((s.ap for s in self.access_points.values() if not s.hidden), key=lambda a: -a.signal)

    async def connect(self, settings: WlanSettings) -> WlanState:
        scripted = self.access_points.get(settings.ssid)
        if scripted is None:
            raise WlanError(f"the network {settings.ssid!r} is not in range")
        if scripted.ap.security != settings.security:
            raise WlanError(f"the network {settings.ssid!r} uses {scripted.ap.security}, not {settings.security}")
        if settings.security == "wpa2-eap" and settings.identity != scripted.identity:
            raise WlanError(f"the network {settings.ssid!r} refused the account {settings.identity!r}")
        if settings.security != "open" and settings.password != scripted.password:
            raise WlanError(f"the network {settings.ssid!r} refused the password")
        self._settings = settings
        self._state = self._joined(scripted, settings)
        return self._state

    async def disconnect(self) -> None:
        self._settings = None
        self._state = WlanState(reason="disconnected")

    def state(self) -> WlanState:
        return self._state

    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.append(callback)

    @staticmethod
    def _joined(scripted: ScriptedAccessPoint, settings: WlanSettings) -> WlanState:
        addresses = [f"{settings.address}/{settings.prefix}" if settings.ipv4 == "static"
                     else f"{scripted.subnet}.20/24"]
        if settings.ipv6:
            addresses.append("fe80::1322:33ff:fe44:5566/64")
        return WlanState(True, settings.ssid, scripted.ap.bssid, scripted.ap.signal, tuple(addresses))

    # -- the outside world's side ------------------------------------------------------
    def add_access_point(self, ssid: str, security: str = "wpa2-psk", password: str = "", signal: int = 70,
                         channel: int = 6, bssid: str = "", hidden: bool = False, identity: str = "") -> None:
        """A network comes into range (or changes)."""
        bssid = bssid or f"02:00:00:00:{len(self.access_points) // 256:02x}:{len(self.access_points) % 256:02x}"
        self.access_points[ssid] = ScriptedAccessPoint(AccessPoint(ssid, bssid, signal, channel, security),
                                                       password, identity, hidden)
        self._notify()

    def remove_access_point(self, ssid: str) -> None:
        """A network goes out of range: joined to it, the interface loses it."""
        if self.access_points.pop(ssid, None) is None:
            return
        if self._state.connected and self._state.ssid == ssid:
            self._settings = None
            self._state = WlanState(reason=f"the network {ssid!r} went out of range")
        self._notify()

    def _notify(self) -> None:
        for watcher in list(self._watchers):
            watcher()
