"""The time API (`time.cgi`): date, time zone and DST, over the device's injectable clock.

Synchronisation with NTP servers is a service of its own; this holds the settings. The date
and time a client may set lie in `EARLIEST`..`LATEST`: every date the device shows, logs and
records then has four-digit years (9999-12-31T23:59:59Z would roll the clock into year 10000).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil.core import checks
from vigil.core.auth import Principal
from vigil.core.clock import OFFSET_KEY
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, param

if TYPE_CHECKING:
    from vigil.device import Device

PATH = "/axis-cgi/time.cgi"
VERSIONS = ["1.0"]
ERRORS = JsonErrors(wrong_http_method=2002, bad_version=2003, unknown_method=2004, bad_json=4000,
                    bad_params=4002, internal=8000)
POSIX_TZ = re.compile(r"^[A-Za-z<>+\-0-9]{3,}[0-9+\-:]*([A-Za-z<>+\-0-9]{3,}[0-9:+\-]*)?(,[MJ0-9./,]+)*$")
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)


def in_range(moment: float) -> bool:
    return EARLIEST.timestamp() <= moment <= LATEST.timestamp()


def zone(device: Device) -> ZoneInfo:
    try:
        return ZoneInfo(device.params.get("Time.TimeZone"))
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("Etc/UTC")


def save(device: Device, values: dict[str, str], actor: str) -> None:
    try:
        device.params.set_internal(values, actor)
    except ParamError as err:
        raise JsonApiError(ERRORS.bad_params, str(err)) from None


def keep_clock_in_range(device: Device) -> None:
    """A clock set out of range before the range was checked (its offset is stored) goes back
    to the host's time, so that time.cgi, the logs and recording work again."""
    if in_range(device.clock.time()):
        return
    device.clock.offset = 0.0
    device.store.set_kv(OFFSET_KEY, repr(device.clock.offset))
    device.logs.system(f"the stored date and time were outside {EARLIEST:%Y}..{LATEST:%Y}: "
                       "the device uses the host's time again; set the date and time", "warning")


# -- the methods --------------------------------------------------------------------------
async def get_date_time_info(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    now = datetime.fromtimestamp(device.clock.time(), UTC)
    params = device.params
    return {
        "dateTime": now.strftime(ISO_UTC),
        "localDateTime": now.astimezone(zone(device)).isoformat(timespec="seconds"),
        "timeZone": params.get("Time.TimeZone"),
        "posixTimeZone": params.get("Time.POSIXTimeZone"),
        "dstEnabled": params.get_bool("Time.DST.Enabled"),
    }


async def get_all(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {**await get_date_time_info(device, call, who), "timeZones": sorted(checks.time_zones())}


async def set_date_time(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    value = param(call, "dateTime", str, ERRORS)
    wanted = f"dateTime must be a UTC time such as 2024-01-31T12:00:00Z, from {EARLIEST:{ISO_UTC}} to {LATEST:{ISO_UTC}}"
    try:
        if not DATE_TIME.fullmatch(value):
            raise ValueError(value)
        moment = datetime.strptime(value, ISO_UTC).replace(tzinfo=UTC)
    except ValueError:
        device.logs.system(f"time.cgi setDateTime refused for {who.name}: not a date and time", "warning")
        raise JsonApiError(ERRORS.bad_params, wanted) from None
    if not EARLIEST <= moment <= LATEST:
        device.logs.system(f"time.cgi setDateTime refused for {who.name}: {value} is out of range", "warning")
        raise JsonApiError(ERRORS.bad_params, wanted)
    device.clock.set_time(moment.timestamp())
    device.store.set_kv(OFFSET_KEY, repr(device.clock.offset))
    device.logs.audit(who.name, f"set date and time to {value}", "time")
    return {}


async def set_time_zone(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    name = param(call, "timeZone", str, ERRORS)
    if checks.iana_zone(name):
        raise JsonApiError(ERRORS.bad_params, f"Unknown time zone {name!r:.80}")
    save(device, {"Time.TimeZone": name}, who.name)
    return {}


async def set_posix_time_zone(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    tz = param(call, "posixTimeZone", str, ERRORS)
    dst = param(call, "dstEnabled", bool, ERRORS, False)
    if len(tz) > 64 or not POSIX_TZ.fullmatch(tz):  # fullmatch: `$` would let a final newline in
        raise JsonApiError(ERRORS.bad_params, f"Invalid POSIX time zone {tz!r:.80}")
    save(device, {"Time.POSIXTimeZone": tz, "Time.DST.Enabled": "yes" if dst else "no"}, who.name)
    return {}


Method = Callable[["Device", JsonCall, Principal], Awaitable[dict[str, Any]]]
METHODS: dict[str, tuple[Role, Method]] = {
    "getDateTimeInfo": (Role.VIEWER, get_date_time_info),
    "getAll": (Role.VIEWER, get_all),
    "setDateTime": (Role.ADMIN, set_date_time),
    "setTimeZone": (Role.ADMIN, set_time_zone),
    "setPosixTimeZone": (Role.ADMIN, set_posix_time_zone),
}


def register(device: Device) -> None:
    keep_clock_in_range(device)
    device.router.json_api(PATH, VERSIONS, {name: JsonMethod(role, partial(method, device))
                                            for name, (role, method) in METHODS.items()}, ERRORS)
    device.apis.append(Api("time-service", "1.0", "Time API"))
