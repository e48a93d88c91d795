"""The wireless interface through NetworkManager on D-Bus (dbus-fast, asyncio).

Scanning: `RequestScan` on the interface's `Device.Wireless`, then each of
`GetAllAccessPoints` (SSID, BSSID, strength, frequency as a channel, the RSN/WPA key
management flags as a security). Joining: a connection of our own (`AddConnection` with the
802-11-wireless, -security or 802-1x, ipv4 and ipv6 settings), activated on the interface
(`ActivateConnection`, on the access point's object or "/" for a hidden network), then waited
for until NetworkManager says activated or gives up (its reason told). Leaving: the active
connection deactivated and our connection deleted. The device's `StateChanged` and
`AccessPointAdded`/`Removed` signals tell the watchers that something changed by itself.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus

from vigil.hal.wlan import AccessPoint, WlanError, WlanSettings, WlanState

NM = "org.freedesktop.NetworkManager"
NM_PATH = "/org/freedesktop/NetworkManager"
SETTINGS_PATH = NM_PATH + "/Settings"
SETTINGS = NM + ".Settings"
CONNECTION = NM + ".Settings.Connection"
DEVICE = NM + ".Device"
WIRELESS = NM + ".Device.Wireless"
ACCESS_POINT = NM + ".AccessPoint"
ACTIVE = NM + ".Connection.Active"
PROPERTIES = "org.freedesktop.DBus.Properties"
KEY_MGMT_PSK, KEY_MGMT_8021X, KEY_MGMT_SAE = 0x100, 0x200, 0x400
ACTIVATED, DEACTIVATED = 2, 4
DEVICE_ACTIVATED = 100
# NMDeviceStateReason values a user can act on.
REASONS = {7: "the network refused the password (no secrets)", 8: "the network refused the password",
           9: "the network refused the password", 10: "the network refused the password",
           11: "the network did not answer in time", 53: "the network is not in range"}
KEY_MGMT = {"wpa2-psk": "wpa-psk", "wpa3-sae": "sae", "wpa2-eap": "wpa-eap"}
CONNECTION_ID = "vigil-wlan"


def channel_of(frequency: int) -> int:
    """The WLAN channel of a frequency in MHz (2.4 GHz, 5 GHz and 6 GHz bands)."""
    if frequency == 2484:
        return 14
    if 2412 <= frequency < 2484:
        return (frequency - 2407) // 5
    if 5955 <= frequency <= 7115:
        return (frequency - 5950) // 5
    if 5000 <= frequency < 5955:
        return (frequency - 5000) // 5
    return 0


def security_of(flags: int, wpa: int, rsn: int) -> str:
    both = wpa | rsn
    if both & KEY_MGMT_SAE:
        return "wpa3-sae"
    if both & KEY_MGMT_8021X:
        return "wpa2-eap"
    if both & KEY_MGMT_PSK or flags & 1:
        return "wpa2-psk"
    return "open"


def connection_settings(settings: WlanSettings) -> dict[str, dict[str, Variant]]:
    conf: dict[str, dict[str, Variant]] = {
        "connection": {"id": Variant("s", CONNECTION_ID), "type": Variant("s", "802-11-wireless"),
                       "autoconnect": Variant("b", False)},
        "802-11-wireless": {"ssid": Variant("ay", settings.ssid.encode()), "mode": Variant("s", "infrastructure"),
                            "hidden": Variant("b", settings.hidden)},
    }
    if settings.security != "open":
        security = {"key-mgmt": Variant("s", KEY_MGMT[settings.security])}
        if settings.security != "wpa2-eap":
            security["psk"] = Variant("s", settings.password)
        conf["802-11-wireless-security"] = security
    if settings.security == "wpa2-eap":
        conf["802-1x"] = {"eap": Variant("as", ["peap"]), "identity": Variant("s", settings.identity),
                          "password": Variant("s", settings.password), "phase2-auth": Variant("s", "mschapv2")}
    if settings.ipv4 == "static":
        ipv4 = {"method": Variant("s", "manual"), "address-data": Variant("aa{sv}", [
            {"address": Variant("s", settings.address), "prefix": Variant("u", settings.prefix)}])}
        if settings.gateway:
            ipv4["gateway"] = Variant("s", settings.gateway)
    else:
        ipv4 = {"method": Variant("s", "auto")}
    conf["ipv4"] = ipv4
    conf["ipv6"] = {"method": Variant("s", "auto" if settings.ipv6 else "disabled")}
    return conf


class NetworkManagerWlan:
    def __init__(self, interface: str, bus_address: str | None = None, timeout: float = 30.0) -> None:
        self.interface = interface
        self.bus_address = bus_address
        self.timeout = timeout
        self.bus: MessageBus | None = None
        self.device = ""
        self._connection = ""  # our settings connection, while it exists
        self._active = ""  # its active connection, while joined
        self._state = WlanState(reason="not configured")
        self._watchers: list[Callable[[], None]] = []

    # -- D-Bus -----------------------------------------------------------------------------
    async def _call(self, path: str, interface: str, member: str, signature: str = "",
                    body: list[Any] | None = None, destination: str = NM) -> list[Any]:
        if self.bus is None:
            raise WlanError("NetworkManager is not reached")
        reply = await self.bus.call(Message(destination=destination, path=path, interface=interface, member=member,
                                            signature=signature, body=body or []))
        if reply is None or reply.message_type == MessageType.ERROR:
            detail = reply.body[0] if reply is not None and reply.body else ""
            raise WlanError(f"{member}: {reply.error_name if reply else 'no reply'} {detail}".strip())
        return reply.body

    async def _get(self, path: str, interface: str, name: str) -> Any:
        (value,) = await self._call(path, PROPERTIES, "Get", "ss", [interface, name])
        return value.value

    async def _ensure(self) -> None:
        if self.bus is not None:
            return
        try:
            self.bus = await (MessageBus(bus_address=self.bus_address) if self.bus_address
                              else MessageBus(bus_type=BusType.SYSTEM)).connect()
        except (OSError, ValueError) as err:
            raise WlanError(f"cannot reach the system bus: {err}") from None
        try:
            (self.device,) = await self._call(NM_PATH, NM, "GetDeviceByIpIface", "s", [self.interface])
        except WlanError:
            self.bus.disconnect()
            self.bus = None
            raise WlanError(f"NetworkManager has no interface {self.interface!r}") from None
        self.bus.add_message_handler(self._on_message)
        for rule in (f"type='signal',sender='{NM}',path='{self.device}',interface='{DEVICE}',member='StateChanged'",
                     f"type='signal',sender='{NM}',path='{self.device}',interface='{WIRELESS}'"):
            await self._call("/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [rule],
                             destination="org.freedesktop.DBus")

    def _on_message(self, message: Message) -> bool:
        if message.message_type != MessageType.SIGNAL or message.path != self.device:
            return False
        if message.member == "StateChanged" and message.interface == DEVICE:
            new, _old, reason = message.body
            if self._state.connected and new != DEVICE_ACTIVATED:
                self._state = WlanState(reason=REASONS.get(reason, f"the network was lost (state {new})"))
                self._active = ""
                self._notify()
        elif message.member in ("AccessPointAdded", "AccessPointRemoved"):
            self._notify()
        return False

    def _notify(self) -> None:
        for watcher in list(self._watchers):
            watcher()

    # -- the interface ------------------------------------------------------------------------
    async def scan(self) -> list[AccessPoint]:
        await self._ensure()
        with contextlib.suppress(WlanError):  # a scan already running, or scanned a moment ago
            await self._call(self.device, WIRELESS, "RequestScan", "a{sv}", [{}])
        (paths,) = await self._call(self.device, WIRELESS, "GetAllAccessPoints")
        found = []
        for path in paths:
            try:
                (props,) = await self._call(path, PROPERTIES, "GetAll", "s", [ACCESS_POINT])
            except WlanError:
                continue  # gone since the list was made
            p = {k: v.value for k, v in props.items()}
            ssid = bytes(p.get("Ssid", b"")).decode("utf-8", "replace")
            if not ssid:
                continue  # a hidden network: joined by name only
            found.append(AccessPoint(ssid, str(p.get("HwAddress", "")), int(p.get("Strength", 0)),
                                     channel_of(int(p.get("Frequency", 0))),
                                     security_of(int(p.get("Flags", 0)), int(p.get("WpaFlags", 0)),
                                                 int(p.get("RsnFlags", 0)))))
        return sorted(found, key=lambda a: -a.signal)

    async def _access_point(self, ssid: str) -> tuple[str, int]:
        (paths,) = await self._call(self.device, WIRELESS, "GetAllAccessPoints")
        for path in paths:
            with contextlib.suppress(WlanError):
                if bytes(await self._get(path, ACCESS_POINT, "Ssid")) == ssid.encode():
                    return path, int(await self._get(path, ACCESS_POINT, "Strength"))
        return "/", 0

    async def connect(self, settings: WlanSettings) -> WlanState:
        await self._ensure()
        await self._forget_connection()
        ap, strength = await self._access_point(settings.ssid)
        if ap == "/" and not settings.hidden:
            raise WlanError(f"the network {settings.ssid!r} is not in range")
        (self._connection,) = await self._call(SETTINGS_PATH, SETTINGS, "AddConnection", "a{sa{sv}}",
                                               [connection_settings(settings)])
        (self._active,) = await self._call(NM_PATH, NM, "ActivateConnection", "ooo",
                                           [self._connection, self.device, ap])
        deadline = asyncio.get_running_loop().time() + self.timeout
        while True:
            state = await self._get(self._active, ACTIVE, "State")
            if state == ACTIVATED:
                break
            if state == DEACTIVATED or asyncio.get_running_loop().time() > deadline:
                _state, reason = await self._get(self.device, DEVICE, "StateReason")
                await self._forget_connection()
                raise WlanError(REASONS.get(reason, f"the network {settings.ssid!r} could not be joined"))
            await asyncio.sleep(0.2)
        bssid = str(await self._get(ap, ACCESS_POINT, "HwAddress")) if ap != "/" else ""
        addresses = (f"{settings.address}/{settings.prefix}",) if settings.ipv4 == "static" else ()
        self._state = WlanState(True, settings.ssid, bssid, strength, addresses)
        return self._state

    async def _forget_connection(self) -> None:
        if self._active:
            with contextlib.suppress(WlanError):
                await self._call(NM_PATH, NM, "DeactivateConnection", "o", [self._active])
            self._active = ""
        if self._connection:
            with contextlib.suppress(WlanError):
                await self._call(self._connection, CONNECTION, "Delete")
            self._connection = ""

    async def disconnect(self) -> None:
        if self.bus is None:
            return
        await self._forget_connection()
        self._state = WlanState(reason="disconnected")

    def state(self) -> WlanState:
        return self._state

    def watch(self, callback: Callable[[], None]) -> None:
        self._watchers.append(callback)

    async def close(self) -> None:
        if self.bus is not None:
            await self._forget_connection()
            self.bus.disconnect()
            self.bus = None
