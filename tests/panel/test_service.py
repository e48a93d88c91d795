"""The recorders' front panel over the simulated indicators: the status, hard drive and PoE LEDs
follow the device as the manuals' LED tables say, the buzzer sounds for a PoE budget exceeded
and a broken drive until a short press of the power button (or Silence) silences it, and a long
press shuts the recorder down after a beep."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_as, make_device
from tests.poe.conftest import fill_s3016, switch
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.panel.const import PANEL_PATH, SILENCE_PATH, SIM_PANEL
from vigil.features.panel.service import PANEL_SERVICE
from vigil.hal.disks import DISK_HARDWARE
from vigil.hal.indicators import INDICATORS
from vigil.hal.sim.disks import SimulatedDisks
from vigil.hal.sim.indicators import SimulatedIndicators


def panel(dev: Device) -> SimulatedIndicators:
    hw = dev.hardware[INDICATORS]
    assert isinstance(hw, SimulatedIndicators)
    return hw


def led(dev: Device, name: str) -> str:
    return panel(dev).led(name).describe()


def buzzer(dev: Device) -> str | None:
    sound = panel(dev).sound("buzzer")
    return sound.pattern if sound else None


async def test_poe_budget_exceeded_lights_red_and_sounds_until_silenced(device: Device) -> None:
    service = device.features[PANEL_SERVICE]
    assert led(device, "status") == "amber"  # starting up
    await service.run()
    assert led(device, "status") == "green" and buzzer(device) is None
    hardware, _poe = switch(device)
    fill_s3016(hardware)
    assert led(device, "poe1") == "green" and led(device, "poe16") == "off"
    hardware.connect(16, 4, 15.0)  # beyond the budget: not powered
    assert led(device, "status") == "red" and led(device, "poe16") == "red" and buzzer(device) == "alarm"
    panel(device).press("power", 0.5)  # a short press silences it
    assert buzzer(device) is None and led(device, "status") == "red"
    service.refresh()  # the same reason still there: it stays silent
    assert buzzer(device) is None
    hardware.disconnect(16)
    assert led(device, "status") == "green" and led(device, "poe16") == "off"
    hardware.connect(16, 4, 15.0)  # the reason comes back: it sounds again
    assert buzzer(device) == "alarm"
    assert "Buzzer: The PoE budget is exceeded" in device.logs.text("system")


async def test_a_broken_drive_and_the_silence_button(device: Device) -> None:
    await device.features[PANEL_SERVICE].run()
    disks = device.hardware[DISK_HARDWARE]
    assert isinstance(disks, SimulatedDisks)
    assert [led(device, f"disk{n}") for n in range(1, 5)] == ["green"] * 4
    disks.fail(1)
    assert [led(device, f"disk{n}") for n in range(1, 5)] == ["amber", "red", "amber", "amber"]
    assert buzzer(device) == "alarm"
    async with client_as(device, "viewer") as viewer:
        view = (await viewer.get(PANEL_PATH)).json()
        assert {"reason": "Hard drive 2 is broken", "silenced": False} in view["reasons"]
        assert (await viewer.post(SILENCE_PATH)).status_code == 403
    assert buzzer(device) == "alarm"
    async with client_as(device, "operator") as operator:
        r = await operator.post(SILENCE_PATH)
        assert r.json()["silenced"] is True and r.json()["buzzer"] is None
    assert buzzer(device) is None


async def test_a_long_press_beeps_and_shuts_down(device: Device) -> None:
    await device.features[PANEL_SERVICE].run()
    async with client_as(device, "admin") as admin:
        r = await admin.post(SIM_PANEL, json={"press": "power", "seconds": "long"})
        assert r.status_code == 400 and "seconds" in r.json()["error"]["message"]
        assert not device.stopping.is_set()
        r = await admin.post(SIM_PANEL, json={"press": "power", "seconds": 4.5})
        assert r.status_code == 200
    assert ("buzzer", "beep") in panel(device).history
    assert device.stopping.is_set() and device.next_action == "shutdown"


@pytest.fixture(params=["s3008", "s4000"])
def recorder(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock, request.param)
    yield dev
    dev.close()


async def test_each_recorder_has_its_own_leds(recorder: Device) -> None:
    leds = panel(recorder).leds
    if recorder.profile.name == "s3008":
        assert leds == ("status", "disk1", "network", *(f"poe{n}" for n in range(1, 9)))
    else:
        assert leds == ("status", "disk1", "disk2", "disk3", "disk4", "network")
    await recorder.features[PANEL_SERVICE].run()
    assert led(recorder, "status") == "green" and led(recorder, "disk1") == "green"
    assert led(recorder, "network") == "green, blink"  # the simulated cable is plugged
    async with client_as(recorder, "admin") as admin:
        assert (await admin.post("/vigil/sim/network", json={"link": False})).status_code == 200
    assert led(recorder, "network") == "off"
