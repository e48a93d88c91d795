"""The time API (`time.cgi`): date, time zone and DST, over the device's injectable clock.

Synchronisation with NTP servers is a service of its own; this holds the settings.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from vigil.core import checks
from vigil.core.clock import OFFSET_KEY
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, param

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors(wrong_http_method=2002, bad_version=2003, unknown_method=2004, bad_json=4000,
                    bad_params=4002, internal=8000)
POSIX_TZ = re.compile(r"^[A-Za-z<>+\-0-9]{3,}[0-9+\-:]*([A-Za-z<>+\-0-9]{3,}[0-9:+\-]*)?(,[MJ0-9./,]+)*$")


def register(device: Device) -> None:

    params, clock = device.params, device.clock

    def zone() -> ZoneInfo:
        try:
            return ZoneInfo(params.get("Time.TimeZone"))
        except (ZoneInfoNotFoundError, ValueError):
            return ZoneInfo("Etc/UTC")

    def save(values: dict[str, str], actor: str) -> None:
        try:
            params.set_internal(values, actor)
        except ParamError as err:
            raise JsonApiError(ERRORS.bad_params, str(err)) from None

    async def info(call: JsonCall, who: Any) -> dict[str, Any]:
        now = datetime.fromtimestamp(clock.time(), UTC)
        return {
            "dateTime": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "localDateTime": now.astimezone(zone()).isoformat(timespec="seconds"),
            "timeZone": params.get("Time.TimeZone"),
            "posixTimeZone": params.get("Time.POSIXTimeZone"),
            "dstEnabled": params.get_bool("Time.DST.Enabled"),
        }

    async def get_all(call: JsonCall, who: Any) -> dict[str, Any]:
        return {**await info(call, who), "timeZones": sorted(checks.time_zones())}

    async def set_date_time(call: JsonCall, who: Any) -> dict[str, Any]:
        value = param(call, "dateTime", str, ERRORS)
        try:
            moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise JsonApiError(ERRORS.bad_params, "dateTime must look like 2024-01-31T12:00:00Z") from None
        clock.set_time(moment.timestamp())
        device.store.set_kv(OFFSET_KEY, repr(clock.offset))
        device.logs.audit(who.name, f"set date and time to {value}", "time")
        return {}

    async def set_time_zone(call: JsonCall, who: Any) -> dict[str, Any]:
        name = param(call, "timeZone", str, ERRORS)
        if checks.iana_zone(name):
            raise JsonApiError(ERRORS.bad_params, f"Unknown time zone {name!r}")
        save({"Time.TimeZone": name}, who.name)
        return {}

    async def set_posix(call: JsonCall, who: Any) -> dict[str, Any]:
        tz = param(call, "posixTimeZone", str, ERRORS)
        dst = param(call, "dstEnabled", bool, ERRORS, False)
        if len(tz) > 64 or not POSIX_TZ.fullmatch(tz):  # fullmatch: `$` would let a final newline in
            raise JsonApiError(ERRORS.bad_params, f"Invalid POSIX time zone {tz!r}")
        save({"Time.POSIXTimeZone": tz, "Time.DST.Enabled": "yes" if dst else "no"}, who.name)
        return {}

    device.router.json_api("/axis-cgi/time.cgi", ["1.0"], {
        "getDateTimeInfo": JsonMethod(Role.VIEWER, info),
        "getAll": JsonMethod(Role.VIEWER, get_all),
        "setDateTime": JsonMethod(Role.ADMIN, set_date_time),
        "setTimeZone": JsonMethod(Role.ADMIN, set_time_zone),
        "setPosixTimeZone": JsonMethod(Role.ADMIN, set_posix),
    }, ERRORS)
    device.apis.append(Api("time-service", "1.0", "Time API"))
