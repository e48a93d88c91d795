"""The device's local zone: IANA zones, POSIX rules (with and without DST) read as the C library
reads TZ, and the rule the tz database gives each IANA zone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from vigil.core.zones import (
    PosixZone,
    device_zone,
    device_zone_text,
    known_zone,
    posix_rule_of,
    posix_zone_problem,
)


def local(zone, moment: str) -> str:
    return datetime.fromisoformat(moment).astimezone(zone).isoformat()


@pytest.mark.parametrize("name", ["Europe/Stockholm", "America/New_York", "Australia/Sydney", "Asia/Tehran",
                                  "America/Santiago", "Europe/Dublin", "Pacific/Chatham", "America/Nuuk",
                                  "Europe/London", "Asia/Kolkata", "Antarctica/Troll"])
def test_a_posix_rule_gives_the_same_local_times_as_the_tz_database(name):
    """Every half hour of 2030, for zones north and south, with negative DST, rules past 24 h or
    below 0 h, and quoted names: the POSIX rule read here agrees with zoneinfo."""
    rule = posix_rule_of(name)
    assert rule
    posix, iana = PosixZone(rule), ZoneInfo(name)
    moment = datetime(2030, 1, 1, tzinfo=UTC)
    while moment.year == 2030:
        a, b = moment.astimezone(posix), moment.astimezone(iana)
        assert (a.isoformat(), a.tzname()) == (b.isoformat(), b.tzname()), (name, moment)
        moment += timedelta(minutes=30)


def test_the_hours_skipped_and_repeated():
    zone = PosixZone("CET-1CEST,M3.5.0,M10.5.0/3")
    assert local(zone, "2030-03-31T00:59:59+00:00") == "2030-03-31T01:59:59+01:00"
    assert local(zone, "2030-03-31T01:00:00+00:00") == "2030-03-31T03:00:00+02:00"
    first, second = (datetime.fromisoformat(t).astimezone(zone) for t in
                     ("2030-10-27T00:30:00+00:00", "2030-10-27T01:30:00+00:00"))
    assert first.replace(tzinfo=None) == second.replace(tzinfo=None)  # 02:30 twice
    assert (first.utcoffset(), second.utcoffset()) == (timedelta(hours=2), timedelta(hours=1))
    assert (first.fold, second.fold) == (0, 1)


def test_dst_off_keeps_standard_time_all_year():
    zone = PosixZone("CET-1CEST,M3.5.0,M10.5.0/3", dst=False)
    assert local(zone, "2030-07-01T12:00:00+00:00") == "2030-07-01T13:00:00+01:00"
    assert zone.standard_part() == "CET-1"


def test_rules_in_every_form():
    assert local(PosixZone("<-03>3"), "2030-07-01T12:00:00+00:00") == "2030-07-01T09:00:00-03:00"
    assert local(PosixZone("IST-5:30"), "2030-07-01T12:00:00+00:00") == "2030-07-01T17:30:00+05:30"
    # Jn never counts February 29, n does; a DST zone without a rule gets the US one.
    assert local(PosixZone("AAA0BBB,J60,J300"), "2032-03-01T12:00:00+00:00").endswith("+01:00")
    assert local(PosixZone("AAA0BBB,J60,J300"), "2032-02-29T12:00:00+00:00").endswith("+00:00")
    assert local(PosixZone("AAA0BBB,59,300"), "2032-02-29T12:00:00+00:00").endswith("+01:00")
    assert local(PosixZone("EST5EDT"), "2030-07-01T12:00:00+00:00") == "2030-07-01T08:00:00-04:00"


@pytest.mark.parametrize("bad", ["", "1", "CET", "CET-1\n", "CET-1;rm", "CET-25", "CET-1CEST,M13.1.0,M10.5.0",
                                 "CET-1CEST,M3.6.0,M10.5.0", "CET-1CEST,J0,J100", "Europe/Stockholm", "x" * 80])
def test_what_is_no_posix_rule(bad):
    assert posix_zone_problem(bad)
    assert known_zone(bad) is None or bad in ("Europe/Stockholm", "CET")  # IANA names, not rules


class Params(dict):
    def get(self, name: str) -> str:  # type: ignore[override]
        return self[name]


def test_the_device_zone_from_its_parameters():
    iana = Params({"Time.TimeZone": "Asia/Tokyo", "Time.POSIXTimeZone": "JST-9", "Time.DST.Enabled": "yes"})
    assert device_zone(iana) == ZoneInfo("Asia/Tokyo") and device_zone_text(iana) == "Asia/Tokyo"
    posix = Params({"Time.TimeZone": "", "Time.POSIXTimeZone": "CET-1CEST,M3.5.0,M10.5.0/3", "Time.DST.Enabled": "no"})
    assert local(device_zone(posix), "2030-07-01T12:00:00+00:00").endswith("+01:00")
    assert device_zone_text(posix) == "CET-1"
    posix["Time.DST.Enabled"] = "yes"
    assert local(device_zone(posix), "2030-07-01T12:00:00+00:00").endswith("+02:00")
    assert device_zone_text(posix) == "CET-1CEST,M3.5.0,M10.5.0/3"
