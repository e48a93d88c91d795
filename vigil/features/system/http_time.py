"""The time API (`time.cgi`): date and time over the device's injectable clock, and the time zone,
as VAPIX's Time API has them (its error codes, the values each setter echoes, resetTimeZone of
version 1.1). Setting anything here is an administrator's, as every setting of this device is
(VAPIX lets operators).

One local zone applies (`vigil.core.zones`): an IANA zone, or a POSIX rule with its DST flag.
setTimeZone sets an IANA zone (and the POSIX rule the tz database gives it), setPosixTimeZone a
POSIX rule that replaces the IANA zone. Synchronisation with NTP servers is the timesync
feature's. The date and time a client may set lie in the clock's range (`vigil.core.clock`).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any

from vigil.core import checks
from vigil.core.auth import Principal
from vigil.core.clock import EARLIEST, LATEST, OFFSET_KEY, in_range
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.core.zones import DEFAULT_POSIX, DEFAULT_ZONE, device_zone, posix_rule_of, posix_zone_problem
from vigil.device import Api
from vigil.features.timesync.const import DST_ENABLED, POSIX_TIME_ZONE, TIME_ZONE
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

PATH = "/axis-cgi/time.cgi"
VERSIONS = ["1.0", "1.1"]
MISSING = 4003
ERRORS = JsonErrors(wrong_http_method=2000, bad_version=4001, unknown_method=4000, bad_json=3000,
                    bad_params=4004, internal=1000)
ISO_UTC = "%Y-%m-%dT%H:%M:%SZ"
DATE_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z")
MAX_POSIX = 64


def save(device: Device, values: dict[str, str], actor: str) -> None:
    try:
        device.params.set_internal(values, actor)
    except ParamError as err:
        raise JsonApiError(ERRORS.bad_params, str(err)) from None


def required(call: JsonCall, key: str, kind: type) -> Any:
    if key not in call.params:
        raise JsonApiError(MISSING, f"Required parameter '{key}' missing")
    value = call.params[key]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' has the wrong type")
    return value


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
    data: dict[str, Any] = {
        "dateTime": now.strftime(ISO_UTC),
        "localDateTime": now.astimezone(device_zone(params)).isoformat(timespec="seconds"),
        "maxYearSupported": LATEST.year,
    }
    name = params.get(TIME_ZONE)
    if name:
        data["timeZone"] = name
    data["posixTimeZone"] = params.get(POSIX_TIME_ZONE)
    data["dstEnabled"] = True if name else params.get_bool(DST_ENABLED)  # an IANA zone always follows its DST
    return data


async def get_all(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {**await get_date_time_info(device, call, who), "timeZones": sorted(checks.time_zones())}


async def set_date_time(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    value = required(call, "dateTime", str)
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
    return {"dateTime": value}


async def set_time_zone(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    name = required(call, "timeZone", str)
    if checks.iana_zone(name):
        device.logs.system(f"time.cgi setTimeZone refused for {who.name}: unknown zone {name!r:.80}", "warning")
        raise JsonApiError(ERRORS.bad_params, f"Unknown time zone {name!r:.80}")
    save(device, {TIME_ZONE: name, POSIX_TIME_ZONE: posix_rule_of(name) or device.params.get(POSIX_TIME_ZONE), DST_ENABLED: "yes"},
         who.name)
    return {"timeZone": name}


async def set_posix_time_zone(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    tz = required(call, "posixTimeZone", str)
    # VAPIX names the flag enableDst; earlier versions of this device took dstEnabled.
    key = "enableDst" if "enableDst" in call.params else "dstEnabled"
    dst = call.params.get(key, False)
    if not isinstance(dst, bool):
        raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be true or false")
    problem = f"longer than {MAX_POSIX} characters" if len(tz) > MAX_POSIX else posix_zone_problem(tz)
    if problem:
        device.logs.system(f"time.cgi setPosixTimeZone refused for {who.name}: {problem}", "warning")
        raise JsonApiError(ERRORS.bad_params, f"Invalid POSIX time zone {tz!r:.80}: {problem}")
    save(device, {TIME_ZONE: "", POSIX_TIME_ZONE: tz, DST_ENABLED: "yes" if dst else "no"}, who.name)
    return {"posixTimeZone": tz, "dstEnabled": dst}


async def reset_time_zone(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    save(device, {TIME_ZONE: DEFAULT_ZONE, POSIX_TIME_ZONE: DEFAULT_POSIX, DST_ENABLED: "no"}, who.name)
    return {"status": "success"}


Method = Callable[["Device", JsonCall, Principal], Awaitable[dict[str, Any]]]
METHODS: dict[str, tuple[Role, Method]] = {
    "getDateTimeInfo": (Role.VIEWER, get_date_time_info),
    "getAll": (Role.VIEWER, get_all),
    "setDateTime": (Role.ADMIN, set_date_time),
    "setTimeZone": (Role.ADMIN, set_time_zone),
    "setPosixTimeZone": (Role.ADMIN, set_posix_time_zone),
    "resetTimeZone": (Role.ADMIN, reset_time_zone),
}


def register(device: Device) -> None:
    keep_clock_in_range(device)
    device.router.json_api(PATH, VERSIONS, {name: JsonMethod(role, partial(method, device))
                                            for name, (role, method) in METHODS.items()}, ERRORS)
    device.apis.append(Api("time-service", VERSIONS[-1], "Time API"))
