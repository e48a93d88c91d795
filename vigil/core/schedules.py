"""Schedules and pulses, usable as rule conditions; they run on the injectable clock.

A schedule is an iCalendar VEVENT (DTSTART, DTEND or DURATION, RRULE), as the VAPIX event
service stores it: while inside an occurrence the schedule's Interval property is active.
A pulse is a recurrence without duration (e.g. every 5 minutes) and emits a stateless
Pulse event at each occurrence. Times are the device's local time (vigil.core.zones).

Evaluation costs the same a year on as on the first day. A schedule is evaluated again only when
its state can change (the end of the occurrence it is in, or the start of the next one; a clock
set back re-evaluates everything), and a recurrence that repeats after a fixed number of seconds
(every N seconds, minutes, hours, days or weeks, filtered by time of day or weekday) is walked from
its latest whole repetition, not from DTSTART: a pulse every minute started years ago does not
mean millions of occurrences per second. Days of the month or year (BYMONTH, BYMONTHDAY,
BYYEARDAY, BYWEEKNO) need FREQ=MONTHLY or YEARLY; such a recurrence is walked from DTSTART, so
it may have at most 20000 occurrences from DTSTART to a year after it is added. COUNT is at most
1000.
"""

from __future__ import annotations

import asyncio
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dateutil.rrule import rrule, rrulestr

from vigil.core.clock import Clock
from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.store import Store
from vigil.core.zones import device_zone

INTERVAL = "tns1:UserAlarm/tnsaxis:Recurring/Interval"
PULSE = "tns1:UserAlarm/tnsaxis:Recurring/Pulse"
MAX_SCHEDULES = 64
MAX_ICAL = 8192  # characters of one schedule's iCalendar text: a VEVENT with its RRULE needs far less
_LINE = re.compile(r"^([A-Z-]+)(;[^:]*)?:(.*)$")
# Counts are bounded so that int() never sees thousands of digits.
_DURATION = re.compile(r"^P(?:([0-9]{1,6})W)?(?:([0-9]{1,6})D)?(?:T(?:([0-9]{1,6})H)?(?:([0-9]{1,6})M)?"
                       r"(?:([0-9]{1,6})S)?)?$")
MAX_COUNT = 1000  # occurrences of a recurrence with COUNT
_DAY, _WEEK = 86400, 7 * 86400
_FREQ_SECONDS = {"SECONDLY": 1, "MINUTELY": 60, "HOURLY": 3600, "DAILY": _DAY, "WEEKLY": _WEEK}
# Rule parts that tie occurrences to the calendar or count them from DTSTART: with any of them a
# recurrence does not repeat after a fixed number of seconds.
_CALENDAR_PARTS = {"BYMONTH", "BYMONTHDAY", "BYYEARDAY", "BYWEEKNO", "BYEASTER", "COUNT"}
_AHEAD = timedelta(days=366)  # how far ahead a calendar recurrence is looked at in one go
MAX_WALK = 20000  # occurrences of a calendar recurrence from DTSTART to a year after it is added


class ScheduleError(ValueError):
    pass


@dataclass(frozen=True)
class Schedule:
    id: str
    name: str
    ical: str
    start: datetime  # naive local time
    duration: timedelta | None  # None: a pulse
    rrule: str
    cycle: int | None = None  # seconds after which the recurrence repeats exactly, when it does

    @property
    def pulse(self) -> bool:
        return self.duration is None


def _rule_parts(rule: str) -> dict[str, str]:
    parts = {}
    for part in rule.upper().split(";"):
        key, _, value = part.partition("=")
        parts[key.strip()] = value.strip()
    return parts


def repeat_seconds(rule: str) -> int | None:
    """After how many seconds a recurrence repeats itself exactly: its frequency times its interval,
    made a whole number of days when it filters by time of day (BYHOUR, BYMINUTE, BYSECOND), or of
    weeks when it filters by weekday. None when it is tied to the calendar or counted."""
    parts = _rule_parts(rule)
    unit = _FREQ_SECONDS.get(parts.get("FREQ", ""))
    if unit is None or parts.keys() & _CALENDAR_PARTS or any(c.isdigit() for c in parts.get("BYDAY", "")):
        return None  # MONTHLY/YEARLY, month days, "the first Monday" ...
    interval = parts.get("INTERVAL", "1")
    if not interval.isdigit() or len(interval) > 9 or int(interval) < 1:
        return None
    cycle = int(interval) * unit
    if "BYDAY" in parts:
        cycle = math.lcm(cycle, _WEEK)
    elif parts.keys() & {"BYHOUR", "BYMINUTE", "BYSECOND"}:
        cycle = math.lcm(cycle, _DAY)
    return cycle


def _parse_time(value: str) -> datetime:
    value = value.strip().rstrip("Z")
    for fmt in ("%Y%m%dT%H%M%S", "%Y%m%dT%H%M", "%Y%m%d"):
        try:
            return datetime.strptime(value, fmt)
        except ValueError:
            continue
    raise ScheduleError(f"bad date-time {value[:80]!r}")


def parse_ical(schedule_id: str, name: str, ical: str) -> Schedule:
    """Read the VEVENT lines we need; anything unparseable is a clear error."""
    if len(ical) > MAX_ICAL:
        raise ScheduleError(f"the iCalendar text is {len(ical)} characters; at most {MAX_ICAL} are allowed")
    fields: dict[str, str] = {}
    for raw in re.split(r"\r?\n|\\n", ical.strip()):
        line = raw.strip()
        if not line:
            continue
        m = _LINE.match(line)
        if not m:
            raise ScheduleError(f"unreadable iCalendar line {line[:80]!r}")
        fields[m.group(1)] = m.group(3)
    if "DTSTART" not in fields:
        raise ScheduleError("a schedule needs DTSTART")
    start = _parse_time(fields["DTSTART"])
    duration: timedelta | None = None
    if "DTEND" in fields:
        duration = _parse_time(fields["DTEND"]) - start
        if duration <= timedelta(0):
            raise ScheduleError("DTEND must come after DTSTART")
    elif "DURATION" in fields:
        m = _DURATION.match(fields["DURATION"])
        if not m or not any(m.groups()):
            raise ScheduleError(f"bad DURATION {fields['DURATION'][:80]!r}")
        w, d, h, mi, s = (int(g or 0) for g in m.groups())
        duration = timedelta(weeks=w, days=d, hours=h, minutes=mi, seconds=s)
    if duration is not None:
        try:
            start + duration  # noqa: B018 - an occurrence must end within the calendar
        except OverflowError:
            raise ScheduleError("the schedule ends after the year 9999") from None
    rule = fields.get("RRULE", "")
    if rule:
        try:
            parsed = rrulestr(f"RRULE:{rule}", dtstart=start)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as err:
            raise ScheduleError(f"bad RRULE {rule[:80]!r}: {err}") from None
        parts = _rule_parts(rule)
        count = parts.get("COUNT", "")
        if not isinstance(parsed, rrule) or (count and (len(count) > 6 or int(count) > MAX_COUNT)):
            raise ScheduleError(f"bad RRULE {rule[:80]!r}: one recurrence, with COUNT at most {MAX_COUNT}")
        calendar = sorted(parts.keys() & (_CALENDAR_PARTS - {"COUNT"}))
        if calendar and parts.get("FREQ") not in ("MONTHLY", "YEARLY"):
            raise ScheduleError(f"bad RRULE {rule[:80]!r}: days of the month or year ({', '.join(calendar)}) "
                                "need FREQ=MONTHLY or FREQ=YEARLY")
    return Schedule(schedule_id, name, ical, start, duration, rule, repeat_seconds(rule) if rule else None)


def ical_for(start: datetime, end: datetime | None, rrule: str) -> str:
    """Build the VEVENT text for a schedule (end given) or pulse (no end)."""
    lines = ["BEGIN:VEVENT", f"DTSTART:{start:%Y%m%dT%H%M%S}"]
    if end is not None:
        lines.append(f"DTEND:{end:%Y%m%dT%H%M%S}")
    if rrule:
        lines.append(f"RRULE:{rrule}")
    return "\n".join(lines + ["END:VEVENT"])


@dataclass(frozen=True)
class _Plan:
    """What evaluating one schedule found at `checked`: nothing changes before `until` (None:
    nothing will happen any more). For a pulse, `until` is the next pulse, which `fires` unless it
    is only the end of the stretch looked at."""

    checked: datetime
    until: datetime | None
    active: bool = False
    fires: bool = True


def _plus(moment: datetime, span: timedelta) -> datetime | None:
    """moment + span; None past the year 9999 (never, in practice)."""
    try:
        return moment + span
    except OverflowError:
        return None


def _minus(moment: datetime, span: timedelta) -> datetime:
    try:
        return moment - span
    except OverflowError:
        return datetime.min


def _recurrence(schedule: Schedule, since: datetime, until: datetime) -> rrule:
    """The schedule's recurrence with the same occurrences from `since` on, cheap to walk up to
    `until`: a repeating one begins at its latest whole repetition at or before `since` (never walked
    from a DTSTART long ago); one tied to the calendar is cut at `until` (never walked to the year 9999
    looking for an occurrence that does not come), unless it is counted (COUNT at most 1000)."""
    start = schedule.start
    if schedule.cycle and since > start:
        start += timedelta(seconds=(int((since - start).total_seconds()) // schedule.cycle) * schedule.cycle)
    rule = rrulestr(f"RRULE:{schedule.rrule}", dtstart=start)
    assert isinstance(rule, rrule)  # parse_ical allows one recurrence only
    parts = _rule_parts(schedule.rrule)
    if schedule.cycle is None and "COUNT" not in parts:
        own = _parse_time(parts["UNTIL"]) if "UNTIL" in parts else None
        rule = rule.replace(until=min(own, until) if own else until)
    return rule


def _next_after(schedule: Schedule, moment: datetime) -> tuple[datetime | None, bool]:
    """(the first occurrence after `moment`, True), or for a recurrence tied to the calendar with none
    within a year (the time to look again, False); (None, True) when none will come."""
    if not schedule.rrule:
        return (schedule.start, True) if schedule.start > moment else (None, True)
    horizon = _plus(moment, _AHEAD) or datetime.max
    found = _recurrence(schedule, moment, horizon).after(moment)
    if found is None and schedule.cycle is None and horizon < datetime.max and \
            "COUNT" not in _rule_parts(schedule.rrule):
        return horizon, False
    return found, True


def _pulse_plan(schedule: Schedule, now: datetime, after: datetime) -> _Plan:
    until, fires = _next_after(schedule, after)
    return _Plan(now, until, fires=fires)


@dataclass
class Scheduler:
    store: Store
    bus: EventBus
    clock: Clock
    params: ParamTree
    logs: Logs
    schedules: dict[str, Schedule] = field(default_factory=dict)
    _last_tick: datetime | None = None
    _plans: dict[str, _Plan] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._declare()

    def _declare(self) -> None:
        ids = tuple(sorted(self.schedules))
        self.bus.declare(Topic(INTERVAL, "Scheduled event", True,
                               (Item("id", "xsd:string", "Schedule", tuple(s for s in ids if not self.schedules[s].pulse)),),
                               (Item("active", "xsd:boolean", "Active", state=True),)))
        self.bus.declare(Topic(PULSE, "Pulse", False,
                               (Item("id", "xsd:string", "Pulse", tuple(s for s in ids if self.schedules[s].pulse)),),
                               ()))

    def load(self) -> None:
        for sid, name, body in self.store.query("SELECT id, name, body FROM schedules"):
            try:
                self.schedules[sid] = parse_ical(sid, name, json.loads(body)["ical"])
            except ScheduleError as err:
                self.logs.system(f"schedule {sid} could not be read: {err}", "warning")
        self._declare()
        self.tick()

    def local_now(self) -> datetime:
        return datetime.fromtimestamp(self.clock.time(), device_zone(self.params)).replace(tzinfo=None)

    # -- changing ----------------------------------------------------------------------
    def add(self, name: str, ical: str, actor: str, schedule_id: str | None = None) -> Schedule:
        if len(self.schedules) >= MAX_SCHEDULES:
            raise ScheduleError(f"At most {MAX_SCHEDULES} schedules are allowed")
        if not name or len(name) > 64:
            raise ScheduleError("A schedule needs a name of 1 to 64 characters")
        sid = schedule_id or self._next_id()
        if sid in self.schedules:
            raise ScheduleError(f"A schedule with id {sid} exists")
        schedule = parse_ical(sid, name, ical)
        if schedule.rrule and schedule.cycle is None:
            self._check_walk(schedule)
        with self.store.transaction() as db:
            db.execute("INSERT INTO schedules(id, name, kind, body) VALUES(?,?,?,?)",
                       (sid, name, "pulse" if schedule.pulse else "interval", json.dumps({"ical": ical})))
        self.schedules[sid] = schedule
        self._declare()
        self.logs.audit(actor, f"added schedule {sid} {name!r}", "events")
        self.tick()
        return schedule

    def _check_walk(self, schedule: Schedule) -> None:
        """A recurrence walked from DTSTART may not have more than MAX_WALK occurrences up to a
        year from now: evaluating it stays cheap for years."""
        horizon = _plus(self.local_now(), _AHEAD) or datetime.max
        walked = rrulestr(f"RRULE:{schedule.rrule}", dtstart=schedule.start)
        for n, occurrence in enumerate(walked):
            if occurrence > horizon:
                return
            if n >= MAX_WALK:
                raise ScheduleError(f"the recurrence has more than {MAX_WALK} occurrences from its DTSTART to a "
                                    "year from now: start it later or repeat it less often")

    def remove(self, schedule_id: str, actor: str) -> None:
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            raise ScheduleError(f"Unknown schedule {schedule_id}")
        with self.store.transaction() as db:
            db.execute("DELETE FROM schedules WHERE id=?", (schedule_id,))
        del self.schedules[schedule_id]
        self._plans.pop(schedule_id, None)
        if not schedule.pulse:
            self.bus.delete(INTERVAL, {"id": schedule_id})
        self._declare()
        self.logs.audit(actor, f"removed schedule {schedule_id}", "events")

    def _next_id(self) -> str:
        n = 0
        while f"S{n}" in self.schedules:
            n += 1
        return f"S{n}"

    # -- running -----------------------------------------------------------------------
    def active(self, schedule: Schedule, now: datetime) -> bool:
        return self._plan_interval(schedule, now).active

    def _plan_interval(self, schedule: Schedule, now: datetime) -> _Plan:
        """Whether a schedule is active at `now`, and until when that holds."""
        assert schedule.duration is not None
        if not schedule.rrule:
            start, end = schedule.start, _plus(schedule.start, schedule.duration)
            if now < start:
                return _Plan(now, start, False)
            return _Plan(now, end, True) if end is None or now < end else _Plan(now, None, False)
        # The latest occurrence that started by now is the one that can still last: an
        # occurrence that started before now - duration has ended.
        last = _recurrence(schedule, _minus(now, schedule.duration), now).before(now, inc=True)
        end = _plus(last, schedule.duration) if last is not None else None
        if last is not None and (end is None or now < end):
            return _Plan(now, end, True)
        return _Plan(now, _next_after(schedule, now)[0])

    def tick(self) -> None:
        """Bring every schedule's state and pulses up to the clock's present. A schedule is looked
        at again when its plan says its state can change, or when the clock went back."""
        now = self.local_now()
        previous = self._last_tick or now
        for schedule in list(self.schedules.values()):
            plan = self._plans.get(schedule.id)
            stale = plan is None or now < plan.checked
            if schedule.pulse:
                if stale:
                    plan = _pulse_plan(schedule, now, min(previous, now))
                assert plan is not None
                if now > previous and plan.until is not None and plan.until <= now:
                    if plan.fires:  # a clock jump fires once, not once per missed pulse
                        self.bus.publish(PULSE, {"id": schedule.id}, {})
                    plan = _pulse_plan(schedule, now, now)
            else:
                if stale or (plan is not None and plan.until is not None and now >= plan.until):
                    plan = self._plan_interval(schedule, now)
                assert plan is not None
                self.bus.publish(INTERVAL, {"id": schedule.id}, {"active": "1" if plan.active else "0"})
            self._plans[schedule.id] = plan
        self._last_tick = now

    async def run(self) -> None:
        failed = ""
        while True:
            try:
                self.tick()
                failed = ""
            except (ValueError, OverflowError) as err:  # e.g. a clock set beyond the calendar
                if str(err) != failed:  # said once, not every second
                    failed = str(err)
                    self.logs.system(f"schedules could not be evaluated: {err}", "warning", "events")
            await asyncio.sleep(1.0 - (self.clock.time() % 1.0) + 0.001)
