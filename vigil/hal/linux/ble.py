"""The Bluetooth LE radio through BlueZ on D-Bus (dbus-fast, asyncio).

Scanning: the adapter's LE discovery (`SetDiscoveryFilter` Transport=le, DuplicateData=true,
so that every repeat of an advertisement is reported, then `StartDiscovery`); each
`org.bluez.Device1` that appears (ObjectManager `InterfacesAdded`) or whose RSSI or
ManufacturerData changes (`PropertiesChanged`) is one advertisement heard.

Broadcasting: each advertisement is an `org.bluez.LEAdvertisement1` object this connection
exports (Type "broadcast", ManufacturerData) and registers with the adapter's
`LEAdvertisingManager1`; withdrawing unregisters and unexports it.

No `from __future__ import annotations` here: dbus-fast reads the D-Bus signatures from the
annotations of the exported methods and properties.
"""

import contextlib
import re
from collections.abc import Callable
from typing import Any

from dbus_fast import BusType, Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.service import PropertyAccess, ServiceInterface, dbus_property, method

from vigil.hal.ble import BleError, Broadcast, Heard

BLUEZ = "org.bluez"
ADAPTER = "org.bluez.Adapter1"
DEVICE = "org.bluez.Device1"
ADVERTISING_MANAGER = "org.bluez.LEAdvertisingManager1"
ADVERTISEMENT = "org.bluez.LEAdvertisement1"
OBJECT_MANAGER = "org.freedesktop.DBus.ObjectManager"
PROPERTIES = "org.freedesktop.DBus.Properties"
ADVERTISEMENT_ROOT = "/org/vigil/beacon"


class LEAdvertisement(ServiceInterface):
    """One advertisement as BlueZ reads it from us."""

    def __init__(self, broadcast: Broadcast) -> None:
        super().__init__(ADVERTISEMENT)
        self.broadcast = broadcast
        self.released = False

    @method()
    def Release(self) -> None:  # noqa: N802 - BlueZ's name: it calls this when it drops the advertisement
        self.released = True

    @dbus_property(access=PropertyAccess.READ)
    def Type(self) -> "s":  # noqa: N802, F821
        return "broadcast"

    @dbus_property(access=PropertyAccess.READ)
    def ManufacturerData(self) -> "a{qv}":  # noqa: N802, F722
        return {self.broadcast.company: Variant("ay", self.broadcast.data)}


def object_name(key: str) -> str:
    """An object path element for an advertisement key."""
    return re.sub(r"[^A-Za-z0-9_]", "_", key) or "_"


class BluezRadio:
    def __init__(self, adapter: str = "", bus_address: str | None = None) -> None:
        self.adapter_name = adapter
        self.bus_address = bus_address
        self.adapter = ""  # the adapter's object path, once started
        self.bus: MessageBus | None = None
        self._watchers: list[Callable[[Heard], None]] = []
        self._devices: dict[str, dict[str, Any]] = {}  # Device1 properties by object path
        self._adverts: dict[str, tuple[str, LEAdvertisement]] = {}  # key -> (path, object)

    @property
    def unique_name(self) -> str:
        """This connection's bus name (where BlueZ reads the advertisement objects)."""
        return self.bus.unique_name if self.bus is not None else ""

    def watch(self, callback: Callable[[Heard], None]) -> None:
        self._watchers.append(callback)

    async def _call(self, path: str, interface: str, member: str, signature: str = "",
                    body: list[Any] | None = None, destination: str = BLUEZ) -> list[Any]:
        if self.bus is None:
            raise BleError("Bluetooth is not started")
        reply = await self.bus.call(Message(destination=destination, path=path, interface=interface,
                                            member=member, signature=signature, body=body or []))
        if reply is None or reply.message_type == MessageType.ERROR:
            detail = reply.body[0] if reply is not None and reply.body else ""
            name = reply.error_name if reply is not None else "no reply"
            raise BleError(f"{member}: {name} {detail}".strip())
        return reply.body

    async def start(self) -> None:
        try:
            if self.bus_address:
                self.bus = await MessageBus(bus_address=self.bus_address).connect()
            else:
                self.bus = await MessageBus(bus_type=BusType.SYSTEM).connect()
        except (OSError, ValueError) as err:
            raise BleError(f"cannot reach the system bus: {err}") from None
        self.bus.add_message_handler(self._on_message)
        for rule in (f"type='signal',sender='{BLUEZ}',interface='{OBJECT_MANAGER}',member='InterfacesAdded'",
                     f"type='signal',sender='{BLUEZ}',interface='{PROPERTIES}',member='PropertiesChanged',"
                     f"arg0='{DEVICE}'"):
            await self._call("/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s", [rule],
                             destination="org.freedesktop.DBus")
        (objects,) = await self._call("/", OBJECT_MANAGER, "GetManagedObjects")
        adapters = sorted(path for path, interfaces in objects.items() if ADAPTER in interfaces)
        wanted = [p for p in adapters if not self.adapter_name or p.rsplit("/", 1)[-1] == self.adapter_name]
        if not wanted:
            raise BleError(f"no Bluetooth adapter {self.adapter_name!r}" if self.adapter_name
                           else "no Bluetooth adapter")
        self.adapter = wanted[0]
        for path, interfaces in objects.items():
            if DEVICE in interfaces and path.startswith(self.adapter + "/"):
                self._devices[path] = {k: v.value for k, v in interfaces[DEVICE].items()}
        await self._call(self.adapter, ADAPTER, "SetDiscoveryFilter", "a{sv}",
                         [{"Transport": Variant("s", "le"), "DuplicateData": Variant("b", True)}])
        await self._call(self.adapter, ADAPTER, "StartDiscovery")

    async def close(self) -> None:
        if self.bus is None:
            return
        for key in list(self._adverts):
            with contextlib.suppress(BleError):
                await self.withdraw(key)
        if self.adapter:
            with contextlib.suppress(BleError):
                await self._call(self.adapter, ADAPTER, "StopDiscovery")
        self.bus.disconnect()
        self.bus = None

    # -- scanning ------------------------------------------------------------------------
    def _on_message(self, message: Message) -> bool:
        if message.message_type != MessageType.SIGNAL:
            return False
        if message.member == "InterfacesAdded" and message.interface == OBJECT_MANAGER:
            path, interfaces = message.body
            if DEVICE in interfaces and path.startswith(self.adapter + "/"):
                self._devices[path] = {k: v.value for k, v in interfaces[DEVICE].items()}
                self._report(path, set(self._devices[path]))
        elif message.member == "PropertiesChanged" and message.interface == PROPERTIES:
            interface, changed, _invalidated = message.body
            path = message.path
            if interface == DEVICE and path.startswith(self.adapter + "/"):
                props = self._devices.setdefault(path, {})
                props.update({k: v.value for k, v in changed.items()})
                self._report(path, set(changed))
        return False

    def _report(self, path: str, changed: set[str]) -> None:
        props = self._devices[path]
        if not changed & {"RSSI", "ManufacturerData"} or "RSSI" not in props:
            return  # a property beacons do not use, or a remembered device not in range
        data = {int(company): bytes(value.value if isinstance(value, Variant) else value)
                for company, value in (props.get("ManufacturerData") or {}).items()}
        heard = Heard(str(props.get("Address", "")), int(props["RSSI"]), data)
        for watcher in list(self._watchers):
            watcher(heard)

    # -- broadcasting ----------------------------------------------------------------------
    async def advertise(self, key: str, broadcast: Broadcast) -> None:
        if self.bus is None:
            raise BleError("Bluetooth is not started")
        if key in self._adverts:
            await self.withdraw(key)
        path = f"{ADVERTISEMENT_ROOT}/{object_name(key)}"
        advert = LEAdvertisement(broadcast)
        self.bus.export(path, advert)
        try:
            await self._call(self.adapter, ADVERTISING_MANAGER, "RegisterAdvertisement", "oa{sv}", [path, {}])
        except BleError:
            self.bus.unexport(path)
            raise
        self._adverts[key] = (path, advert)

    async def withdraw(self, key: str) -> None:
        entry = self._adverts.pop(key, None)
        if entry is None or self.bus is None:
            return
        path, _advert = entry
        try:
            await self._call(self.adapter, ADVERTISING_MANAGER, "UnregisterAdvertisement", "o", [path])
        finally:
            self.bus.unexport(path)

    def on_air(self) -> dict[str, Broadcast]:
        return {key: advert.broadcast for key, (_path, advert) in self._adverts.items()}
