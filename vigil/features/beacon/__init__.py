"""Bluetooth beacons (the W401 manual's "Receive a Bluetooth beacon signal" and "Broadcast a
Bluetooth beacon signal"): advertisements from the BLE radio (vigil/hal/ble.py) are read as the
body-worn system's signals (payload.py) and become the event "Bluetooth beacon signal received";
the rule action "Broadcast signal" puts the device's beacon on the air (service.py). The page's
view is http_status.py; the simulated radio's API is sim_api.py.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vigil.features.beacon import http_status, params, sim_api
from vigil.features.beacon.service import BEACON_SERVICE, BeaconService
from vigil.hal.ble import BLE_RADIO, BleRadio
from vigil.hal.sim.ble import SimulatedBle

if TYPE_CHECKING:
    from vigil.device import Device

ROUTES = (*http_status.ROUTES, *sim_api.ROUTES)


def radio_for(device: Device) -> BleRadio:
    """The simulated radio, unless VIGIL_HAL=linux: then BlueZ on the system bus (VIGIL_BLE_ADAPTER
    names the adapter, e.g. hci0; the first one otherwise)."""
    if os.environ.get("VIGIL_HAL") == "linux":
        from vigil.hal.linux.ble import BluezRadio  # the Linux backend loads dbus-fast

        return BluezRadio(adapter=os.environ.get("VIGIL_BLE_ADAPTER", ""))
    return SimulatedBle()


def register(device: Device) -> None:
    radio = radio_for(device)
    device.params.declare(params.param_defs())
    service = BeaconService(radio, device.params, device.events, device.logs, device.clock)
    device.hardware[BLE_RADIO] = radio
    device.features[BEACON_SERVICE] = service
    for action in service.action_types():
        device.rules.register(action)
    device.on_load.append(service.declare)
    device.services.append(service.run)
    device.router.include(ROUTES)
