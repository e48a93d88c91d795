"""The WLAN service: the networks in range, the network the device joins (its settings in the
`Network.Wireless.*` parameters, the password sealed), and the switch-over between the wired
and the wireless interface: the device uses Ethernet while the cable is plugged and joins the
configured wireless network when it is pulled (the W401 manual: "The device will switch to the
wireless connection when you disconnect the ethernet cable").

Configure joins the network first and stores the settings only when it accepted them, so a
wrong password is an error and the previous settings stay. A network lost later (out of range)
is an event and a line in the system log; the device joins again when the network is back.
"""

from __future__ import annotations

import asyncio
import contextlib

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import Change, ParamTree
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.features.wlan.const import (
    ALL,
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
    WIRELESS,
)
from vigil.hal.network import NetworkHardware
from vigil.hal.wlan import AccessPoint, WlanError, WlanRadio, WlanSettings


class WlanService:
    def __init__(self, radio: WlanRadio, wired: NetworkHardware, params: ParamTree, bus: EventBus,
                 logs: Logs) -> None:
        self.radio = radio
        self.wired = wired
        self.params = params
        self.bus = bus
        self.logs = logs
        self.networks: list[AccessPoint] = []
        self.last_error = ""
        self._lock = asyncio.Lock()
        self._pending: asyncio.Task | None = None
        self._storing = False  # Configure is writing the parameters it has just joined with
        self._declared = False  # the wired interface may change while the device loads, before declare()
        radio.watch(self._changed)
        wired.watch(self._changed)
        params.listeners.append(self._on_params)

    # -- settings -------------------------------------------------------------------------
    def settings(self) -> WlanSettings | None:
        p = self.params.get
        if not p(SSID):
            return None
        return WlanSettings(p(SSID), p(SECURITY), p(PASSWORD), p(IDENTITY), self.params.get_bool(HIDDEN),
                            p(IPV4_MODE), p(IPV4_ADDRESS), int(p(IPV4_PREFIX)), p(IPV4_GATEWAY),
                            self.params.get_bool(IPV6_ENABLED))

    def cable(self) -> bool:
        return self.wired.state().link

    def interface(self) -> str:
        if self.cable():
            return "ethernet"
        return "wlan" if self.radio.state().connected else "none"

    # -- events -----------------------------------------------------------------------------
    def declare(self) -> None:
        self.bus.declare(Topic(WIRELESS, "Wireless connection", True, (),
                               (Item("Connected", "xsd:boolean", "Connected", state=True),
                                Item("SSID", "xsd:string", "Network"),
                                Item("Interface", "xsd:string", "Interface in use", ("ethernet", "wlan", "none")))))
        self._declared = True
        self._publish()

    def _publish(self) -> None:
        if not self._declared:
            return
        state = self.radio.state()
        self.bus.publish(WIRELESS, {}, {"Connected": "1" if state.connected else "0", "SSID": state.ssid,
                                        "Interface": self.interface()})

    async def run(self) -> None:
        await self.reconcile()
        await asyncio.Event().wait()

    # -- the switch-over -------------------------------------------------------------------------
    def _changed(self) -> None:
        """The cable, the networks in range or the interface changed: reconcile soon."""
        self._publish()
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return  # not serving yet: run() reconciles
        if self._pending is None or self._pending.done():
            self._pending = asyncio.ensure_future(self.reconcile())

    def _on_params(self, changes: list[Change], actor: str) -> None:
        if not self._storing and any(c.name in ALL for c in changes):
            self.logs.system(f"{actor} changed the wireless settings")
            self._changed()

    async def reconcile(self) -> None:
        """Ethernet while the cable is plugged; else the configured wireless network."""
        async with self._lock:
            state = self.radio.state()
            settings = self.settings()
            wanted = not self.cable() and settings is not None
            if not wanted and state.connected:
                await self.radio.disconnect()
                self.logs.system("Ethernet cable plugged: the device uses the wired network"
                                 if self.cable() else "No wireless network configured: wireless disconnected")
            elif wanted and settings is not None and (not state.connected or state.ssid != settings.ssid):
                try:
                    await self.radio.connect(settings)
                    self.last_error = ""
                    self.logs.system(f"Ethernet cable unplugged: the device uses the wireless network "
                                     f"{settings.ssid!r}")
                except WlanError as err:
                    if str(err) != self.last_error:
                        self.logs.system(f"The wireless network cannot be joined: {err}", "warning")
                    self.last_error = str(err)
            elif state.reason and state.reason != self.last_error and not state.connected and wanted:
                self.last_error = state.reason
            self._publish()

    # -- what the page does -----------------------------------------------------------------------
    async def refresh(self) -> list[AccessPoint]:
        try:
            self.networks = await self.radio.scan()
        except WlanError as err:
            self.logs.system(f"Scanning for wireless networks failed: {err}", "warning")
            raise
        return self.networks

    async def configure(self, settings: WlanSettings, actor: str) -> None:
        """Join `settings`' network and keep the settings once it accepted them; WlanError else
        (the settings in place stay). With the cable plugged the device goes back to Ethernet."""
        async with self._lock:
            try:
                await self.radio.connect(settings)
            except WlanError as err:
                self.logs.system(f"{actor} could not join the wireless network {settings.ssid!r}: {err}", "warning")
                raise
            self._storing = True
            try:
                self.params.update([(SSID, settings.ssid), (SECURITY, settings.security),
                                    (HIDDEN, "yes" if settings.hidden else "no"), (PASSWORD, settings.password),
                                    (IDENTITY, settings.identity), (IPV4_MODE, settings.ipv4),
                                    (IPV4_ADDRESS, settings.address), (IPV4_PREFIX, str(settings.prefix)),
                                    (IPV4_GATEWAY, settings.gateway),
                                    (IPV6_ENABLED, "yes" if settings.ipv6 else "no")], Role.ADMIN, actor)
            finally:
                self._storing = False
            self.last_error = ""
            self.logs.system(f"{actor} configured the wireless network {settings.ssid!r}")
            if self.cable():
                await self.radio.disconnect()  # tested and kept; Ethernet stays in use
            self._publish()

    async def forget(self, actor: str) -> None:
        async with self._lock:
            self._storing = True
            try:
                self.params.update([(SSID, ""), (PASSWORD, ""), (IDENTITY, "")], Role.ADMIN, actor)
            finally:
                self._storing = False
            with contextlib.suppress(WlanError):
                await self.radio.disconnect()
            self.last_error = ""
            self._publish()

    def status(self) -> dict:
        state = self.radio.state()
        settings = self.settings()
        configured = None
        if settings is not None:
            configured = {"ssid": settings.ssid, "security": settings.security, "hidden": settings.hidden,
                          "identity": settings.identity, "ipv4": settings.ipv4, "address": settings.address,
                          "prefix": settings.prefix, "gateway": settings.gateway, "ipv6": settings.ipv6}
        return {
            "interface": self.interface(),
            "cable": self.cable(),
            "connection": {"connected": state.connected, "ssid": state.ssid, "bssid": state.bssid,
                           "signal": state.signal, "addresses": list(state.addresses), "reason": state.reason},
            "configured": configured,
            "lastError": self.last_error,
            "networks": [{"ssid": a.ssid, "bssid": a.bssid, "signal": a.signal, "channel": a.channel,
                          "security": a.security} for a in self.networks],
        }


WLAN_SERVICE: Key[WlanService] = Key("wlan")
