"""Delayed shutdown on a W401 with the simulated ignition (System > Power settings): the
countdown after the ignition goes off, its events, the arming delay after a start without
power, ignition flapping, and no shutdown loop when the device starts with the ignition off."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import client_as, make_device
from tests.peers.servers import LoopClock, add_action, add_rule, settle
from vigil.core.clock import FakeClock
from vigil.core.events import Event
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.power.const import IGNITION, LAST_STOP_KEY, RUNNING_KEY, SHUTDOWN_PENDING
from vigil.features.power.service import POWER_SERVICE, PowerService
from vigil.hal.power import POWER_HARDWARE
from vigil.hal.sim.power import SimulatedPower

MINUTE = 60.0


def ignition(device: Device) -> SimulatedPower:
    hw = device.hardware[POWER_HARDWARE]
    assert isinstance(hw, SimulatedPower)
    return hw


def power(device: Device) -> PowerService:
    return device.features[POWER_SERVICE]


def settings(device: Device, enabled: str = "yes", delay: str = "1", arm: str | None = None) -> None:
    pairs = [("PowerSettings.DelayedShutdown.Enabled", enabled), ("PowerSettings.DelayedShutdown.Delay", delay)]
    if arm is not None:
        pairs.append(("PowerSettings.DelayedShutdown.ArmDelay", arm))
    device.params.update(pairs, Role.ADMIN, "test")


def watch(device: Device) -> list[tuple[str, str]]:
    seen: list[tuple[str, str]] = []

    def note(e: Event) -> None:
        if e.topic in (IGNITION, SHUTDOWN_PENDING):
            seen.append(("ignition" if e.topic == IGNITION else "pending", e.data["Active"]))
    device.events.subscribe(note)
    return seen


@pytest.fixture
async def loop_clock() -> AsyncIterator[LoopClock]:
    clock = LoopClock()
    yield clock
    clock.close()


@pytest.fixture
def restarted(tmp_path: Path) -> Iterator[Device]:
    """A W401 whose last run ended with a stop (not a power loss): Delayed shutdown arms at once."""
    first = make_device(tmp_path, FakeClock(), "w401")
    power(first).close()  # what the stop path does
    first.close()
    device = make_device(tmp_path, FakeClock(), "w401")
    yield device
    power(device).close()
    device.close()


async def test_the_device_shuts_down_when_the_ignition_stays_off_for_the_delay(
        restarted: Device, loop_clock: LoopClock) -> None:
    device = restarted
    assert power(device).armed and not power(device).after_power_loss
    settings(device, delay="2")
    events = watch(device)
    ignition(device).set_ignition(False)
    assert events == [("ignition", "0"), ("pending", "1")]
    assert power(device).status()["secondsLeft"] == 120
    await loop_clock.advance(119)
    assert not device.stopping.is_set()
    await loop_clock.advance(2)
    assert device.stopping.is_set() and device.next_action == "shutdown"
    assert device.store.get_kv(LAST_STOP_KEY) == "delayed-shutdown"
    assert "has been off for 2 min: shutting down" in device.logs.text("system")


async def test_the_ignition_coming_back_cancels_it(restarted: Device, loop_clock: LoopClock) -> None:
    device = restarted
    settings(device)
    events = watch(device)
    ignition(device).set_ignition(False)
    await loop_clock.advance(50)
    ignition(device).set_ignition(True)
    await loop_clock.advance(3600)
    assert not device.stopping.is_set()
    assert events == [("ignition", "0"), ("pending", "1"), ("ignition", "1"), ("pending", "0")]


async def test_ignition_flapping_counts_the_delay_from_the_last_time_it_went_off(
        restarted: Device, loop_clock: LoopClock) -> None:
    device = restarted
    settings(device)
    events = watch(device)
    for _ in range(20):  # a loose wire: off and on every few seconds for over a minute
        ignition(device).set_ignition(False)
        await loop_clock.advance(2)
        ignition(device).set_ignition(True)
        await loop_clock.advance(2)
    assert not device.stopping.is_set()
    assert events.count(("ignition", "0")) == 20 and events.count(("pending", "1")) == 20
    ignition(device).set_ignition(False)
    await loop_clock.advance(59)
    assert not device.stopping.is_set()
    await loop_clock.advance(2)
    assert device.stopping.is_set()


async def test_turning_it_off_or_changing_the_delay_while_pending(restarted: Device, loop_clock: LoopClock) -> None:
    device = restarted
    settings(device, delay="5")
    ignition(device).set_ignition(False)
    await loop_clock.advance(2 * MINUTE)
    settings(device, delay="3")  # counted from when the ignition went off: one minute left
    assert power(device).status()["secondsLeft"] == 60
    settings(device, enabled="no", delay="3")
    assert device.events.state(SHUTDOWN_PENDING, {})["Active"] == "0"
    await loop_clock.advance(10 * MINUTE)
    assert not device.stopping.is_set()


async def test_after_a_power_loss_it_is_armed_only_after_the_arm_delay(w401: Device, loop_clock: LoopClock) -> None:
    assert power(w401).after_power_loss and not power(w401).armed  # a first start is a start without power
    running = asyncio.create_task(power(w401).run())  # as the device's services start (w401 was built outside the loop)
    await settle()
    settings(w401)
    ignition(w401).set_ignition(False)
    assert w401.events.state(SHUTDOWN_PENDING, {})["Active"] == "0"
    await loop_clock.advance(299)
    assert not power(w401).armed
    await loop_clock.advance(2)
    assert power(w401).armed and w401.events.state(SHUTDOWN_PENDING, {})["Active"] == "1"
    await loop_clock.advance(61)
    assert w401.stopping.is_set()
    running.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await running
    assert w401.store.get_kv(RUNNING_KEY) == "0"  # a stop, not a power loss, for the next start


async def test_no_shutdown_loop_when_it_starts_with_the_ignition_off(tmp_path: Path, loop_clock: LoopClock) -> None:
    first = make_device(tmp_path, FakeClock(), "w401")
    power(first).close()
    first.close()
    device = make_device(tmp_path, FakeClock(), "w401")
    settings(device)
    ignition(device).set_ignition(False)
    await loop_clock.advance(61)
    assert device.stopping.is_set()
    power(device).close()
    device.close()

    again = make_device(tmp_path, FakeClock(), "w401")  # started again, the ignition still off
    try:
        assert not ignition(again).ignition() and power(again).waiting_for_ignition
        await loop_clock.advance(3600)
        assert not again.stopping.is_set()
        assert again.events.state(SHUTDOWN_PENDING, {})["Active"] == "0"
        ignition(again).set_ignition(True)
        ignition(again).set_ignition(False)
        assert again.events.state(SHUTDOWN_PENDING, {})["Active"] == "1"
    finally:
        power(again).close()
        again.close()


async def test_settings_are_checked_and_the_apis_check_roles(w401: Device, admin401: httpx.AsyncClient) -> None:
    for value in ("0", "61", "ten"):
        r = await admin401.get("/axis-cgi/param.cgi", params={"action": "update",
                                                               "PowerSettings.DelayedShutdown.Delay": value})
        assert r.text.startswith("# Error"), value
    assert w401.params.get("PowerSettings.DelayedShutdown.Delay") == "10"
    r = await admin401.post("/vigil/sim/power", json={"ignition": "off"})
    assert r.status_code == 400 and "ignition" in r.json()["error"]["message"]
    r = await admin401.post("/vigil/sim/power", json={"ignition": False})
    assert r.json() == {"ignition": False}
    status = (await admin401.get("/vigil/power")).json()
    assert status["ignition"] is False and status["enabled"] is False and status["delayMinutes"] == 10
    async with client_as(w401, "viewer") as viewer:
        assert (await viewer.get("/vigil/power")).status_code == 200
        assert (await viewer.post("/vigil/sim/power", json={"ignition": True})).status_code in (401, 403)
        r = await viewer.get("/axis-cgi/param.cgi", params={"action": "update",
                                                          "PowerSettings.DelayedShutdown.Enabled": "yes"})
        assert r.status_code == 403 and w401.params.get("PowerSettings.DelayedShutdown.Enabled") == "no"


async def test_rules_can_use_the_ignition_and_the_pending_shutdown(w401: Device, admin401: httpx.AsyncClient) -> None:
    from tests.peers.servers import item_filter

    action = await add_action(admin401, "com.axis.action.unlimited.io.toggle", {"port": "8", "state": "high"})
    await add_rule(admin401, "Engine off", action, start=(IGNITION, item_filter(Active="0")))
    ignition(w401).set_ignition(False)
    await settle()
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(w401.rules.drain(), 1)
    from vigil.hal.io import IO_HARDWARE
    assert w401.hardware[IO_HARDWARE].output(8) == "closed"
    assert w401.store.get_kv(RUNNING_KEY) == "1"
