"""The W401 manual's two beacon recipes end to end on a W401 test device, through the public
API (SOAP rules at /vapix/services, param.cgi) and the simulated hardware: a digital input
makes the device broadcast the body-worn system's signal; a camera's beacon switches an output
and reaches an MQTT broker (a real mosquitto) as an event."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.beacon.conftest import SYSTEM, radio, send
from tests.conftest import eventually
from tests.mqtt.conftest import configure, connected, mqtt_running
from tests.peers.mosquitto import Broker, needs_mosquitto, peer
from tests.peers.servers import PORT_TOPIC, add_action, add_rule, item_filter, param_update, settle
from vigil.device import Device
from vigil.features.beacon.const import BEACON_RECEIVED, BROADCAST_ONCE, BROADCAST_WHILE
from vigil.features.beacon.payload import COMPANY_ID, Signal, decode, parse_system_id
from vigil.features.mqtt import model
from vigil.hal.io import IO_HARDWARE

RELAY = 8


def on_air(device: Device) -> list[Signal]:
    return [decode(b.data) for b in radio(device).on_air().values() if b.company == COMPANY_ID]


async def lightbar_rule(admin: httpx.AsyncClient, template: str) -> None:
    """Accessories: port 1 an input (the light bar closes the loop); Events: "Digital input is
    active" on port 1 -> "Broadcast signal", the body-worn system's ID, message type 1."""
    await param_update(admin, **{"IOPort.I0.Direction": "input", "IOPort.I0.Input.Name": "Light bar",
                                 "IOPort.I0.Input.Trig": "closed"})
    action = await add_action(admin, template, {"system_id": SYSTEM, "message_type": "1"}, "Wake the cameras")
    await add_rule(admin, "Light bar", action, start=(PORT_TOPIC, item_filter(port="1", state="1")))


async def test_broadcast_a_beacon_while_the_light_bar_is_on(w401: Device, admin401: httpx.AsyncClient) -> None:
    await lightbar_rule(admin401, BROADCAST_WHILE)
    await settle()
    assert on_air(w401) == []
    w401.hardware[IO_HARDWARE].set_input(0, "closed")  # the light bar goes on
    signals = await eventually(lambda: on_air(w401), what="the beacon on the air")
    assert [(s.system_id, s.message_type) for s in signals] == [(parse_system_id(SYSTEM), 1)]
    w401.hardware[IO_HARDWARE].set_input(0, "open")
    await eventually(lambda: on_air(w401) == [], what="the beacon off the air")
    # The next activation is a new signal (a new sequence) that cameras tell from the last.
    w401.hardware[IO_HARDWARE].set_input(0, "closed")
    again = await eventually(lambda: on_air(w401), what="the beacon again")
    assert again[0].sequence != signals[0].sequence


async def test_broadcast_a_beacon_once(short_once: Device, admin401: httpx.AsyncClient) -> None:
    heard: list[list[Signal]] = []
    radio(short_once).watch_air(lambda air: heard.append([decode(b.data) for b in air.values()]))
    await lightbar_rule(admin401, BROADCAST_ONCE)
    short_once.hardware[IO_HARDWARE].set_input(0, "closed")
    await eventually(lambda: len(heard) >= 2, what="the beacon on and off the air")
    assert [[(s.system, s.message_type) for s in air] for air in heard] == [[(SYSTEM, 1)], []]


@pytest.fixture
async def mqtt_on(w401: Device) -> AsyncIterator[Device]:
    async with mqtt_running(w401) as device:
        yield device


@needs_mosquitto
async def test_a_received_beacon_switches_the_relay_and_reaches_mqtt(mqtt_on: Device, broker: Broker,
                                                                    admin401: httpx.AsyncClient) -> None:
    w401 = mqtt_on
    # Events: "Bluetooth beacon signal received", System ID, port 1 -> "Toggle I/O while the rule
    # is active" on the relay.
    action = await add_action(admin401, "com.axis.action.unlimited.io.toggle", {"port": str(RELAY), "state": "high"},
                              "Siren")
    await add_rule(admin401, "Camera recording", action,
                   start=(BEACON_RECEIVED, item_filter(SystemID=SYSTEM, Port="1", Active="1")))
    service = configure(w401, broker)
    await connected(service)
    serial = w401.identity.serial
    topic = f"axis/{serial}/event/onvif:Device/axis:Bluetooth/BeaconSignal"
    async with peer(broker, topic) as subscriber:
        service.configure_publication(model.parse_publication(
            {"eventFilterList": [{"topicFilter": "onvif:Device/axis:Bluetooth/BeaconSignal"}]}), "test")
        await settle()
        send(w401, system="DEADBEEF")  # another system's camera: no rule names it
        send(w401, rssi=-120)  # too far away
        await settle()
        assert w401.hardware[IO_HARDWARE].output(RELAY) == "open"
        first = json.loads((await subscriber.next(topic)).payload)
        assert first["message"]["source"] == {"SystemID": "DEADBEEF", "Port": "1"}

        send(w401, rssi=-55)  # the body-worn camera starts recording near the vehicle
        await eventually(lambda: w401.hardware[IO_HARDWARE].output(RELAY) == "closed", what="the relay to switch")
        body = json.loads((await subscriber.next(topic)).payload)
        assert body["message"]["source"] == {"SystemID": SYSTEM, "Port": "1"}
        assert body["message"]["data"]["Active"] == "1" and body["message"]["data"]["RSSI"] == "-55"
