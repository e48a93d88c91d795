"""Schedules and pulses, usable as rule conditions; they run on the injectable clock.

A schedule is an iCalendar VEVENT (DTSTART, DTEND or DURATION, RRULE), as the VAPIX event
service stores it: while inside an occurrence the schedule's Interval property is active.
A pulse is a recurrence without duration (e.g. every 5 minutes) and emits a stateless
Pulse event at each occurrence. Times are the device's local time (Time.TimeZone).
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrulestr

from vigil.core.clock import Clock
from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.store import Store

INTERVAL = "tns1:UserAlarm/tnsaxis:Recurring/Interval"
PULSE = "tns1:UserAlarm/tnsaxis:Recurring/Pulse"
MAX_SCHEDULES = 64
MAX_ICAL = 8192  # characters of one schedule's iCalendar text: a VEVENT with its RRULE needs far less
_LINE = re.compile(r"^([A-Z-]+)(;[^:]*)?:(.*)$")
# Counts are bounded so that int() never sees thousands of digits.
_DURATION = re.compile(r"^P(?:([0-9]{1,6})W)?(?:([0-9]{1,6})D)?(?:T(?:([0-9]{1,6})H)?(?:([0-9]{1,6})M)?"
                       r"(?:([0-9]{1,6})S)?)?$")


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

    @property
    def pulse(self) -> bool:
        return self.duration is None


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
            rrulestr(f"RRULE:{rule}", dtstart=start)
        except (ValueError, TypeError, KeyError, IndexError, OverflowError) as err:
            raise ScheduleError(f"bad RRULE {rule[:80]!r}: {err}") from None
    return Schedule(schedule_id, name, ical, start, duration, rule)


def ical_for(start: datetime, end: datetime | None, rrule: str) -> str:
    """Build the VEVENT text for a schedule (end given) or pulse (no end)."""
    lines = ["BEGIN:VEVENT", f"DTSTART:{start:%Y%m%dT%H%M%S}"]
    if end is not None:
        lines.append(f"DTEND:{end:%Y%m%dT%H%M%S}")
    if rrule:
        lines.append(f"RRULE:{rrule}")
    return "\n".join(lines + ["END:VEVENT"])


@dataclass
class Scheduler:
    store: Store
    bus: EventBus
    clock: Clock
    params: ParamTree
    logs: Logs
    schedules: dict[str, Schedule] = field(default_factory=dict)
    _last_tick: datetime | None = None

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
        try:
            zone = ZoneInfo(self.params.get("Time.TimeZone"))
        except Exception:  # noqa: BLE001 - an unknown zone falls back to UTC
            zone = ZoneInfo("Etc/UTC")
        return datetime.fromtimestamp(self.clock.time(), zone).replace(tzinfo=None)

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
        with self.store.transaction() as db:
            db.execute("INSERT INTO schedules(id, name, kind, body) VALUES(?,?,?,?)",
                       (sid, name, "pulse" if schedule.pulse else "interval", json.dumps({"ical": ical})))
        self.schedules[sid] = schedule
        self._declare()
        self.logs.audit(actor, f"added schedule {sid} {name!r}", "events")
        self.tick()
        return schedule

    def remove(self, schedule_id: str, actor: str) -> None:
        schedule = self.schedules.get(schedule_id)
        if schedule is None:
            raise ScheduleError(f"Unknown schedule {schedule_id}")
        with self.store.transaction() as db:
            db.execute("DELETE FROM schedules WHERE id=?", (schedule_id,))
        del self.schedules[schedule_id]
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
        assert schedule.duration is not None
        if not schedule.rrule:
            return schedule.start <= now < schedule.start + schedule.duration
        rule = rrulestr(f"RRULE:{schedule.rrule}", dtstart=schedule.start)
        last = rule.before(now, inc=True)
        if last is None:
            return False
        try:
            return now < last + schedule.duration
        except OverflowError:  # the occurrence ends after the year 9999
            return True

    def tick(self) -> None:
        """Bring every schedule's state and pulses up to the clock's present."""
        now = self.local_now()
        previous = self._last_tick or now
        for schedule in list(self.schedules.values()):
            if schedule.pulse:
                if now > previous:
                    self._pulses(schedule, previous, now)
            else:
                self.bus.publish(INTERVAL, {"id": schedule.id},
                                 {"active": "1" if self.active(schedule, now) else "0"})
        self._last_tick = now

    def _pulses(self, schedule: Schedule, after: datetime, until: datetime) -> None:
        if schedule.rrule:
            rule = rrulestr(f"RRULE:{schedule.rrule}", dtstart=schedule.start)
            hits = [h for h in rule.between(after, until, inc=True) if after < h <= until]
        else:
            hits = [schedule.start] if after < schedule.start <= until else []
        for _ in hits[-1:]:  # a clock jump fires once, not once per missed pulse
            self.bus.publish(PULSE, {"id": schedule.id}, {})

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
