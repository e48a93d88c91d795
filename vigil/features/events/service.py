"""What the event and action services do, without HTTP: schedules as clients write them (the
web page's one-line iCalendar form included), the wait between a rule's actions as an
xsd:duration, rules whose conditions name schedules, and manual triggers (virtual inputs).

Refusals are `EventsError`, or the core's `RuleError` / `ScheduleError` and the manual
triggers' `TriggerError`, each with a sentence for the user; the SOAP face turns them into Sender faults.
"""

from __future__ import annotations

import math
import re

from vigil.core.rules import MAX_WAIT, Condition, Rule, RuleEngine, RuleError
from vigil.core.schedules import INTERVAL, MAX_ICAL, PULSE, Schedule, ScheduleError, Scheduler
from vigil.features.triggers.service import VirtualInputs

# xsd:duration as rules use it: days, hours, minutes, seconds; each count bounded, so that
# int() never sees thousands of digits.
_DURATION = re.compile(r"P(?:([0-9]{1,9})D)?(?:T(?:([0-9]{1,9})H)?(?:([0-9]{1,9})M)?(?:([0-9]{1,9}(?:\.[0-9]{1,9})?)S)?)?")
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_LINE_BREAKS = re.compile(r"(?:\r?\n|\\n)+")
_BLANKS = re.compile(r"\s+")
# A property name that starts a new line of the one-line form ("DTSTART:... DTEND:... RRULE:...").
_PROPERTY = re.compile(r"(?:BEGIN|END|DTSTART|DTEND|DURATION|RRULE|EXDATE|RDATE|UID|SUMMARY|DTSTAMP)[;:]")


class EventsError(ValueError):
    """A refused request of the event or action service, with a message for the user."""


def parse_duration(text: str) -> float:
    """ActivationTimeout: seconds ("30", "1.5") or an xsd:duration ("PT30S", "PT1H"), 0 to 86400 s."""
    text = text.strip()
    m = _DURATION.fullmatch(text)
    if m and text not in ("P", "PT"):
        d, h, mi, s = m.groups()
        seconds = int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)
    else:
        try:
            seconds = float(text)  # "NaN", "inf" and "1e999" parse too: refused below as not finite
        except ValueError:
            raise RuleError(f"ActivationTimeout {text[:40]!r} is not an xsd:duration such as PT30S") from None
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_WAIT:
        raise RuleError(f"Wait between actions must be 0 to {MAX_WAIT} seconds")
    return seconds


def format_duration(seconds: float) -> str:
    return f"PT{int(seconds)}S" if seconds == int(seconds) else f"PT{seconds:g}S"


def split_properties(text: str) -> list[str]:
    """The property lines of iCalendar text: split at line breaks (also a written "\\n"), and in
    a line before a blank-preceded property name. One pass over the text: every blank run is
    looked at once and the name after it is a bounded match, so the work grows linearly."""
    lines: list[str] = []
    for line in _LINE_BREAKS.split(text):
        start = 0
        for blanks in _BLANKS.finditer(line):
            if _PROPERTY.match(line, blanks.end()):
                lines.append(line[start:blanks.start()])
                start = blanks.end()
        lines.append(line[start:])
    return [line.strip() for line in lines if line.strip()]


def normalize_ical(text: str) -> str:
    """One property per line; DTSTART/DTEND values without separators (20111212T0600)."""
    if len(text) > MAX_ICAL:
        raise ScheduleError(f"The ICalendar text is {len(text)} characters; at most {MAX_ICAL} are allowed")
    lines = []
    for line in split_properties(text):
        name, sep, value = line.partition(":")
        if sep and name.split(";")[0].upper() in ("DTSTART", "DTEND"):
            date, t, clock = value.partition("T")
            line = f"{name}:{date.replace('-', '')}{t}{clock.replace(':', '')}"
        lines.append(line)
    return "\n".join(lines)


class Events:
    """The events chapter's operations over the rule engine, the scheduler and the virtual inputs."""

    def __init__(self, rules: RuleEngine, schedules: Scheduler, virtual_inputs: VirtualInputs) -> None:
        self.rules = rules
        self.schedules = schedules
        self.virtual_inputs = virtual_inputs

    # -- schedules -------------------------------------------------------------------------
    def add_schedule(self, name: str, ical: str, actor: str, wanted_id: str | None = None) -> Schedule:
        if wanted_id is not None and not _ID.fullmatch(wanted_id):
            raise EventsError(f"EventID {wanted_id[:70]!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
        return self.schedules.add(name, normalize_ical(ical), actor, wanted_id)

    def schedule_users(self, schedule_id: str) -> list[str]:
        """The rules (as "id (name)") whose trigger or conditions name a schedule or pulse."""
        return [f"{r.id} ({r.name})" for r in self.rules.rules.values()
                if any(c.topic in (INTERVAL, PULSE) and ("id", schedule_id) in c.items
                       for c in r.conditions + ((r.trigger,) if r.trigger else ()))]

    def remove_schedule(self, schedule_id: str, actor: str) -> None:
        if schedule_id not in self.schedules.schedules:
            raise EventsError(f"Unknown scheduled event {schedule_id[:70]!r}")
        users = self.schedule_users(schedule_id)
        if users:
            raise EventsError(f"Scheduled event {schedule_id} is used by rule(s) {', '.join(users)}; "
                              "remove them first")
        self.schedules.remove(schedule_id, actor)

    # -- rules -----------------------------------------------------------------------------
    def check_schedule(self, c: Condition) -> None:
        """A schedule condition must name an existing schedule of the right kind (interval/pulse)."""
        if c.topic not in (INTERVAL, PULSE):
            return
        for name, value in c.items:
            schedule = self.schedules.schedules.get(value) if name == "id" else None
            if name == "id" and (schedule is None or schedule.pulse != (c.topic == PULSE)):
                kind = "pulse" if c.topic == PULSE else "schedule"
                raise EventsError(f"Topic {c.topic} has no {kind} {value!r} (GetScheduledEvents lists them)")

    def add_rule(self, rule: Rule, actor: str) -> Rule:
        for c in rule.conditions + ((rule.trigger,) if rule.trigger else ()):
            self.check_schedule(c)
        if rule.action not in self.rules.actions:
            raise EventsError(f"Unknown action configuration {rule.action} (PrimaryAction)")
        return self.rules.add_rule(rule, actor)

    # -- manual triggers -------------------------------------------------------------------
    def change_virtual_input(self, port: int, active: bool, actor: str) -> bool:
        """Whether the state changed; TriggerError for a port the device does not have."""
        return self.virtual_inputs.set_virtual(port, active, actor)
