"""time.cgi: date and time over the device's own clock, IANA and POSIX time zones."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import asgi_client, client_as
from vigil.boot import build_device, factory_reset
from vigil.core.clock import OFFSET_KEY, Clock
from vigil.core.roles import Role

TIME = "/axis-cgi/time.cgi"


async def call(client: httpx.AsyncClient, method: str, params: dict | None = None, version: str = "1.0") -> dict:
    body = {"apiVersion": version, "context": "t", "method": method}
    if params is not None:
        body["params"] = params
    r = await client.post(TIME, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_get_date_time_info(device, clock):
    async with client_as(device, "viewer") as viewer:
        body = await call(viewer, "getDateTimeInfo")
    assert body["method"] == "getDateTimeInfo" and body["context"] == "t" and body["apiVersion"] == "1.0"
    data = body["data"]
    # VAPIX: maxYearSupported is the last year setDateTime takes; an IANA zone always follows its DST.
    assert data == {"dateTime": "2023-11-14T22:13:20Z", "localDateTime": "2023-11-14T22:13:20+00:00",
                    "maxYearSupported": 2099, "timeZone": "Etc/UTC", "posixTimeZone": "UTC0", "dstEnabled": True}
    clock.advance(3600)
    async with client_as(device, "viewer") as viewer:
        assert (await call(viewer, "getDateTimeInfo"))["data"]["dateTime"] == "2023-11-14T23:13:20Z"
        versions = await call(viewer, "getSupportedVersions")
        assert versions["data"] == {"apiVersions": ["1.0", "1.1"]}  # 1.1: resetTimeZone


async def test_get_all_lists_iana_zones(admin):
    data = (await call(admin, "getAll"))["data"]
    assert data["dateTime"] == "2023-11-14T22:13:20Z"
    zones = data["timeZones"]
    assert "Europe/Stockholm" in zones and "America/New_York" in zones and zones == sorted(zones)


async def test_set_time_zone(device, admin):
    body = await call(admin, "setTimeZone", {"timeZone": "Europe/Stockholm"})
    assert body["data"] == {"timeZone": "Europe/Stockholm"} and "error" not in body  # VAPIX echoes the value
    data = (await call(admin, "getDateTimeInfo"))["data"]
    assert data["timeZone"] == "Europe/Stockholm"
    # The POSIX rule the tz database gives the zone comes along.
    assert data["posixTimeZone"] == "CET-1CEST,M3.5.0,M10.5.0/3" and data["dstEnabled"] is True
    assert data["localDateTime"] == "2023-11-14T23:13:20+01:00"
    assert data["dateTime"] == "2023-11-14T22:13:20Z"
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "list", "group": "Time.TimeZone"})
    assert r.text == "root.Time.TimeZone=Europe/Stockholm\r\n"
    for bad in ("Mars/Olympus_Mons", "europe/stockholm", "", "Europe/", "/etc/localtime", "Europe/../Etc/UTC"):
        body = await call(admin, "setTimeZone", {"timeZone": bad})
        assert body["error"]["code"] == 4004, bad  # VAPIX: invalid parameter(s)
    assert device.params.get("Time.TimeZone") == "Europe/Stockholm"
    assert "user=root set root.Time.TimeZone=Europe/Stockholm" in device.logs.text("audit")


async def test_set_posix_time_zone(device, admin):
    tz = "CET-1CEST,M3.5.0,M10.5.0/3"
    body = await call(admin, "setPosixTimeZone", {"posixTimeZone": tz, "dstEnabled": True})
    assert body["data"] == {"posixTimeZone": tz, "dstEnabled": True}  # VAPIX echoes the values
    data = (await call(admin, "getDateTimeInfo"))["data"]
    assert data["posixTimeZone"] == tz and data["dstEnabled"] is True
    assert "timeZone" not in data  # a POSIX zone replaces the IANA one
    assert device.params.get("Time.DST.Enabled") == "yes"
    body = await call(admin, "setPosixTimeZone", {"posixTimeZone": "<+0330>-3:30"})
    assert body["data"] == {"posixTimeZone": "<+0330>-3:30", "dstEnabled": False}
    assert device.params.get("Time.DST.Enabled") == "no"
    for bad in ("", "1", "CET-1\n", "CET-1;rm", "x" * 80):
        assert (await call(admin, "setPosixTimeZone", {"posixTimeZone": bad}))["error"]["code"] == 4004, bad
    assert device.params.get("Time.POSIXTimeZone") == "<+0330>-3:30"


async def test_set_date_time_needs_admin(device, clock):
    now = clock.time()
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            r = await c.post(TIME, json={"apiVersion": "1.0", "method": "setDateTime",
                                         "params": {"dateTime": "2030-01-01T00:00:00Z"}})
            assert r.status_code == 403
            r = await c.post(TIME, json={"apiVersion": "1.0", "method": "setTimeZone",
                                         "params": {"timeZone": "Europe/Paris"}})
            assert r.status_code == 403
    async with asgi_client(device) as anon:
        r = await anon.post(TIME, json={"apiVersion": "1.0", "method": "getDateTimeInfo"})
        assert r.status_code == 401
    assert clock.time() == now and device.params.get("Time.TimeZone") == "Etc/UTC"


RANGE_ERROR = ("dateTime must be a UTC time such as 2024-01-31T12:00:00Z, from 2000-01-01T00:00:00Z "
               "to 2099-12-31T23:59:59Z")


@pytest.mark.parametrize("value", [
    "9999-12-31T23:59:59Z",  # one second later the clock is in year 10000
    "0001-01-01T00:00:00Z",  # shown as 1-01-01T00:00:06Z: not ISO 8601
    "1999-12-31T23:59:59Z",
    "2100-01-01T00:00:00Z",
    "1970-01-01T00:00:00Z",
    "2024-1-5T1:2:3Z",  # ISO 8601 pads each field
    "2024-01-05T01:02:03",  # UTC only
])
async def test_set_date_time_refuses_dates_out_of_range(device, admin, clock, value):
    now = clock.time()
    body = await call(admin, "setDateTime", {"dateTime": value})
    assert body["error"] == {"code": 4004, "message": RANGE_ERROR}
    assert clock.time() == now
    assert device.store.get_kv(OFFSET_KEY) is None
    assert (await call(admin, "getDateTimeInfo"))["data"]["dateTime"] == "2023-11-14T22:13:20Z"
    assert "set date and time" not in device.logs.text("audit")
    assert "time.cgi setDateTime refused for root" in device.logs.text("system")


@pytest.mark.parametrize("value", ["2000-01-01T00:00:00Z", "2099-12-31T23:59:59Z"])
async def test_set_date_time_accepts_the_ends_of_the_range(admin, clock, value):
    assert (await call(admin, "setDateTime", {"dateTime": value}))["data"] == {"dateTime": value}
    assert (await call(admin, "getDateTimeInfo"))["data"]["dateTime"] == value


def test_a_stored_clock_out_of_range_goes_back_to_the_host_time(tmp_path):
    """A device whose date was set to 9999-12-31 before the range was checked works again."""
    data = tmp_path / "data"
    device = build_device("s3016", data)
    device.store.set_kv(OFFSET_KEY, repr(datetime(9999, 12, 31, tzinfo=UTC).timestamp() - time.time()))
    device.close()
    again = build_device("s3016", data)  # the device's own clock, with the stored offset
    try:
        assert abs(again.clock.time() - time.time()) < 5
        assert float(again.store.get_kv(OFFSET_KEY)) == 0.0
        assert "the stored date and time were outside 2000..2099" in again.logs.text("system")
    finally:
        again.close()


async def test_set_date_time_moves_the_device_clock_only(tmp_path):
    device = build_device("s3016", tmp_path / "data", clock=Clock())
    try:
        device.accounts.add("root", "pass1234", Role.ADMIN, True, "", "test")
        async with asgi_client(device, httpx.DigestAuth("root", "pass1234")) as admin:
            before_host = time.time()
            body = await call(admin, "setDateTime", {"dateTime": "2031-06-01T12:00:00Z"})
            assert body["data"] == {"dateTime": "2031-06-01T12:00:00Z"}
            target = datetime(2031, 6, 1, 12, tzinfo=UTC).timestamp()
            assert abs(device.clock.time() - target) < 5
            assert abs(time.time() - before_host) < 5, "the host clock moved"
            data = (await call(admin, "getDateTimeInfo"))["data"]
            assert data["dateTime"].startswith("2031-06-01T12:00")
            # Log lines carry the device's time.
            assert "2031-06-01T12:00" in (await admin.get("/axis-cgi/auditlog.cgi")).text
            assert "set date and time to 2031-06-01T12:00:00Z" in device.logs.text("audit")
    finally:
        device.close()
    # A restart keeps the device's time, and so does a restore; a factory default does not.
    again = build_device("s3016", tmp_path / "data")
    try:
        assert abs(again.clock.time() - target) < 5
    finally:
        again.close()
    factory_reset(tmp_path / "data", hard=False)
    again = build_device("s3016", tmp_path / "data")
    try:
        assert abs(again.clock.time() - target) < 5
    finally:
        again.close()
    factory_reset(tmp_path / "data", hard=True)
    again = build_device("s3016", tmp_path / "data")
    try:
        assert abs(again.clock.time() - time.time()) < 5
    finally:
        again.close()


async def test_time_zone_survives_rebuild(tmp_path, clock):
    from tests.conftest import make_device

    device = make_device(tmp_path, clock)
    async with client_as(device, "admin") as admin:
        await call(admin, "setTimeZone", {"timeZone": "Asia/Tokyo"})
    device.close()
    again = make_device(tmp_path, clock)
    try:
        async with client_as(again, "admin") as admin:
            data = (await call(admin, "getDateTimeInfo"))["data"]
        assert data["timeZone"] == "Asia/Tokyo" and data["localDateTime"] == "2023-11-15T07:13:20+09:00"
    finally:
        again.close()


async def test_time_api_is_listed(anon):
    r = await anon.post("/axis-cgi/apidiscovery.cgi", json={"apiVersion": "1.0", "method": "getApiList",
                                                            "params": {"id": "time-service"}})
    assert [a["id"] for a in r.json()["data"]["apiList"]] == ["time-service"]


async def test_param_cgi_checks_time_zone_names(device, admin):
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Time.TimeZone": "Nowhere/Land"})
    assert r.text.startswith("# Error: Error setting 'root.Time.TimeZone' to 'Nowhere/Land'!")
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Time.TimeZone": "America/Sao_Paulo"})
    assert r.text == "OK\r\n"
    assert (await call(admin, "getDateTimeInfo"))["data"]["localDateTime"] == "2023-11-14T19:13:20-03:00"


async def test_a_posix_zone_and_its_dst_flag_give_the_local_time(device, admin, clock):
    clock.set_time(datetime(2030, 7, 1, 12, tzinfo=UTC).timestamp())
    tz = "CET-1CEST,M3.5.0,M10.5.0/3"
    body = await call(admin, "setPosixTimeZone", {"posixTimeZone": tz, "enableDst": True})  # VAPIX's name
    assert body["data"] == {"posixTimeZone": tz, "dstEnabled": True}
    assert (await call(admin, "getDateTimeInfo"))["data"]["localDateTime"] == "2030-07-01T14:00:00+02:00"
    assert device.schedules.local_now() == datetime(2030, 7, 1, 14)  # schedules plan in the same zone
    await call(admin, "setPosixTimeZone", {"posixTimeZone": tz, "enableDst": False})
    assert (await call(admin, "getDateTimeInfo"))["data"]["localDateTime"] == "2030-07-01T13:00:00+01:00"
    assert device.schedules.local_now() == datetime(2030, 7, 1, 13)


async def test_reset_time_zone(device, admin):
    await call(admin, "setTimeZone", {"timeZone": "Asia/Tokyo"})
    assert (await call(admin, "resetTimeZone", version="1.1"))["data"] == {"status": "success"}
    data = (await call(admin, "getDateTimeInfo"))["data"]
    assert (data["timeZone"], data["posixTimeZone"], data["localDateTime"]) == (
        "Etc/UTC", "UTC0", "2023-11-14T22:13:20+00:00")
    assert "user=root set root.Time.TimeZone=Etc/UTC" in device.logs.text("audit")


async def test_param_cgi_keeps_one_local_zone(device, admin):
    """param.cgi writes the three parameters one by one: an IANA zone brings its POSIX rule, a
    POSIX rule alone takes the IANA zone's place."""
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Time.TimeZone": "Europe/Paris"})
    assert r.text == "OK\r\n"
    assert device.params.get("Time.POSIXTimeZone") == "CET-1CEST,M3.5.0,M10.5.0/3"
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Time.POSIXTimeZone": "<+0330>-3:30"})
    assert r.text == "OK\r\n" and device.params.get("Time.TimeZone") == ""
    data = (await call(admin, "getDateTimeInfo"))["data"]
    assert "timeZone" not in data and data["localDateTime"] == "2023-11-15T01:43:20+03:30"
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Time.POSIXTimeZone": "CET-1;x"})
    assert r.text.startswith("# Error: Error setting 'root.Time.POSIXTimeZone'")


async def test_the_other_setters_need_admin_too(device):
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            for method, params in (("setPosixTimeZone", {"posixTimeZone": "CET-1"}), ("resetTimeZone", {})):
                r = await c.post(TIME, json={"apiVersion": "1.1", "method": method, "params": params})
                assert r.status_code == 403, (role, method)
    assert device.params.get("Time.POSIXTimeZone") == "UTC0"


async def test_notification_texts_use_the_posix_zone(device, admin):
    from vigil.features.notify.templates import device_values, render

    await call(admin, "setPosixTimeZone", {"posixTimeZone": "<-03>3", "enableDst": False})
    values = device_values(device)
    assert values["timezone"] == "<-03>3"
    assert render("{time.local}", None, values).endswith("-03:00")
