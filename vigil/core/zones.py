"""The device's local time zone: an IANA zone (`Time.TimeZone`), or when that is empty a POSIX
TZ rule (`Time.POSIXTimeZone`) whose daylight saving part applies when `Time.DST.Enabled` is yes.

Everything that shows or plans in local time (time.cgi, schedules, notification texts) asks
`device_zone`. POSIX rules are read here (`PosixZone`), as the C library reads the TZ variable:
`std offset [dst [offset] [,start[/time],end[/time]]]`, names plain (`CET`) or quoted (`<+0330>`),
dates as `Mm.w.d`, `Jn` or `n`, and the RFC 8536 extension of rule times from -167 to 167 hours.
"""

from __future__ import annotations

import calendar
import re
import zoneinfo
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Protocol

DEFAULT_ZONE = "Etc/UTC"
DEFAULT_POSIX = "UTC0"
# The rule US zones use, which the C library assumes for a POSIX zone with DST but no rule.
DEFAULT_RULE = "M3.2.0,M11.1.0"
HOUR = 3600

_NAME = r"(?:<[A-Za-z0-9+-]{3,}>|[A-Za-z]{3,})"
_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}(?::\d{1,2})?)?"
_DATE = r"(?:M\d{1,2}\.\d\.\d|J\d{1,3}|\d{1,3})"
_POSIX = re.compile(rf"^(?P<std>{_NAME})(?P<stdoff>{_OFFSET})"
                    rf"(?:(?P<dst>{_NAME})(?P<dstoff>{_OFFSET})?"
                    rf"(?:,(?P<start>{_DATE})(?:/(?P<starttime>{_OFFSET}))?"
                    rf",(?P<end>{_DATE})(?:/(?P<endtime>{_OFFSET}))?)?)?$")


class Params(Protocol):
    """What `device_zone` reads of the parameter tree."""

    def get(self, name: str) -> str: ...


def _seconds(text: str, limit: int) -> int:
    sign = -1 if text.startswith("-") else 1
    parts = [int(p) for p in text.lstrip("+-").split(":")]
    hours, minutes, seconds = (parts + [0, 0])[:3]
    if hours > limit or minutes > 59 or seconds > 59:
        raise ValueError(f"{text!r} is out of range")
    return sign * (hours * HOUR + minutes * 60 + seconds)


@dataclass(frozen=True)
class _Date:
    kind: str  # M, J or n
    a: int
    b: int = 0
    c: int = 0

    @classmethod
    def parse(cls, text: str) -> _Date:
        if text.startswith("M"):
            month, week, day = (int(x) for x in text[1:].split("."))
            if not (1 <= month <= 12 and 1 <= week <= 5 and 0 <= day <= 6):
                raise ValueError(f"{text!r} is not a date of the form Mm.w.d")
            return cls("M", month, week, day)
        if text.startswith("J"):
            day = int(text[1:])
            if not 1 <= day <= 365:
                raise ValueError(f"{text!r}: Jn counts days 1 to 365")
            return cls("J", day)
        day = int(text)
        if not 0 <= day <= 365:
            raise ValueError(f"{text!r}: n counts days 0 to 365")
        return cls("n", day)

    def midnight(self, year: int) -> datetime:
        """The local (naive) midnight this rule date falls on in `year`."""
        if self.kind == "J":  # 1..365, February 29 never counted
            day = datetime(year, 1, 1) + timedelta(days=self.a - 1)
            return day + timedelta(days=1) if calendar.isleap(year) and self.a >= 60 else day
        if self.kind == "n":
            return datetime(year, 1, 1) + timedelta(days=self.a)
        month, week, weekday = self.a, self.b, self.c
        first = datetime(year, month, 1)
        # weekday: 0 is Sunday here, Monday in Python's weekday()
        day = 1 + (weekday - (first.weekday() + 1) % 7) % 7 + (week - 1) * 7
        last = calendar.monthrange(year, month)[1]
        while day > last:  # week 5 means the last such weekday of the month
            day -= 7
        return datetime(year, month, day)


class PosixZone(tzinfo):
    """A time zone from a POSIX TZ rule; `dst=False` keeps its standard time all year."""

    def __init__(self, rule: str, dst: bool = True) -> None:
        match = _POSIX.fullmatch(rule)
        if match is None:
            raise ValueError(f"{rule[:80]!r} is not a POSIX time zone")
        self.rule = rule
        self.std_name = match["std"].strip("<>")
        # POSIX offsets count west of Greenwich: CET-1 is one hour ahead of UTC.
        self.std = timedelta(seconds=-_seconds(match["stdoff"], 24))
        self.has_dst = bool(match["dst"]) and dst
        self.dst_name = (match["dst"] or "").strip("<>")
        self.dst_offset = (timedelta(seconds=-_seconds(match["dstoff"], 24)) if match["dstoff"]
                           else self.std + timedelta(hours=1))
        start, end = (match["start"], match["end"]) if match["start"] else DEFAULT_RULE.split(",")
        self.start, self.end = _Date.parse(start), _Date.parse(end)
        two = timedelta(hours=2)
        self.start_time = timedelta(seconds=_seconds(match["starttime"], 167)) if match["starttime"] else two
        self.end_time = timedelta(seconds=_seconds(match["endtime"], 167)) if match["endtime"] else two

    def __repr__(self) -> str:
        return f"PosixZone({self.rule!r}, dst={self.has_dst})"

    def standard_part(self) -> str:
        """The rule without its daylight saving part (what applies when DST is off)."""
        match = _POSIX.fullmatch(self.rule)
        assert match is not None
        return match["std"] + match["stdoff"]

    def _in_dst(self, moment: datetime) -> bool:
        """Whether daylight saving time applies at the naive UTC `moment`."""
        if not self.has_dst:
            return False
        year = (moment + self.std).year
        # The change to DST happens at a local standard time, the change back at a local DST time.
        begins = self.start.midnight(year) + self.start_time - self.std
        ends = self.end.midnight(year) + self.end_time - self.dst_offset
        if begins < ends:
            return begins <= moment < ends
        return not ends <= moment < begins  # southern hemisphere: DST spans the new year

    def _dst_at_local(self, local: datetime) -> bool:
        naive = local.replace(tzinfo=None)
        # Read as standard time, is that instant in DST? Read as DST, is it?
        as_std = self._in_dst(naive - self.std)
        as_dst = self._in_dst(naive - self.dst_offset)
        if as_std == as_dst:  # one reading only is consistent
            return as_std
        if as_dst:  # both are: the hour repeated in autumn; fold 0 is the first (DST) one
            return local.fold == 0
        return local.fold == 1  # neither: the hour skipped in spring; fold 0 reads it as before

    def utcoffset(self, dt: datetime | None) -> timedelta:
        if dt is None or not self.has_dst:
            return self.std
        return self.dst_offset if self._dst_at_local(dt) else self.std

    def dst(self, dt: datetime | None) -> timedelta:
        return self.utcoffset(dt) - self.std

    def tzname(self, dt: datetime | None) -> str:
        return self.dst_name if self.dst(dt) else self.std_name

    def fromutc(self, dt: datetime) -> datetime:
        naive = dt.replace(tzinfo=None)
        offset = self.dst_offset if self._in_dst(naive) else self.std
        local = (naive + offset).replace(tzinfo=self)
        if self.utcoffset(local) != offset:
            local = local.replace(fold=1)
        return local


def posix_zone_problem(rule: str) -> str | None:
    """Why `rule` is not a POSIX time zone this device can use, or None."""
    try:
        PosixZone(rule)
    except ValueError as err:
        return str(err)
    return None


def posix_rule_of(name: str) -> str | None:
    """The POSIX rule the tz database gives an IANA zone for times after its last listed change
    (the footer of its TZif file, e.g. `CET-1CEST,M3.5.0,M10.5.0/3` for Europe/Stockholm)."""
    for folder in zoneinfo.TZPATH:
        path = Path(folder) / name
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if data.startswith(b"TZif") and data[4:5] >= b"2" and data.endswith(b"\n"):
            footer = data[:-1].rsplit(b"\n", 1)[-1]
            try:
                text = footer.decode("ascii")
            except UnicodeDecodeError:
                return None
            return text if text and posix_zone_problem(text) is None else None
    return None


def known_zone(text: str, dst: bool = True) -> tzinfo | None:
    """An IANA zone by name, else a POSIX rule; None when it is neither."""
    try:
        return zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        pass
    try:
        return PosixZone(text, dst)
    except ValueError:
        return None


def zone_named(text: str, dst: bool = True) -> tzinfo:
    """`known_zone`, UTC when the text is neither an IANA zone nor a POSIX rule."""
    return known_zone(text, dst) or UTC


def device_zone(params: Params) -> tzinfo:
    """The device's local zone, from its Time parameters."""
    name = params.get("Time.TimeZone")
    if name:
        return zone_named(name)
    return zone_named(params.get("Time.POSIXTimeZone") or DEFAULT_POSIX, params.get("Time.DST.Enabled") == "yes")


def device_zone_text(params: Params) -> str:
    """The device's zone as one string: the IANA name, or the POSIX rule that applies (its
    standard part alone when DST is off)."""
    name = params.get("Time.TimeZone")
    if name:
        return name
    rule = params.get("Time.POSIXTimeZone") or DEFAULT_POSIX
    zone = zone_named(rule, params.get("Time.DST.Enabled") == "yes")
    return zone.standard_part() if isinstance(zone, PosixZone) and not zone.has_dst else rule
