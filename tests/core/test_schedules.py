"""Schedules and pulses on the injectable clock, and as rule conditions."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from tests.conftest import make_device
from vigil.core.clock import FakeClock
from vigil.core.rules import Condition, Rule
from vigil.core.schedules import (
    INTERVAL,
    PULSE,
    ScheduleError,
    _next_after,
    _recurrence,
    ical_for,
    parse_ical,
)
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


RULES = ["FREQ=HOURLY;INTERVAL=7", "FREQ=HOURLY;BYMINUTE=0,30", "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE",
         "FREQ=DAILY;BYHOUR=8,20", "FREQ=MINUTELY;INTERVAL=13;BYHOUR=9", "FREQ=DAILY;INTERVAL=3",
         "FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=DAILY;COUNT=10", "FREQ=YEARLY;BYMONTH=6;BYDAY=MO,FR;BYHOUR=7,19", "FREQ=WEEKLY;BYDAY=FR;UNTIL=20231231T000000", "FREQ=MONTHLY;BYDAY=1MO"]


@pytest.mark.parametrize("rule", RULES)
def test_evaluation_from_a_later_start_finds_what_walking_from_dtstart_finds(dev, rule: str) -> None:
    """The shortcuts (a recurrence begun at its latest repetition, a calendar one cut a year ahead)
    give the same states and next pulses as walking every occurrence from DTSTART."""
    import bisect

    from dateutil.rrule import rrulestr

    start = datetime(2023, 1, 9, 8, 15)
    interval = parse_ical("S0", "x", f"DTSTART:{start:%Y%m%dT%H%M%S}\nDURATION:PT45M\nRRULE:{rule}")
    pulse = parse_ical("S1", "x", f"DTSTART:{start:%Y%m%dT%H%M%S}\nRRULE:{rule}")
    # Every occurrence from DTSTART, walked once.
    walked = rrulestr(f"RRULE:{rule}", dtstart=start).between(start, datetime(2026, 6, 1), inc=True)
    moment = datetime(2023, 1, 1)
    while moment < datetime(2025, 1, 1):
        n = bisect.bisect_right(walked, moment)
        last = walked[n - 1] if n else None
        assert dev.schedules.active(interval, moment) == (last is not None and moment < last + interval.duration), \
            (rule, moment)
        following = walked[n] if n < len(walked) else None
        found, fires = _next_after(pulse, moment)
        if fires:
            assert found == following, (rule, moment)
        else:  # nothing within a year: looked at again then
            assert found == moment + timedelta(days=366) and (following is None or following > found)
        moment += timedelta(hours=29, minutes=37, seconds=11)


def test_a_recurrence_is_walked_from_its_latest_repetition(dev) -> None:
    """A pulse every minute since 1970: the walk to the present starts a minute before it, not at
    the 29 million occurrences since DTSTART."""
    schedule = parse_ical("S0", "x", "DTSTART:19700101T000000\nRRULE:FREQ=MINUTELY")
    assert schedule.cycle == 60
    now = datetime(2026, 12, 6, 12, 0, 30)
    assert next(iter(_recurrence(schedule, now, now))) == datetime(2026, 12, 6, 12, 0)
    weekly = parse_ical("S1", "x", "DTSTART:20200106T080000\nDTEND:20200106T170000\n"
                                   "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,TU")
    assert weekly.cycle == 14 * 86400
    first = next(iter(_recurrence(weekly, now, now)))
    assert timedelta(0) <= now - first < timedelta(days=14) and first.weekday() in (0, 1)
    calendar = parse_ical("S2", "x", "DTSTART:19700131T000000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=-1")
    walked = list(_recurrence(calendar, now, now))  # cut at now, not walked to the year 9999
    assert calendar.cycle is None and walked[-1] == datetime(2026, 11, 30)


def test_schedules_are_evaluated_when_their_state_can_change_only(dev, clock: FakeClock, monkeypatch) -> None:
    import vigil.core.schedules as schedules

    calls = []
    real = schedules.rrulestr
    monkeypatch.setattr(schedules, "rrulestr", lambda *a, **k: calls.append(a) or real(*a, **k))
    s = dev.schedules.add("Evening", DAILY_1800, "t")
    p = dev.schedules.add("Pulse", EVERY_5_MIN, "t")
    at(clock, "2023-11-14T17:50:00")
    dev.schedules.tick()
    calls.clear()
    for _ in range(1, 300):  # 17:50:01 .. 17:54:59: no state changes, no walking
        clock.set_time(clock.time() + 1)
        dev.schedules.tick()
    assert calls == []
    pulses = []
    dev.events.subscribe(lambda e: pulses.append(e) if e.topic == PULSE else None)
    at(clock, "2023-11-14T17:55:00")
    dev.schedules.tick()
    assert len(pulses) == 1 and calls  # the pulse came, and the next one was looked up
    at(clock, "2023-11-14T18:00:00")
    dev.schedules.tick()
    assert dev.events.state(INTERVAL, {"id": s.id}) == {"active": "1"} and len(pulses) == 2
    at(clock, "2023-11-14T17:00:00")  # the clock set back: everything is evaluated again
    dev.schedules.tick()
    assert dev.events.state(INTERVAL, {"id": s.id}) == {"active": "0"} and len(pulses) == 2
    assert p.id in dev.schedules.schedules


def test_a_recurrence_that_never_occurs_is_looked_at_again_a_year_later(dev, clock: FakeClock) -> None:
    s = dev.schedules.add("Never", "DTSTART:20230101T000000\nDTEND:20230101T010000\n"
                                   "RRULE:FREQ=MONTHLY;BYMONTH=2;BYMONTHDAY=30", "t")
    assert dev.events.state(INTERVAL, {"id": s.id}) == {"active": "0"}
    plan = dev.schedules._plans[s.id]  # nothing within a year: not walked again before then
    assert plan.until == plan.checked + timedelta(days=366) and not plan.active
    assert not dev.schedules.active(s, datetime(2024, 2, 29, 0, 30))


@pytest.mark.parametrize("rule", ["FREQ=DAILY;BYMONTH=2;BYMONTHDAY=30", "FREQ=SECONDLY;BYMONTH=1",
                                  "FREQ=WEEKLY;BYWEEKNO=1", "FREQ=HOURLY;BYYEARDAY=1"])
def test_days_of_the_month_or_year_need_a_monthly_or_yearly_recurrence(rule: str) -> None:
    with pytest.raises(ScheduleError, match="need FREQ=MONTHLY or FREQ=YEARLY"):
        parse_ical("S0", "x", f"DTSTART:19700101T000000\nRRULE:{rule}")


def test_a_calendar_recurrence_walked_from_dtstart_is_limited(dev) -> None:
    dev.schedules.add("ok", "DTSTART:20200101T000000\nRRULE:FREQ=MONTHLY;BYMONTHDAY=1,15;BYHOUR=8,20", "t")
    with pytest.raises(ScheduleError, match="more than 20000 occurrences"):
        dev.schedules.add("dense", "DTSTART:19700101T000000\nRRULE:FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=0,6,12,18", "t")
    assert [s.name for s in dev.schedules.schedules.values()] == ["ok"]


def test_counted_recurrences_are_limited() -> None:
    parse_ical("S0", "x", "DTSTART:20240101T000000\nRRULE:FREQ=DAILY;COUNT=1000")
    with pytest.raises(ScheduleError, match="COUNT at most 1000"):
        parse_ical("S0", "x", "DTSTART:20240101T000000\nRRULE:FREQ=DAILY;COUNT=1001")
