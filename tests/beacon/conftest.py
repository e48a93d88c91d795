"""Fixtures of the beacon tests: the W401's simulated Bluetooth radio and beacon service, and
a scripted body-worn camera that sends beacons."""

from __future__ import annotations

import pytest

from vigil.device import Device
from vigil.features.beacon.payload import COMPANY_ID, Signal, encode, parse_system_id
from vigil.features.beacon.service import BEACON_SERVICE, BeaconService
from vigil.hal.ble import BLE_RADIO
from vigil.hal.sim.ble import SimulatedBle

SYSTEM = "00C0FFEE"
CAMERA = "AA:BB:CC:00:11:22"


def radio(device: Device) -> SimulatedBle:
    r = device.hardware[BLE_RADIO]
    assert isinstance(r, SimulatedBle)
    return r


def beacons(device: Device) -> BeaconService:
    return device.features[BEACON_SERVICE]


def send(device: Device, system: str = SYSTEM, message_type: int = 1, sequence: int = 0, rssi: int = -60,
         address: str = CAMERA) -> None:
    """A body-worn camera near the device sends one advertisement."""
    radio(device).hear(address, rssi, {COMPANY_ID: encode(Signal(parse_system_id(system), message_type, sequence))})


@pytest.fixture
def short_once(w401: Device) -> Device:
    """"Broadcast once" stays on the air briefly, so that tests do not wait for it."""
    beacons(w401).once_seconds = 0.05
    return w401
