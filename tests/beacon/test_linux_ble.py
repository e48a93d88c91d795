"""The BlueZ backend (vigil/hal/linux/ble.py) against python-dbusmock's `bluez5` template on a
private system bus: discovery is started for LE, advertisements of devices BlueZ reports are
read (address, RSSI, manufacturer data), and a broadcast is an LEAdvertisement1 object BlueZ
registers and reads back with its data."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.conftest import eventually
from tests.peers.dbusmock import MockService, dbus, mock_service, needs_dbus_daemon
from vigil.features.beacon.payload import COMPANY_ID, Signal, decode, encode
from vigil.hal.ble import BleError, Broadcast, Heard
from vigil.hal.linux.ble import ADAPTER, ADVERTISEMENT, ADVERTISING_MANAGER, DEVICE, BluezRadio

pytestmark = needs_dbus_daemon
MOCK = "org.bluez.Mock"
DBUSMOCK = "org.freedesktop.DBus.Mock"


@pytest.fixture(scope="module")
def bluez() -> Iterator[MockService]:
    with mock_service("bluez5") as service:
        service.mock.AddAdapter("hci0", "vigil-w401", dbus_interface=MOCK)
        yield service


@pytest.fixture
async def radio(bluez: MockService) -> AsyncIterator[BluezRadio]:
    radio = BluezRadio(bus_address=bluez.address)
    await radio.start()
    yield radio
    await radio.close()


def adapter_props(bluez: MockService, interface: str) -> dict:
    return bluez.obj("org.bluez", "/org/bluez/hci0").GetAll(interface, dbus_interface=dbus.PROPERTIES_IFACE)


async def test_discovery_runs_for_low_energy(radio: BluezRadio, bluez: MockService) -> None:
    props = await asyncio.to_thread(adapter_props, bluez, ADAPTER)
    assert props["Discovering"] is True or props["Discovering"] == 1
    calls = await asyncio.to_thread(bluez.obj("org.bluez", "/org/bluez/hci0").GetMethodCalls,
                                    "SetDiscoveryFilter", dbus_interface=DBUSMOCK)
    assert calls and calls[-1][1][0] == {"Transport": "le", "DuplicateData": True}


async def test_a_beacon_from_a_device_bluez_reports_is_heard(radio: BluezRadio, bluez: MockService) -> None:
    heard: list[Heard] = []
    radio.watch(heard.append)
    path = await asyncio.to_thread(bluez.mock.AddDevice, "hci0", "AA:BB:CC:00:11:22", "Body camera",
                                   dbus_interface=MOCK)
    beacon = encode(Signal(0x00C0FFEE, 1, 7))

    def advertise() -> None:
        bluez.obj("org.bluez", path).UpdateProperties(DEVICE, {
            "RSSI": dbus.Int16(-58),
            "ManufacturerData": dbus.Dictionary({dbus.UInt16(COMPANY_ID): dbus.Array(beacon, signature="y")},
                                                signature="qv")}, dbus_interface=DBUSMOCK)
    await asyncio.to_thread(advertise)
    got = await eventually(lambda: [h for h in heard if COMPANY_ID in h.manufacturer_data], 5, "the beacon")
    assert got[-1].address == "AA:BB:CC:00:11:22" and got[-1].rssi == -58
    assert decode(got[-1].manufacturer_data[COMPANY_ID]) == Signal(0x00C0FFEE, 1, 7)


async def test_a_broadcast_is_an_advertisement_registered_with_bluez(radio: BluezRadio,
                                                                     bluez: MockService) -> None:
    broadcast = Broadcast(COMPANY_ID, encode(Signal(0x1234ABCD, 1, 0)))
    await radio.advertise("rule1-1", broadcast)
    assert radio.on_air() == {"rule1-1": broadcast}
    assert (await asyncio.to_thread(adapter_props, bluez, ADVERTISING_MANAGER))["ActiveInstances"] == 1
    calls = await asyncio.to_thread(bluez.obj("org.bluez", "/org/bluez/hci0").GetMethodCalls,
                                    "RegisterAdvertisement", dbus_interface=DBUSMOCK)
    path = str(calls[-1][1][0])

    def read_back() -> dict:  # what BlueZ reads from the object it was given
        return bluez.obj(radio.unique_name, path).GetAll(ADVERTISEMENT, dbus_interface=dbus.PROPERTIES_IFACE)
    props = await asyncio.to_thread(read_back)
    assert props["Type"] == "broadcast"
    assert {int(k): bytes(v) for k, v in props["ManufacturerData"].items()} == {COMPANY_ID: broadcast.data}

    await radio.withdraw("rule1-1")
    assert radio.on_air() == {}
    assert (await asyncio.to_thread(adapter_props, bluez, ADVERTISING_MANAGER))["ActiveInstances"] == 0


async def test_bluez_refusing_an_advertisement_is_a_clear_error(radio: BluezRadio) -> None:
    for n in range(5):  # the template's adapter offers five
        await radio.advertise(f"k{n}", Broadcast(COMPANY_ID, encode(Signal(n, 1, 0))))
    with pytest.raises(BleError, match="Maximum number of advertisements"):
        await radio.advertise("k5", Broadcast(COMPANY_ID, encode(Signal(5, 1, 0))))
    assert set(radio.on_air()) == {f"k{n}" for n in range(5)}


async def test_no_adapter_is_a_clear_error(bluez: MockService) -> None:
    radio = BluezRadio(adapter="hci7", bus_address=bluez.address)
    with pytest.raises(BleError, match="no Bluetooth adapter 'hci7'"):
        await radio.start()
    await radio.close()
