"""The disk hardware layer: RAID arithmetic, the simulated bays (failure, removal, replacement,
resync over time, numbers from outside checked) and the LED states of the manuals' LED tables."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from vigil.core.clock import FakeClock
from vigil.hal.disks import DiskError, array_state, data_lost, drive_leds, level_problem, raid_capacity
from vigil.hal.sim.disks import SimulatedDisks

TB = 10**12


def sim(tmp_path: Path, clock: FakeClock, slots: int = 4, level: int | None = 5, levels=(0, 1, 5, 6, 10)):
    return SimulatedDisks(slots, 4 * TB, levels if level is not None else (), clock, tmp_path / "disks.json",
                          default_level=level, resync_seconds=100)


def test_capacity_of_each_level_over_four_4tb_drives() -> None:
    sizes = [4 * TB] * 4
    assert {level: raid_capacity(level, sizes) // TB for level in (0, 1, 5, 6, 10)} == {0: 16, 1: 4, 5: 12, 6: 8,
                                                                                        10: 8}
    assert raid_capacity(5, [4 * TB, 4 * TB, 2 * TB]) == 4 * TB  # members count as the smallest
    assert raid_capacity(None, [4 * TB]) == 4 * TB


@pytest.mark.parametrize(("level", "count", "problem"), [
    (6, 3, "RAID 6 needs at least 4 drives; 3 working drives available"),
    (5, 2, "RAID 5 needs at least 3 drives"),
    (10, 3, "RAID 10 needs at least 4 drives"),
    (1, 1, "RAID 1 needs at least 2 drives; 1 working drive available"),
    (7, 4, "RAID level 7 is not supported"),
])
def test_levels_a_drive_count_cannot_hold(level: int, count: int, problem: str) -> None:
    assert problem in (level_problem(level, count) or "")


def test_levels_a_drive_count_can_hold() -> None:
    assert level_problem(5, 3) is None and level_problem(6, 4) is None and level_problem(10, 4) is None


def test_which_losses_each_level_survives() -> None:
    ok, bad = True, False
    assert data_lost(0, [ok, bad, ok, ok])
    assert not data_lost(1, [bad, bad, bad, ok])
    assert not data_lost(5, [ok, bad, ok, ok]) and data_lost(5, [bad, bad, ok, ok])
    assert not data_lost(6, [bad, bad, ok, ok]) and data_lost(6, [bad, bad, bad, ok])
    assert not data_lost(10, [bad, ok, bad, ok])  # one from each mirror pair
    assert data_lost(10, [bad, bad, ok, ok])  # both halves of one pair
    assert array_state(5, ["online", "rebuilding", "online", "online"]) == "syncing"
    assert array_state(5, ["online", "failed", "online", "online"]) == "degraded"


def test_raid5_degrades_fails_and_a_replacement_resyncs_on_the_clock(tmp_path: Path) -> None:
    clock = FakeClock()
    hw = sim(tmp_path, clock)
    changes = []
    hw.watch(lambda: changes.append(hw.array().state))
    array = hw.array()
    assert (array.level, array.state, array.capacity) == (5, "online", 12 * TB)
    serials = [d.serial for d in hw.drives()]
    assert len(set(serials)) == 4 and all(d.temperature and d.health == "passed" for d in hw.drives())

    hw.fail(1)
    assert hw.array().state == "degraded"
    leds = drive_leds(hw.drives(), hw.array(), raid=True)
    assert (leds[1].color, leds[0].color, leds[2].color) == ("red", "amber", "amber")
    assert hw.health_test(1) == "failed" and hw.health_test(0) == "passed"

    hw.insert(1)
    assert hw.drives()[1].serial not in serials and hw.drives()[1].status == "rebuilding"
    array = hw.array()
    assert array.state == "syncing" and array.sync_progress == 0.0 and array.sync_remaining == 100.0
    assert drive_leds(hw.drives(), array, raid=True)[0].blink  # blinks green alternately
    clock.advance(40)
    hw.poll()
    assert hw.array().sync_progress == 40.0 and hw.array().state == "syncing"
    clock.advance(60)
    hw.poll()
    assert hw.array().state == "online" and hw.drives()[1].status == "online"
    assert changes[-1] == "online"


def test_a_second_failure_loses_the_raid5_and_a_new_drive_is_a_spare(tmp_path: Path) -> None:
    hw = sim(tmp_path, FakeClock())
    hw.fail(0)
    hw.remove(2)
    assert hw.array().state == "failed"
    leds = drive_leds(hw.drives(), hw.array(), raid=True)
    assert [leds[s].color for s in range(4)] == ["red", "red", "off", "red"]  # all red; empty bay off
    hw.insert(2)
    assert hw.array().state == "failed" and hw.drives()[2].status == "spare"  # nothing to rebuild from
    hw.insert(0)
    with pytest.raises(DiskError, match="needs at least 4"):
        hw.create(6, [0, 2, 3])
    array = hw.create(5, [0, 2, 3])
    assert array.state == "syncing" and array.capacity == 8 * TB  # a new, empty array that syncs first
    hw.step(100)
    assert hw.array().state == "online"


def test_raid6_survives_two_failures_and_both_replacements_resync(tmp_path: Path) -> None:
    clock = FakeClock()
    hw = sim(tmp_path, clock, level=6)
    hw.fail(0)
    hw.fail(3)
    assert hw.array().state == "degraded"
    hw.insert(0)
    hw.insert(3)
    assert hw.array().state == "syncing"
    hw.step(50)
    assert hw.array().sync_progress == 50.0
    hw.step(50)
    assert hw.array().state == "online"


def test_bays_survive_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    hw = sim(tmp_path, clock)
    hw.fail(2)
    again = sim(tmp_path, clock)
    assert again.array().state == "degraded" and again.drives()[2].status == "failed"
    assert [d.serial for d in again.drives()] == [d.serial for d in hw.drives()]


def test_single_drive_recorder(tmp_path: Path) -> None:
    hw = sim(tmp_path, FakeClock(), slots=1, level=None)
    first = hw.array()
    assert (first.level, first.state, first.capacity) == (None, "online", 4 * TB)
    led = drive_leds(hw.drives(), first, raid=False, writing=True)[0]
    assert (led.color, led.blink) == ("green", True)
    hw.fail(0)
    assert hw.array().state == "failed"
    assert drive_leds(hw.drives(), hw.array(), raid=False)[0].color == "red"
    hw.insert(0)
    assert hw.array().state == "online" and hw.array().uuid != first.uuid  # a new, empty drive


@pytest.mark.parametrize("celsius", [math.inf, -math.inf, math.nan, 1e300, 151, -61])
def test_a_temperature_no_drive_reports_is_refused_and_not_stored(tmp_path: Path, celsius: float) -> None:
    hw = sim(tmp_path, FakeClock())
    saved = (tmp_path / "disks.json").read_bytes()
    with pytest.raises(DiskError, match="celsius must be a number from -60 to 150"):
        hw.set_temperature(1, celsius)
    assert (tmp_path / "disks.json").read_bytes() == saved and hw.drives()[1].temperature == 35.0
    hw.set_temperature(1, 149.5)
    assert hw.drives()[1].temperature == 149.5


@pytest.mark.parametrize("change", [lambda hw: hw.step(math.nan), lambda hw: hw.step(math.inf),
                                    lambda hw: hw.set_resync_seconds(math.nan),
                                    lambda hw: hw.set_resync_seconds(math.inf),
                                    lambda hw: hw.set_capacity(0), lambda hw: hw.insert(1, capacity=10**40),
                                    lambda hw: hw.insert(1, serial="x\n")])
def test_other_numbers_from_outside_are_checked(tmp_path: Path, change) -> None:
    hw = sim(tmp_path, FakeClock())
    hw.fail(1)
    hw.insert(1)  # resyncing: a NaN step would have made its progress NaN
    saved = (tmp_path / "disks.json").read_bytes()
    with pytest.raises(DiskError):
        change(hw)
    assert (tmp_path / "disks.json").read_bytes() == saved
    assert hw.array().sync_progress == 0.0 and hw.resync_seconds == 100


def test_a_state_file_with_infinity_reads_as_no_reading(tmp_path: Path) -> None:
    """Written before temperatures were checked: the views must not carry Infinity on."""
    hw = sim(tmp_path, FakeClock())
    state = json.loads((tmp_path / "disks.json").read_text())
    state["bays"][1]["temperature"] = math.inf
    state["resync_seconds"] = math.nan
    (tmp_path / "disks.json").write_text(json.dumps(state))
    again = sim(tmp_path, FakeClock())
    assert again.drives()[1].temperature is None and again.resync_seconds == 600.0
    json.dumps(again.state(), allow_nan=False)
    assert [d.serial for d in again.drives()] == [d.serial for d in hw.drives()]
