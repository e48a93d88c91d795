"""Schedules and pulses on the injectable clock, and as rule conditions."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from tests.conftest import make_device
from vigil.core.clock import FakeClock
from vigil.core.rules import Condition, Rule
from vigil.core.schedules import INTERVAL, PULSE, ScheduleError, ical_for, parse_ical
from vigil.hal.io import IO_HARDWARE

DAILY_1800 = "BEGIN:VEVENT\nDTSTART:20231101T180000\nDTEND:20231101T180100\nRRULE:FREQ=DAILY\nEND:VEVENT"
EVERY_5_MIN = "BEGIN:VEVENT\nDTSTART:20231101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=5\nEND:VEVENT"


def at(clock: FakeClock, text: str) -> None:
    clock.set_time(datetime.fromisoformat(text + "+00:00").timestamp())


@pytest.fixture
def dev(tmp_path: Path, clock: FakeClock):
    at(clock, "2023-11-14T17:59:00")
    d = make_device(tmp_path, clock, "w401")
    yield d
    d.close()


def test_daily_schedule_is_active_one_minute(dev, clock: FakeClock) -> None:
    s = dev.schedules.add("Evening", DAILY_1800, "t")
    assert dev.events.state(INTERVAL, {"id": s.id}) == {"active": "0"}
    at(clock, "2023-11-14T18:00:30")
    dev.schedules.tick()
    assert dev.events.state(INTERVAL, {"id": s.id}) == {"active": "1"}
    at(clock, "2023-11-14T18:01:00")
    dev.schedules.tick()
    assert dev.events.state(INTERVAL, {"id": s.id}) == {"active": "0"}


def test_schedule_follows_the_device_time_zone(dev, clock: FakeClock) -> None:
    dev.params.set_internal({"Time.TimeZone": "Europe/Stockholm"})  # UTC+1 in November
    s = dev.schedules.add("Evening", DAILY_1800, "t")
    at(clock, "2023-11-14T17:00:30")
    dev.schedules.tick()
    assert dev.events.state(INTERVAL, {"id": s.id}) == {"active": "1"}


def test_pulse_every_five_minutes_fires_once_per_occurrence(dev, clock: FakeClock) -> None:
    s = dev.schedules.add("Every 5", EVERY_5_MIN, "t")
    pulses = []
    dev.events.subscribe(lambda e: pulses.append(e) if e.topic == PULSE else None)
    at(clock, "2023-11-14T17:59:59")
    dev.schedules.tick()
    assert pulses == []
    at(clock, "2023-11-14T18:00:00")
    dev.schedules.tick()
    at(clock, "2023-11-14T18:00:01")
    dev.schedules.tick()
    assert len(pulses) == 1 and pulses[0].source == {"id": s.id}
    at(clock, "2023-11-14T18:05:00")
    dev.schedules.tick()
    assert len(pulses) == 2


async def test_schedule_as_rule_condition_drives_an_output(dev, clock: FakeClock) -> None:
    dev.params.set_internal({"IOPort.I1.Direction": "output"})
    s = dev.schedules.add("Evening", DAILY_1800, "t")
    action = dev.rules.add_action("lamp", "com.axis.action.unlimited.io.toggle", {"port": "1", "state": "high"}, "t")
    dev.rules.add_rule(Rule(0, "evening lamp", True, action.id, (Condition(INTERVAL, (("id", s.id),)),)), "t")
    at(clock, "2023-11-14T18:00:10")
    dev.schedules.tick()
    await asyncio.sleep(0)
    await dev.rules.drain()
    assert dev.hardware[IO_HARDWARE].output(1) == "closed"
    at(clock, "2023-11-14T18:01:10")
    dev.schedules.tick()
    await asyncio.sleep(0)
    await dev.rules.drain()
    assert dev.hardware[IO_HARDWARE].output(1) == "open"


def test_schedules_persist_and_bad_calendars_are_refused(tmp_path: Path, clock: FakeClock) -> None:
    d = make_device(tmp_path, clock, "w401")
    d.schedules.add("Evening", ical_for(datetime(2023, 11, 1, 18), datetime(2023, 11, 1, 19), "FREQ=DAILY"), "t")
    for bad in ("garbage", "BEGIN:VEVENT\nEND:VEVENT", "DTSTART:2023\n", DAILY_1800.replace("DAILY", "SOMETIMES"),
                "DTSTART:20231101T180000\nDTEND:20231101T170000"):
        with pytest.raises(ScheduleError):
            d.schedules.add("bad", bad, "t")
    d.close()
    again = make_device(tmp_path, clock, "w401")
    assert [s.name for s in again.schedules.schedules.values()] == ["Evening"]
    again.close()


def test_parse_duration_form() -> None:
    s = parse_ical("S0", "x", "DTSTART:20231101T080000\nDURATION:PT8H\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR")
    assert s.duration is not None and s.duration.total_seconds() == 8 * 3600


@pytest.mark.parametrize("ical, reason", [
    ("DTSTART:19700101T080000" + " " * 9000 + "x", "at most 8192"),
    ("DTSTART:20240101T000000\nDURATION:P" + "9" * 5000 + "W", "bad DURATION"),
    ("DTSTART:99991231T000000\nDURATION:P2D", "after the year 9999"),
    ("DTSTART:20240101T000000\nRRULE:FREQ=DAILY;INTERVAL=" + "9" * 5000, "bad RRULE"),
])
def test_schedules_refuse_oversized_or_overflowing_text(ical: str, reason: str) -> None:
    with pytest.raises(ScheduleError, match=reason):
        parse_ical("S0", "x", ical)


def test_an_occurrence_ending_after_the_calendar_is_active(dev) -> None:
    s = parse_ical("S0", "x", "DTSTART:99991230T120000\nDTEND:99991231T120000\nRRULE:FREQ=DAILY")
    assert dev.schedules.active(s, datetime(9999, 12, 31, 13))
    assert not dev.schedules.active(s, datetime(9999, 12, 30, 11))
