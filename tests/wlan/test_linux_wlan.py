"""The NetworkManager backend (vigil/hal/linux/wlan.py) against python-dbusmock's
`networkmanager` template on a private system bus: the scan list (SSID, signal, channel,
security), joining a network (the connection NetworkManager gets, checked setting by setting,
and its activation on the right access point), a hidden network, leaving, and a network lost."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from tests.conftest import eventually
from tests.peers.dbusmock import MockService, dbus, mock_service, needs_dbus_daemon
from vigil.hal.linux.wlan import NM, NetworkManagerWlan, channel_of
from vigil.hal.wlan import AccessPoint, WlanError, WlanSettings

pytestmark = needs_dbus_daemon
MOCK = "org.freedesktop.DBus.Mock"
DEVICE_DISCONNECTED = 30
INFRASTRUCTURE = 2


@pytest.fixture(scope="module")
def nm() -> Iterator[MockService]:
    with mock_service("networkmanager") as service:
        device = service.mock.AddWiFiDevice("wifi0", "wlan0", DEVICE_DISCONNECTED, dbus_interface=MOCK)
        service.mock.AddAccessPoint(device, "depot", "Depot", "02:11:22:33:44:55", INFRASTRUCTURE, 2437, 54000, 82,
                                    0x100, dbus_interface=MOCK)  # WPA2 personal
        service.mock.AddAccessPoint(device, "yard", "Yard", "02:11:22:33:44:66", INFRASTRUCTURE, 5180, 54000, 40,
                                    0x400, dbus_interface=MOCK)  # WPA3 (SAE)
        service.mock.AddAccessPoint(device, "guest", "Guest", "02:11:22:33:44:77", INFRASTRUCTURE, 2412, 54000, 30,
                                    0, dbus_interface=MOCK)  # open
        service.device = device  # type: ignore[attr-defined]
        yield service


@pytest.fixture
async def wlan(nm: MockService) -> AsyncIterator[NetworkManagerWlan]:
    radio = NetworkManagerWlan("wlan0", bus_address=nm.address)
    yield radio
    await radio.close()


def connections(nm: MockService) -> list[dict]:
    settings = nm.obj(NM, "/org/freedesktop/NetworkManager/Settings")
    out = []
    for path in settings.ListConnections(dbus_interface="org.freedesktop.NetworkManager.Settings"):
        out.append(nm.obj(NM, path).GetSettings(dbus_interface="org.freedesktop.NetworkManager.Settings.Connection"))
    return out


def active(nm: MockService) -> list[tuple[str, str]]:
    manager = nm.obj(NM, "/org/freedesktop/NetworkManager")
    out = []
    for path in manager.Get(NM, "ActiveConnections", dbus_interface=dbus.PROPERTIES_IFACE):
        props = nm.obj(NM, path).GetAll(NM + ".Connection.Active", dbus_interface=dbus.PROPERTIES_IFACE)
        out.append((str(props["Id"]), str(props["SpecificObject"])))
    return out


def test_channels() -> None:
    assert [channel_of(f) for f in (2412, 2437, 2484, 5180, 5955, 0)] == [1, 6, 14, 36, 1, 0]


async def test_the_scan_lists_signal_channel_and_security(wlan: NetworkManagerWlan) -> None:
    assert await wlan.scan() == [
        AccessPoint("Depot", "02:11:22:33:44:55", 82, 6, "wpa2-psk"),
        AccessPoint("Yard", "02:11:22:33:44:66", 40, 36, "wpa3-sae"),
        AccessPoint("Guest", "02:11:22:33:44:77", 30, 1, "open"),
    ]


async def test_joining_gives_networkmanager_the_settings_and_activates_them(
        wlan: NetworkManagerWlan, nm: MockService) -> None:
    state = await wlan.connect(WlanSettings("Depot", "wpa2-psk", "depot-secret", ipv4="static",
                                            address="192.168.7.20", prefix=24, gateway="192.168.7.1", ipv6=False))
    assert state.connected and state.ssid == "Depot" and state.bssid == "02:11:22:33:44:55" and state.signal == 82
    (conf,) = await asyncio.to_thread(connections, nm)
    assert conf["connection"]["id"] == "vigil-wlan" and conf["connection"]["type"] == "802-11-wireless"
    assert bytes(conf["802-11-wireless"]["ssid"]) == b"Depot" and not conf["802-11-wireless"]["hidden"]
    assert conf["802-11-wireless-security"]["key-mgmt"] == "wpa-psk"
    assert conf["802-11-wireless-security"]["psk"] == "depot-secret"
    assert conf["ipv4"]["method"] == "manual" and conf["ipv4"]["gateway"] == "192.168.7.1"
    assert [(str(a["address"]), int(a["prefix"])) for a in conf["ipv4"]["address-data"]] == [("192.168.7.20", 24)]
    assert conf["ipv6"]["method"] == "disabled"
    assert await asyncio.to_thread(active, nm) == [("vigil-wlan", "/org/freedesktop/NetworkManager/AccessPoint/depot")]

    await wlan.disconnect()
    assert not wlan.state().connected
    assert await asyncio.to_thread(active, nm) == [] and await asyncio.to_thread(connections, nm) == []


async def test_a_hidden_network_is_joined_by_name_and_an_absent_one_refused(
        wlan: NetworkManagerWlan, nm: MockService) -> None:
    with pytest.raises(WlanError, match="not in range"):
        await wlan.connect(WlanSettings("Office", "wpa3-sae", "office-secret"))
    state = await wlan.connect(WlanSettings("Office", "wpa3-sae", "office-secret", hidden=True))
    assert state.connected
    (conf,) = await asyncio.to_thread(connections, nm)
    assert conf["802-11-wireless"]["hidden"] and conf["802-11-wireless-security"]["key-mgmt"] == "sae"
    assert conf["ipv4"]["method"] == "auto" and conf["ipv6"]["method"] == "auto"
    assert await asyncio.to_thread(active, nm) == [("vigil-wlan", "/")]
    await wlan.disconnect()


async def test_enterprise_settings(wlan: NetworkManagerWlan, nm: MockService) -> None:
    await wlan.connect(WlanSettings("Depot", "wpa2-eap", "radius-secret", identity="w401-7"))
    (conf,) = await asyncio.to_thread(connections, nm)
    assert conf["802-11-wireless-security"]["key-mgmt"] == "wpa-eap"
    assert list(conf["802-1x"]["eap"]) == ["peap"] and conf["802-1x"]["identity"] == "w401-7"
    assert conf["802-1x"]["phase2-auth"] == "mschapv2"
    await wlan.disconnect()


async def test_a_lost_network_is_a_state_change_the_watchers_hear(wlan: NetworkManagerWlan, nm: MockService) -> None:
    changes: list[int] = []
    wlan.watch(lambda: changes.append(1))
    await wlan.connect(WlanSettings("Guest", "open"))
    await asyncio.to_thread(nm.mock.SetDeviceDisconnected, nm.device, dbus_interface=MOCK)
    await eventually(lambda: not wlan.state().connected, 5, "the loss to be seen")
    assert changes and "lost" in wlan.state().reason


async def test_an_unknown_interface_is_a_clear_error(nm: MockService) -> None:
    radio = NetworkManagerWlan("wlan9", bus_address=nm.address)
    with pytest.raises(WlanError, match="no interface 'wlan9'"):
        await radio.scan()
