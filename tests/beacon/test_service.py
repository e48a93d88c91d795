"""The beacon service on a W401 with the simulated radio: what counts as a signal (RSSI
threshold, duplicates, other companies' data, malformed beacons), how long it stays active,
and the "Broadcast signal" actions' on-air view and refusals."""

from __future__ import annotations

import httpx
import pytest

from tests.beacon.conftest import CAMERA, SYSTEM, beacons, radio, send
from tests.conftest import client_as, eventually
from tests.peers.servers import add_action, add_action_xml, post
from vigil.core.events import Event
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.beacon.const import BEACON_MALFORMED, BEACON_RECEIVED, BROADCAST_ONCE
from vigil.features.beacon.payload import COMPANY_ID

SOURCE = {"SystemID": SYSTEM, "Port": "1"}


def received(device: Device) -> list[Event]:
    seen: list[Event] = []
    device.events.subscribe(lambda e: seen.append(e) if e.topic == BEACON_RECEIVED else None)
    return seen


async def test_a_beacon_becomes_an_active_signal_once_and_repeats_are_suppressed(w401: Device) -> None:
    events = received(w401)
    for _ in range(5):  # one advertisement repeated by the camera
        send(w401, sequence=4)
    assert [e.data["Active"] for e in events] == ["1"]
    assert events[0].source == SOURCE and events[0].data["RSSI"] == "-60" and events[0].data["Address"] == CAMERA
    send(w401, sequence=5)  # a new signal while the first is still active: the state stays
    assert [e.data["Active"] for e in events] == ["1"]
    assert beacons(w401).counters == {"signals": 2, "duplicates": 4, "weak": 0, "malformed": 0}


async def test_a_signal_goes_inactive_after_the_hold_time(w401: Device) -> None:
    w401.params.update([("Bluetooth.Beacon.HoldTime", "1")], Role.ADMIN, "test")
    events = received(w401)
    send(w401)
    await eventually(lambda: [e.data["Active"] for e in events] == ["1", "0"], 5, "the signal to end")
    assert w401.events.state(BEACON_RECEIVED, SOURCE)["Active"] == "0"


async def test_signals_weaker_than_the_threshold_do_not_count(w401: Device) -> None:
    w401.params.update([("Bluetooth.Beacon.RSSIThreshold", "-70")], Role.ADMIN, "test")
    events = received(w401)
    send(w401, rssi=-71)
    assert events == [] and beacons(w401).counters["weak"] == 1
    send(w401, rssi=-70)
    assert [e.data["Active"] for e in events] == ["1"]


async def test_other_devices_and_malformed_beacons(w401: Device) -> None:
    events = received(w401)
    malformed: list[Event] = []
    w401.events.subscribe(lambda e: malformed.append(e) if e.topic == BEACON_MALFORMED else None)
    radio(w401).hear("11:22:33:44:55:66", -40, {0x004C: b"\x02\x15" + bytes(21)})  # an iBeacon: not ours
    for _ in range(3):
        radio(w401).hear(CAMERA, -40, {COMPANY_ID: b"\x01\x02"})
    assert events == [] and beacons(w401).counters["malformed"] == 3
    assert [e.data for e in malformed] == [{"Address": CAMERA, "Reason": "2 bytes of beacon data, expected 7"}]
    assert "Bluetooth beacon from AA:BB:CC:00:11:22 ignored" in w401.logs.text("system")
    send(w401)  # a good one from the same camera still counts
    assert [e.data["Active"] for e in events] == ["1"]


async def test_any_system_id_is_an_event_and_only_the_named_one_matches_a_rule(w401: Device,
                                                                              admin401: httpx.AsyncClient) -> None:
    """An unknown System ID is heard and listed, and rules for another system ignore it."""
    send(w401, system="DEADBEEF")
    status = (await admin401.get("/vigil/beacon")).json()
    assert [(h["systemId"], h["port"], h["active"]) for h in status["heard"]] == [("DEADBEEF", 1, True)]
    assert w401.events.state(BEACON_RECEIVED, SOURCE) is None


@pytest.mark.parametrize("params, why", [
    ({"system_id": "", "message_type": "1"}, "8 hexadecimal digits"),
    ({"system_id": "XYZ", "message_type": "1"}, "8 hexadecimal digits"),
    ({"system_id": "00C0FFEE", "message_type": "0"}, "1 to 255"),
    ({"system_id": "00C0FFEE", "message_type": "300"}, "1 to 255"),
])
async def test_a_broadcast_action_with_a_bad_system_id_or_type_is_a_soap_fault(
        w401: Device, admin401: httpx.AsyncClient, params: dict[str, str], why: str) -> None:
    r = await post(admin401, add_action_xml(BROADCAST_ONCE, params))
    assert r.status_code == 400 and "Fault" in r.text and why in r.text
    assert await add_action(admin401, BROADCAST_ONCE, {"system_id": "00C0FFEE", "message_type": "1"}) > 0


async def test_the_status_and_simulation_apis_check_roles_and_input(w401: Device, admin401: httpx.AsyncClient) -> None:
    r = await admin401.post("/vigil/sim/ble", json={"address": CAMERA, "rssi": -50, "systemId": SYSTEM,
                                                    "messageType": 1, "sequence": 9})
    assert r.status_code == 200 and r.json() == {"onAir": []}
    assert w401.events.state(BEACON_RECEIVED, SOURCE)["Active"] == "1"
    for body, why in [(b"nope", "not JSON"), ({"address": "x", "rssi": 1}, "Bluetooth address"),
                      ({"address": CAMERA, "rssi": "loud"}, "rssi"),
                      ({"address": CAMERA, "rssi": -50, "systemId": "zz"}, "hexadecimal"),
                      ({"address": CAMERA, "rssi": -50, "data": "0g"}, "hexadecimal bytes")]:
        r = await (admin401.post("/vigil/sim/ble", content=body) if isinstance(body, bytes)
                   else admin401.post("/vigil/sim/ble", json=body))
        assert r.status_code == 400 and why in r.json()["error"]["message"], (body, r.text)
    async with client_as(w401, "viewer") as viewer:
        assert (await viewer.get("/vigil/beacon")).status_code == 200
        assert (await viewer.post("/vigil/sim/ble", json={})).status_code in (401, 403)
