"""Where the device is: latitude, longitude, heading and a label (the manual's Device location;
VAPIX's geolocation API). A video management system reads it to put the device on a map.

Latitude and longitude are kept as written, in one of ISO 6709's forms (Annex H): DD (degrees:
`51.0`, `-0.1`), DDMM (degrees and minutes: `5112.3456`, `01312.3456`) or DDMMSS (degrees, minutes
and seconds: `511234.5678`); north and east are positive. The number of integer digits tells the
form: 2, 4 or 6 for a latitude and 3, 5 or 7 for a longitude (fewer leading zeros are accepted for
degrees). Nothing is converted: the API answers in the form it was given. The heading is the
compass direction the device faces, 0 (north) to 360.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass

from vigil.core.store import Store
from vigil.features.timesync.const import KV_LOCATION, MAX_LOCATION_TEXT

_COORDINATE = re.compile(r"^(?P<sign>[+-]?)(?P<whole>[0-9]{1,7})(?P<fraction>\.[0-9]{1,12})?$")
_HEADING = re.compile(r"^[0-9]{1,3}(\.[0-9]{1,6})?$")
FORMATS = ("DD", "DDMM", "DDMMSS")


class LocationError(ValueError):
    """A value the location cannot take; the text says which and why."""


def coordinate_format(text: str, longitude: bool) -> str:
    """DD, DDMM or DDMMSS for a valid coordinate; LocationError otherwise."""
    what = "longitude" if longitude else "latitude"
    match = _COORDINATE.match(text)
    if match is None:
        raise LocationError(f"the {what} {text[:40]!r} is not a number such as {'013.1234' if longitude else '51.1234'}")
    whole = match["whole"]
    degree_digits = 3 if longitude else 2
    extra = len(whole) - degree_digits
    if extra <= 0:
        form, degrees, minutes, seconds = "DD", int(whole), 0.0, 0.0
        fraction = float(match["fraction"] or 0)
        value = degrees + fraction
    elif extra in (2, 4):
        degrees, minutes = int(whole[:degree_digits]), int(whole[degree_digits:degree_digits + 2])
        seconds = float(whole[degree_digits + 2:] or 0) if extra == 4 else 0.0
        fraction = float(match["fraction"] or 0)
        if extra == 2:
            form, minutes_total, seconds_total = "DDMM", minutes + fraction, seconds
        else:
            form, minutes_total, seconds_total = "DDMMSS", minutes, seconds + fraction
        if minutes_total >= 60 or seconds_total >= 60:
            raise LocationError(f"the {what} {text!r} has minutes or seconds of 60 or more")
        value = degrees + minutes_total / 60 + seconds_total / 3600
    else:
        raise LocationError(f"the {what} {text!r} has {len(whole)} integer digits: use "
                            f"{degree_digits} (DD), {degree_digits + 2} (DDMM) or {degree_digits + 4} (DDMMSS)")
    limit = 180 if longitude else 90
    if value > limit:
        raise LocationError(f"the {what} {text!r} is beyond {limit} degrees")
    return form


def heading_problem(text: str) -> str | None:
    if not _HEADING.match(text) or float(text) > 360:
        return f"the heading {text[:40]!r} is not a compass direction from 0 to 360"
    return None


def text_problem(text: str) -> str | None:
    if len(text) > MAX_LOCATION_TEXT:
        return f"the label is longer than {MAX_LOCATION_TEXT} characters"
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        return "the label has control characters"
    return None


@dataclass(frozen=True)
class Location:
    lat: str = ""
    lng: str = ""
    heading: str = ""
    text: str = ""

    @property
    def valid_position(self) -> bool:
        return bool(self.lat and self.lng)

    @property
    def valid_heading(self) -> bool:
        return bool(self.heading)

    @property
    def format(self) -> str:
        """The form the coordinates were given in (DD when none are)."""
        return coordinate_format(self.lat, False) if self.lat else "DD"

    def updated(self, changes: dict[str, str]) -> Location:
        """This location with `changes` (lat, lng, heading, text) applied; LocationError names
        the first value that cannot be taken. An empty value clears it."""
        merged = Location(**{**asdict(self), **changes})
        forms = set()
        if merged.lat:
            forms.add(coordinate_format(merged.lat, False))
        if merged.lng:
            forms.add(coordinate_format(merged.lng, True))
        if len(forms) > 1:
            raise LocationError("the latitude and the longitude are in different forms (DD, DDMM, DDMMSS)")
        if bool(merged.lat) != bool(merged.lng):
            raise LocationError("a position needs both a latitude and a longitude")
        for problem in (heading_problem(merged.heading) if merged.heading else None, text_problem(merged.text)):
            if problem:
                raise LocationError(problem)
        return merged


def load(store: Store) -> Location:
    raw = store.get_kv(KV_LOCATION)
    if not raw:
        return Location()
    try:
        stored = json.loads(raw)
        return Location(**{k: str(v) for k, v in stored.items() if k in Location.__dataclass_fields__})
    except (ValueError, TypeError):
        return Location()


def save(store: Store, location: Location) -> None:
    store.set_kv(KV_LOCATION, json.dumps(asdict(location)))
