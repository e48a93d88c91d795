"""VAPIX Siren and light on the C1410: profiles, starts and stops with priorities, the status
list, maintenance, identify and health check, import, rule actions; the LED and siren are read
back from the simulated HAL."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import client_as, eventually, make_device, settle_rules
from vigil.core.clock import FakeClock
from vigil.core.rules import Condition, Rule, RuleError
from vigil.device import Device
from vigil.features.light import const as c
from vigil.features.light.service import LIGHT_SERVICE
from vigil.features.triggers.const import VIRTUAL_INPUT
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE
from vigil.hal.indicators import INDICATORS
from vigil.http.vapix import ConfigCodes

ALARM = {"name": "Alarm", "description": "Intruder",
         "siren": {"pattern": "Alarm: Horror", "intensity": 5, "priority": 4},
         "light": {"pattern": "Alternate", "speed": 2, "colors": ["red", "blue"], "intensity": 5, "priority": 4}}


async def call(client: httpx.AsyncClient, method: str, params: dict | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"apiVersion": "1.0", "context": "t", "method": method}
    if params is not None:
        body["params"] = params
    r = await client.post(c.PATH, json=body)
    assert r.status_code == 200 and r.headers["content-type"] == "application/json", r.text
    reply = r.json()
    assert reply["method"] == method and reply["context"] == "t"
    return reply


async def ok(client: httpx.AsyncClient, method: str, params: dict | None = None) -> dict[str, Any]:
    reply = await call(client, method, params)
    assert "data" in reply, reply
    return reply["data"]


async def code(client: httpx.AsyncClient, method: str, params: dict | None = None) -> int:
    reply = await call(client, method, params)
    assert "error" in reply, reply
    assert reply["error"]["message"]
    return reply["error"]["code"]


def led(dev: Device) -> str:
    return dev.hardware[INDICATORS].led(c.LED).describe()


def siren(dev: Device) -> str | None:
    sound = dev.hardware[INDICATORS].sound(c.SIREN)
    return sound.pattern if sound else None


async def test_a_profile_runs_on_the_led_and_the_siren(c1410: Device, operator: httpx.AsyncClient) -> None:
    assert "siren" in (await ok(operator, "getCapabilities"))["capabilities"]
    assert await ok(operator, "addProfile", ALARM) == {}
    assert (await ok(operator, "getProfiles"))["profiles"] == [ALARM]
    ids = await ok(operator, "start", {"profile": "Alarm"})
    assert set(ids) == {"sirenId", "lightId"}
    assert led(c1410) == "red/blue, alternate" and siren(c1410) == "Alarm: Horror"
    assert c1410.hardware[INDICATORS].led(c.LED).intensity == 100
    assert c1410.events.state(c.STATUS_TOPIC, {"id": "0"}) == {"state": "ON"}
    status = await ok(operator, "getStatus")
    assert status["light"][0]["profile"] == "Alarm" and status["siren"][0]["sirenId"] == ids["sirenId"]
    assert await ok(operator, "stop", {"profile": "Alarm"}) == {}
    assert led(c1410) == "off" and siren(c1410) is None and await ok(operator, "getStatus") == {}
    assert c1410.events.state(c.STATUS_TOPIC, {"id": "0"}) == {"state": "OFF"}


async def test_the_highest_priority_shows(c1410: Device, operator: httpx.AsyncClient) -> None:
    def light(color: str, priority: int, **more: Any) -> dict:
        return {"light": {"pattern": "Steady", "colors": [color], "intensity": 3, "priority": priority, **more}}

    low = await ok(operator, "start", light("green", 3))
    high = await ok(operator, "start", light("red", 5))
    assert led(c1410) == "red"
    await ok(operator, "start", light("blue", 3))  # the same priority replaces the green one
    await ok(operator, "stop", {"lightId": high["lightId"]})
    assert led(c1410) == "blue"
    assert await code(operator, "stop", {"lightId": low["lightId"]}) == c.NO_SUCH_PROCESS
    for priority in range(1, 11):
        await ok(operator, "start", light("amber", priority))
    assert len(c1410.features[LIGHT_SERVICE].ops) == 10
    assert await code(operator, "start", {"siren": {"pattern": "Alarm: Horror"}}) == ConfigCodes.INVALID  # list full
    await ok(operator, "stop", {"all": ["light"]})
    # Maintenance (11) halts the light; Identify (12) and Health check (13) show above it.
    await ok(operator, "start", light("green", 2))
    await ok(operator, "setMaintenanceMode", {"maintenanceMode": True})
    assert led(c1410) == "off"
    c1410.features[LIGHT_SERVICE].identify(30, "test")
    assert led(c1410) == "white, flash"
    await ok(operator, "runHealthCheck")
    assert led(c1410) == "white" and siren(c1410) == "beep"
    assert (await ok(operator, "getLastHealthCheck"))["errors"] == []
    names = [a["name"] for a in c1410.features[LIGHT_SERVICE].activities()]
    assert names == ["Health check", "Identify", "Maintenance", "Steady (light)"]
    await ok(operator, "stop", {"all": ["light", "siren"]})  # the activities above 10 stay
    assert len(c1410.features[LIGHT_SERVICE].ops) == 3
    await eventually(lambda: led(c1410) == "white, flash", what="the health check to end")
    await ok(operator, "setMaintenanceMode", {"maintenanceMode": False})


async def test_durations_count_down_also_when_hidden(c1410: Device, operator: httpx.AsyncClient) -> None:
    await ok(operator, "start", {"light": {"pattern": "Steady", "colors": ["green"], "priority": 9}})
    await ok(operator, "start", {"light": {"pattern": "Flash", "speed": 4, "colors": ["red"], "priority": 2,
                                           "duration": {"unit": "repetitions", "value": 2}}})
    timed = await ok(operator, "start", {"siren": {"pattern": "Siren: Alternate", "priority": 1,
                                                   "duration": {"unit": "seconds", "value": 1}}})
    assert (await ok(operator, "getStatus"))["siren"][0]["durationLeft"] == 1
    service = c1410.features[LIGHT_SERVICE]
    await eventually(lambda: len(service.ops) == 1, what="the timed activities to end")
    assert led(c1410) == "green" and siren(c1410) is None
    assert await code(operator, "stop", {"sirenId": timed["sirenId"]}) == c.NO_SUCH_PROCESS


@pytest.mark.parametrize(("params", "expected"), [
    ({"profile": "Nope"}, c.BAD_PROFILE),
    ({"light": {"pattern": "Disco"}}, c.LIGHT_PATTERN),
    ({"siren": {"pattern": "Bell"}}, c.SIREN_PATTERN),
    ({"light": {"pattern": "Steady", "intensity": 9}}, c.LIGHT_INTENSITY),
    ({"siren": {"pattern": "Alarm: Horror", "intensity": "loud"}}, c.SIREN_INTENSITY),
    ({"light": {"pattern": "Steady", "priority": 11}}, c.LIGHT_PRIORITY),
    ({"siren": {"pattern": "Alarm: Horror", "priority": 0}}, c.SIREN_PRIORITY),
    ({"light": {"pattern": "Steady", "duration": {"unit": "hours", "value": 1}}}, c.LIGHT_UNIT),
    ({"light": {"pattern": "Steady", "duration": {"unit": "seconds", "value": 259201}}}, c.LIGHT_DURATION),
    ({"siren": {"pattern": "Alarm: Horror", "duration": {"unit": "repetitions", "value": 21}}}, c.SIREN_DURATION),
    ({"light": {"pattern": "Alternate", "colors": ["red"]}}, c.COLOR_COUNT),
    ({"light": {"pattern": "Steady", "colors": ["pink"]}}, c.COLOR),
    ({"light": {"pattern": "Steady", "speed": 3}}, c.SPEED),
    ({}, ConfigCodes.MISSING),
])
async def test_bad_starts_are_refused(c1410: Device, operator: httpx.AsyncClient, params: dict, expected: int) -> None:
    assert await code(operator, "start", params) == expected
    assert led(c1410) == "off" and not c1410.features[LIGHT_SERVICE].ops


async def test_bad_profiles_and_stops_lose_nothing(c1410: Device, operator: httpx.AsyncClient) -> None:
    await ok(operator, "addProfile", ALARM)
    assert await code(operator, "addProfile", ALARM) == c.BAD_PROFILE  # names are unique
    assert await code(operator, "addProfile", {**ALARM, "name": "x" * 51}) == c.NAME_TOO_LONG
    assert await code(operator, "addProfile", {**ALARM, "name": "B", "description": "d" * 251}) == c.DESCRIPTION_TOO_LONG
    assert await code(operator, "addProfile", {"name": "Empty"}) == c.BAD_PROFILE
    assert await code(operator, "addProfile", {"name": "Horn", "horn": {}}) == c.FUNCTION_TYPE
    assert await code(operator, "removeProfile", {"name": "Nope"}) == c.BAD_PROFILE
    assert await code(operator, "stop", {"all": ["horn"]}) == c.FUNCTION_TYPE
    assert await code(operator, "stop", {"lightId": True}) == c.NO_SUCH_PROCESS
    assert await code(operator, "start", {"light": {"pattern": {"name": "Steady"}}}) == c.LIGHT_PATTERN
    assert await code(operator, "stop", {"profile": "Nope"}) == c.BAD_PROFILE
    assert await code(operator, "getLastHealthCheck") == c.NO_HEALTH_CHECK
    assert await code(operator, "setMaintenanceMode", {"maintenanceMode": "yes"}) == ConfigCodes.INVALID
    assert await code(operator, "noSuchMethod") == ConfigCodes.BAD_METHOD
    r = await operator.post(c.PATH, content=b"{not json")
    assert r.json()["error"]["code"] == ConfigCodes.BAD_JSON
    for n in range(29):
        await ok(operator, "addProfile", {"name": f"P{n}", "light": {"pattern": "Steady"}})
    assert await code(operator, "addProfile", {"name": "P30", "light": {"pattern": "Steady"}}) == c.TOO_MANY_PROFILES
    async with client_as(c1410, "viewer") as viewer:
        r = await viewer.post(c.PATH, json={"apiVersion": "1.0", "method": "removeProfile", "params": {"name": "Alarm"}})
        assert r.status_code == 403
    assert len(c1410.features[LIGHT_SERVICE].profiles) == 30 and "Alarm" in c1410.features[LIGHT_SERVICE].profiles
    assert "removeProfile" not in c1410.logs.text("audit")


async def upload(client: httpx.AsyncClient, profiles: Any, mode: str) -> dict[str, Any]:
    request = json.dumps({"apiVersion": "1.0", "context": "t", "method": "uploadProfiles",
                          "params": {"uploadMode": mode}})
    r = await client.post(c.PATH, files={"request": (None, request, "application/json"),
                                         "file": ("profiles", json.dumps(profiles).encode(), "application/json")})
    assert r.status_code == 200, r.text
    return r.json()


async def test_import_add_overwrite_and_erase(c1410: Device, operator: httpx.AsyncClient, tmp_path: Path,
                                              clock: FakeClock) -> None:
    service = c1410.features[LIGHT_SERVICE]
    await ok(operator, "addProfile", ALARM)
    calm = {"name": "Calm", "light": {"pattern": "Pulse", "colors": ["green"], "priority": 1}}
    assert "data" in await upload(operator, [calm], "add")
    assert list(service.profiles) == ["Alarm", "Calm"]
    assert (await upload(operator, [calm], "add"))["error"]["code"] == c.BAD_PROFILE  # exists: add refuses
    louder = {**ALARM, "siren": {"pattern": "Alarm: Car alarm", "intensity": 5}}
    assert "data" in await upload(operator, [louder], "overwrite")
    assert service.profiles["Alarm"].siren.pattern == "Alarm: Car alarm"
    # One bad profile in the file: nothing changes.
    bad = [{"name": "New", "light": {"pattern": "Steady"}}, {"name": "Bad", "light": {"pattern": "Disco"}}]
    assert (await upload(operator, bad, "erase_and_add"))["error"]["code"] == c.LIGHT_PATTERN
    assert (await upload(operator, {"name": "x"}, "add"))["error"]["code"] == c.BAD_PROFILE
    assert (await upload(operator, [calm], "merge"))["error"]["code"] == ConfigCodes.INVALID
    many = [{"name": f"P{n}", "light": {"pattern": "Steady"}} for n in range(29)]
    assert (await upload(operator, many, "add"))["error"]["code"] == c.TOO_MANY_PROFILES
    assert list(service.profiles) == ["Alarm", "Calm"]
    assert "data" in await upload(operator, bad[:1], "erase_and_add")
    assert list(service.profiles) == ["New"]
    # Kept over a restart, with maintenance mode.
    await ok(operator, "setMaintenanceMode", {"maintenanceMode": True})
    c1410.close()
    again = make_device(tmp_path, clock, "c1410")
    try:
        assert list(again.features[LIGHT_SERVICE].profiles) == ["New"]
        assert [a["name"] for a in again.features[LIGHT_SERVICE].activities()] == ["Maintenance"]
    finally:
        again.close()


async def test_rule_actions_start_and_stop_profiles(c1410: Device, operator: httpx.AsyncClient) -> None:
    await ok(operator, "addProfile", ALARM)
    with pytest.raises(RuleError):
        c1410.rules.add_action("bad", c.ACTION_WHILE, {"profile": "Nope"}, "t")
    action = c1410.rules.add_action("alarm", c.ACTION_WHILE, {"profile": "Alarm"}, "t")
    c1410.rules.add_rule(Rule(0, "manual alarm", True, action.id,
                              (Condition(VIRTUAL_INPUT, (("port", "1"), ("active", "1"))),)), "t")
    triggers = c1410.features[VIRTUAL_INPUTS_SERVICE]
    triggers.set_virtual(1, True, "test")
    await settle_rules(c1410)
    await eventually(lambda: siren(c1410) == "Alarm: Horror", what="the rule to start the profile")
    triggers.set_virtual(1, False, "test")
    await settle_rules(c1410)
    await eventually(lambda: led(c1410) == "off" and siren(c1410) is None, what="the rule to stop it")
