"""The device clock: an offset over the host clock that steps or slews, never moving the host."""

from __future__ import annotations

import time

import pytest

from vigil.core.clock import MAX_SLEW_RATE, Clock, FakeClock, in_range


def test_a_step_moves_the_device_time_at_once():
    clock = FakeClock()
    start = clock.time()
    clock.step(-30.0)
    assert clock.time() == start - 30.0 and clock.offset == -30.0 and clock.slew_remaining == 0


def test_a_slew_runs_the_clock_faster_until_the_correction_is_done():
    clock = FakeClock()
    start = clock.time()
    clock.slew(1.0)
    assert clock.time() == start and clock.slew_remaining == 1.0 and clock.settled_offset == 1.0
    clock.advance(6.0)
    assert clock.time() == pytest.approx(start + 6.0 + 6.0 * MAX_SLEW_RATE)
    assert clock.slew_remaining == pytest.approx(1.0 - 6.0 * MAX_SLEW_RATE)
    clock.advance(100.0)
    assert clock.time() == pytest.approx(start + 107.0) and clock.slew_remaining == 0
    assert clock.slew_duration(1.0) == pytest.approx(12.0)


def test_a_negative_slew_slows_the_clock_but_never_turns_it_back():
    clock = FakeClock()
    clock.slew(-2.0)
    seen = [clock.time()]
    for _ in range(40):
        clock.advance(0.5)
        seen.append(clock.time())
    assert all(later > earlier for earlier, later in zip(seen, seen[1:], strict=False))
    assert seen[-1] == pytest.approx(seen[0] + 20.0 - 2.0)


def test_a_new_slew_replaces_the_one_under_way_from_where_the_clock_is():
    clock = FakeClock()
    start = clock.time()
    clock.slew(1.2)
    clock.advance(6.0)  # half of it done
    clock.slew(0.1)
    assert clock.time() == pytest.approx(start + 6.0 + 0.6)
    clock.advance(60.0)
    assert clock.time() == pytest.approx(start + 66.0 + 0.7)


def test_setting_the_time_drops_a_slew():
    clock = FakeClock()
    clock.slew(0.5)
    clock.set_time(1_800_000_000.0)
    assert clock.time() == 1_800_000_000.0 and clock.slew_remaining == 0
    clock.advance(10)
    assert clock.time() == 1_800_000_010.0


def test_the_real_clock_moves_only_its_offset():
    clock = Clock()
    clock.set_time(time.time() + 3600)
    assert abs(clock.time() - time.time() - 3600) < 1 and abs(clock.host_time() - time.time()) < 1
    clock.slew(0.5)
    assert clock.offset == pytest.approx(3600, abs=0.1) and clock.settled_offset == pytest.approx(3600.5, abs=0.1)


def test_the_slew_rate_must_keep_the_clock_running_forward():
    with pytest.raises(ValueError):
        Clock(max_slew_rate=1.0)


def test_the_range_of_dates():
    assert in_range(946_684_800.0) and in_range(4_102_444_799.0)
    assert not in_range(946_684_799.0) and not in_range(4_102_444_800.0)
