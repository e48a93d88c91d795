"""WLAN on a W401 with the simulated wireless interface and scripted access points: the network
list, Configure (tested against the network first: a wrong password changes nothing), a hidden
network, IP settings, the switch-over between the cable and the WLAN, and a network that goes
out of range and comes back. Through the page's JSON API (/vigil/wlan) where the page would."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import client_as, eventually
from vigil.core.vault import is_sealed
from vigil.device import Device
from vigil.features.wlan.const import PASSWORD, SSID, WIRELESS
from vigil.features.wlan.service import WLAN_SERVICE, WlanService
from vigil.hal.network import NETWORK_HARDWARE
from vigil.hal.sim.network import SimulatedNetwork
from vigil.hal.sim.wlan import SimulatedWlan
from vigil.hal.wlan import WLAN_RADIO

URL = "/vigil/wlan"


def radio(device: Device) -> SimulatedWlan:
    r = device.hardware[WLAN_RADIO]
    assert isinstance(r, SimulatedWlan)
    return r


def cable(device: Device) -> SimulatedNetwork:
    n = device.hardware[NETWORK_HARDWARE]
    assert isinstance(n, SimulatedNetwork)
    return n


def wlan(device: Device) -> WlanService:
    return device.features[WLAN_SERVICE]


async def call(client: httpx.AsyncClient, method: str, params: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "1.0", "method": method}
    if params is not None:
        body["params"] = params
    r = await client.post(URL, json=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def depot(w401: Device) -> Device:
    radio(w401).add_access_point("Depot", "wpa2-psk", "depot-secret", signal=80, channel=11)
    radio(w401).add_access_point("Yard", "wpa3-sae", "yard-secret-1", signal=35, channel=36)
    radio(w401).add_access_point("Office", "wpa2-psk", "office-secret", hidden=True)
    return w401


async def test_refresh_lists_the_networks_in_range(depot: Device, admin401: httpx.AsyncClient) -> None:
    data = (await call(admin401, "refresh"))["data"]
    assert [(n["ssid"], n["signal"], n["channel"], n["security"]) for n in data["networks"]] == [
        ("Depot", 80, 11, "wpa2-psk"), ("Yard", 35, 36, "wpa3-sae")]  # the hidden network is not listed
    assert data["interface"] == "ethernet" and data["cable"] is True and data["configured"] is None


async def test_switch_over_between_the_cable_and_the_wlan(depot: Device, admin401: httpx.AsyncClient) -> None:
    reply = await call(admin401, "configure", {"ssid": "Depot", "security": "wpa2-psk", "password": "depot-secret"})
    data = reply["data"]
    assert data["configured"]["ssid"] == "Depot" and data["interface"] == "ethernet"
    assert not data["connection"]["connected"]  # tested and kept; the cable is in use
    stored = depot.store.query("SELECT value FROM params WHERE name=?", (PASSWORD,))[0][0]
    assert is_sealed(stored) and "depot-secret" not in stored

    cable(depot).set_link(False)  # the cable is pulled
    await eventually(lambda: wlan(depot).interface() == "wlan", what="the switch to the WLAN")
    state = depot.events.state(WIRELESS, {})
    assert state == {"Connected": "1", "SSID": "Depot", "Interface": "wlan"}
    data = (await call(admin401, "getStatus"))["data"]
    assert data["connection"]["addresses"][0] == "192.168.50.20/24" and data["connection"]["signal"] == 80

    cable(depot).set_link(True)
    await eventually(lambda: not radio(depot).state().connected, what="the WLAN to be left")
    assert depot.events.state(WIRELESS, {}) == {"Connected": "0", "SSID": "", "Interface": "ethernet"}
    assert "uses the wireless network 'Depot'" in depot.logs.text("system")


async def test_a_wrong_password_is_an_error_and_changes_nothing(depot: Device, admin401: httpx.AsyncClient) -> None:
    await call(admin401, "configure", {"ssid": "Depot", "password": "depot-secret"})
    reply = await call(admin401, "configure", {"ssid": "Yard", "security": "wpa3-sae", "password": "not-the-one"})
    assert reply["error"]["code"] == 3000 and "refused the password" in reply["error"]["message"]
    assert depot.params.get(SSID) == "Depot" and depot.params.get(PASSWORD) == "depot-secret"
    assert "could not join the wireless network 'Yard'" in depot.logs.text("system")
    # The same network again without a password keeps the stored one.
    reply = await call(admin401, "configure", {"ssid": "Depot", "ipv4": "static", "address": "10.1.2.3",
                                               "prefix": 16, "gateway": "10.1.0.1", "ipv6": False})
    assert reply["data"]["configured"]["address"] == "10.1.2.3" and depot.params.get(PASSWORD) == "depot-secret"


async def test_a_hidden_network(depot: Device, admin401: httpx.AsyncClient) -> None:
    reply = await call(admin401, "configure", {"ssid": "Office", "password": "office-secret", "hidden": True,
                                               "ipv4": "static", "address": "192.168.9.9", "prefix": 24})
    assert reply["data"]["configured"]["hidden"] is True
    cable(depot).set_link(False)
    await eventually(lambda: radio(depot).state().connected, what="joining the hidden network")
    assert radio(depot).state().addresses[0] == "192.168.9.9/24"


async def test_a_network_that_goes_out_of_range_and_comes_back(depot: Device, admin401: httpx.AsyncClient) -> None:
    await call(admin401, "configure", {"ssid": "Depot", "password": "depot-secret"})
    cable(depot).set_link(False)
    await eventually(lambda: radio(depot).state().connected, what="the WLAN")
    radio(depot).remove_access_point("Depot")
    await eventually(lambda: depot.events.state(WIRELESS, {})["Connected"] == "0", what="the loss")
    await eventually(lambda: "not in range" in wlan(depot).last_error, what="the reason")
    assert (await call(admin401, "getStatus"))["data"]["interface"] == "none"
    radio(depot).add_access_point("Depot", "wpa2-psk", "depot-secret")
    await eventually(lambda: wlan(depot).interface() == "wlan", what="joining again")
    assert wlan(depot).last_error == ""


@pytest.mark.parametrize("params, field", [
    ({"ssid": ""}, "ssid"),
    ({"ssid": "x" * 33}, "ssid"),
    ({"ssid": "Depot", "security": "wep"}, "security"),
    ({"ssid": "Depot", "password": "short"}, "password"),
    ({"ssid": "Depot", "password": "é" * 10}, "password"),
    ({"ssid": "Depot", "security": "wpa2-eap", "password": "pw"}, "identity"),
    ({"ssid": "Depot", "password": "depot-secret", "ipv4": "static", "address": "10.0.0"}, "address"),
    ({"ssid": "Depot", "password": "depot-secret", "prefix": 33}, "prefix"),
    ({"ssid": "Depot", "password": "depot-secret", "hidden": "yes"}, "hidden"),
    (["Depot"], "params"),
])
async def test_bad_settings_are_refused_field_by_field(depot: Device, admin401: httpx.AsyncClient,
                                                       params: Any, field: str) -> None:
    reply = await call(admin401, "configure", params)
    assert reply["error"]["code"] == 2104, reply
    if isinstance(params, dict):  # a list is refused by the JSON API before the fields are read
        assert reply["error"]["details"] == {"field": field}, reply
    assert depot.params.get(SSID) == ""


async def test_the_api_is_for_administrators(depot: Device) -> None:
    async with client_as(depot, "operator") as operator:
        r = await operator.post(URL, json={"apiVersion": "1.0", "method": "getStatus"})
        assert r.status_code in (401, 403) or "error" in r.json()


async def test_settings_written_as_parameters_are_joined_with(depot: Device, admin401: httpx.AsyncClient) -> None:
    cable(depot).set_link(False)
    r = await admin401.get("/axis-cgi/param.cgi", params={
        "action": "update", "Network.Wireless.SSID": "Yard", "Network.Wireless.Security": "wpa3-sae",
        "Network.Wireless.Password": "wrong-password"})
    assert r.text.strip() == "OK"
    await eventually(lambda: "refused the password" in wlan(depot).last_error, what="the refusal")
    r = await admin401.get("/axis-cgi/param.cgi", params={"action": "update",
                                                          "Network.Wireless.Password": "yard-secret-1"})
    await eventually(lambda: radio(depot).state().ssid == "Yard", what="joining Yard")
