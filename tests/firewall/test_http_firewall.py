"""The Firewall configuration API in-process: the page's shapes, applying and testing rules,
confirming, rolling back by hand and when the test time runs out, refusing a rule set that would
lock out the client unless it is tested, bad input (the API's codes, nothing stored), roles, the
audit log, and what survives a restart (the confirmed rules; never a test)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.conftest import client_as, make_device
from tests.firewall.test_model import PAGE_RULES
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.firewall.service import FIREWALL_SERVICE
from vigil.hal.firewall import FIREWALL_HARDWARE, Packet
from vigil.hal.sim.firewall import SimulatedFirewall

ROOT = "/config/rest/firewall/v1"
# The test clients come from 127.0.0.1 to port 80 (the in-process device's HTTP port).
DENY_ME = {"ruleType": "FILTER", "ip": "127.0.0.1", "filter": {"policy": "DROP"}}
LET_ME_IN = {"ruleType": "FILTER", "ip": "127.0.0.0/8", "tcpPort": 80, "filter": {"policy": "ACCEPT"}}


async def ok(client: httpx.AsyncClient, method: str, path: str, data: Any = None) -> Any:
    r = await client.request(method, ROOT + path, json=None if method == "GET" else {"data": data})
    assert r.status_code == 200 and r.json()["status"] == "success", r.text
    return r.json().get("data")


async def refused(client: httpx.AsyncClient, method: str, path: str, data: Any, code: int, words: str) -> None:
    r = await client.request(method, ROOT + path, json={"data": data})
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and body["error"]["code"] == code and words in body["error"]["message"], body


def enforced(device: Device) -> Any:
    hardware = device.hardware[FIREWALL_HARDWARE]
    assert isinstance(hardware, SimulatedFirewall)
    return hardware.ruleset


async def test_off_and_empty_at_first(admin: httpx.AsyncClient) -> None:
    assert await ok(admin, "GET", "/activated") is False
    data = await ok(admin, "GET", "")
    assert data == {"activated": False, "conf": {"rules": {
        "activeRules": [], "activeDefaultPolicy": "ACCEPT", "pendingRules": [], "pendingDefaultPolicy": None,
        "testTimeLeft": 0}}}


async def test_rules_applied_at_once_are_enforced_stored_and_audited(admin: httpx.AsyncClient, device: Device,
                                                                    tmp_path: Path, clock: FakeClock) -> None:
    await ok(admin, "PATCH", "/activated", True)
    await ok(admin, "POST", "/conf/setRules", {"rules": PAGE_RULES, "defaultPolicy": "ACCEPT", "fallbackTime": 0})
    rules = await ok(admin, "GET", "/conf/rules")
    assert len(rules["activeRules"]) == 5 and rules["pendingRules"] == [] and rules["testTimeLeft"] == 0
    assert rules["activeRules"][1]["ip"] == "192.168.2.16" and rules["activeRules"][1]["filter"] == {"policy": "ACCEPT"}
    assert await ok(admin, "GET", "/conf/rules/activeDefaultPolicy") == "ACCEPT"
    assert enforced(device).verdict(Packet("192.168.2.20", "TCP", 80)) == "DROP"
    audit = device.logs.text("audit")
    assert "user=root firewall turned on" in audit and "firewall rules applied: 5 rule(s)" in audit
    device.close()
    again = make_device(tmp_path, clock)  # the same data folder: a restart
    try:
        assert again.features[FIREWALL_SERVICE].activated
        assert len(enforced(again).rules) == 5
    finally:
        again.close()


async def test_a_test_rolls_back_when_its_time_runs_out(admin: httpx.AsyncClient, device: Device,
                                                       clock: FakeClock) -> None:
    await ok(admin, "PATCH", "/activated", True)
    await ok(admin, "POST", "/conf/setRules", {"rules": [DENY_ME], "defaultPolicy": "DROP", "fallbackTime": 30})
    rules = await ok(admin, "GET", "/conf/rules")
    assert rules["activeRules"] == [] and rules["activeDefaultPolicy"] == "ACCEPT"
    assert rules["pendingRules"][0]["ip"] == "127.0.0.1" and rules["pendingDefaultPolicy"] == "DROP"
    assert rules["testTimeLeft"] == 30
    assert enforced(device).default_policy == "DROP"  # a test is enforced while it lasts
    service = device.features[FIREWALL_SERVICE]
    clock.advance(29.5)
    service.tick()
    assert (await ok(admin, "GET", "/conf/rules"))["testTimeLeft"] == 1
    clock.advance(0.5)
    service.tick()
    rules = await ok(admin, "GET", "/conf/rules")
    assert rules["pendingRules"] == [] and rules["pendingDefaultPolicy"] is None and rules["testTimeLeft"] == 0
    assert enforced(device).default_policy == "ACCEPT" and enforced(device).rules == ()
    assert "firewall rules rolled back to the confirmed ones: the test time ran out" in device.logs.text("audit")
    await refused(admin, "POST", "/conf/confirmRules", {}, 103, "no rules are being tested")


async def test_a_confirmed_test_stays(admin: httpx.AsyncClient, device: Device, clock: FakeClock) -> None:
    await ok(admin, "PATCH", "/activated", True)
    await ok(admin, "POST", "/conf/setRules", {"rules": [LET_ME_IN], "defaultPolicy": "DROP", "fallbackTime": 60})
    await ok(admin, "POST", "/conf/confirmRules", {})
    clock.advance(120)
    device.features[FIREWALL_SERVICE].tick()
    rules = await ok(admin, "GET", "/conf/rules")
    assert rules["activeDefaultPolicy"] == "DROP" and rules["activeRules"][0]["ip"] == "127.0.0.0/8"
    assert rules["pendingRules"] == [] and enforced(device).default_policy == "DROP"
    assert "firewall rules confirmed: 1 rule(s), default policy DROP" in device.logs.text("audit")


async def test_clear_pending_rules_rolls_back_at_once(admin: httpx.AsyncClient, device: Device) -> None:
    await ok(admin, "PATCH", "/activated", True)
    await ok(admin, "POST", "/conf/setRules", {"rules": [], "defaultPolicy": "DROP"})  # fallbackTime left out: 300 s
    assert (await ok(admin, "GET", "/conf/rules/testTimeLeft")) == 300
    await ok(admin, "POST", "/conf/clearPendingRules", {})
    assert enforced(device).default_policy == "ACCEPT"
    assert "rolled back by hand" in device.logs.text("audit")
    await refused(admin, "POST", "/conf/clearPendingRules", {}, 103, "no rules are being tested")


async def test_rules_that_lock_out_the_client_need_a_test(admin: httpx.AsyncClient, device: Device) -> None:
    await ok(admin, "PATCH", "/activated", True)
    await refused(admin, "POST", "/conf/setRules", {"rules": [DENY_ME], "defaultPolicy": "ACCEPT", "fallbackTime": 0},
                  103, "would lock out this client (127.0.0.1, TCP port 80)")
    await refused(admin, "POST", "/conf/setRules", {"rules": [], "defaultPolicy": "DROP", "fallbackTime": 0},
                  103, "test them with a fallback time")
    assert (await ok(admin, "GET", "/conf/rules"))["activeRules"] == []
    # A rule for the client's port lets it in; another port's rule does not.
    await refused(admin, "POST", "/conf/setRules", {"rules": [{**LET_ME_IN, "tcpPort": 443}], "defaultPolicy": "DROP",
                                                    "fallbackTime": 0}, 103, "lock out")
    await ok(admin, "POST", "/conf/setRules", {"rules": [LET_ME_IN], "defaultPolicy": "DROP", "fallbackTime": 0})
    assert "lock out this client" in device.logs.text("system")


async def test_turning_on_rules_that_lock_out_the_client_is_refused(admin: httpx.AsyncClient) -> None:
    await ok(admin, "POST", "/conf/setRules", {"rules": [DENY_ME], "defaultPolicy": "ACCEPT", "fallbackTime": 0})
    await refused(admin, "PATCH", "/activated", True, 103, "would lock out this client")
    assert await ok(admin, "GET", "/activated") is False
    await refused(admin, "POST", "/conf/setRules", {"rules": [], "defaultPolicy": "DROP", "fallbackTime": 10},
                  103, "the firewall is off")


async def test_bad_input_stores_nothing(admin: httpx.AsyncClient, device: Device) -> None:
    await ok(admin, "PATCH", "/activated", True)
    before = device.store.get_kv("firewall")
    cases = [
        ({"rules": [{"ruleType": "FILTER", "ip": "10.0.0.300", "filter": {"policy": "DROP"}}],
          "defaultPolicy": "ACCEPT", "fallbackTime": 0}, 100, "rule 1"),
        ({"rules": [{"ruleType": "FILTER", "udpPort": 70000, "filter": {"policy": "DROP"}}],
          "defaultPolicy": "ACCEPT", "fallbackTime": 0}, 104, "70000"),
        ({"rules": [], "defaultPolicy": "ACCEPT", "fallbackTime": -1}, 103, "fallbackTime"),
        ({"rules": [], "defaultPolicy": "ACCEPT", "fallbackTime": 1.5}, 103, "fallbackTime"),
        ({"rules": [], "defaultPolicy": "ACCEPT", "fallbackTime": 86401}, 103, "fallbackTime"),
        ({"rules": [], "defaultPolicy": "ACCEPT", "extra": 1}, 103, "unknown member"),
        ([], 103, "data is an object"),
    ]
    for data, code, words in cases:
        await refused(admin, "POST", "/conf/setRules", data, code, words)
    for body in (b"{", b"[]", b'{"nodata": 1}'):
        r = await admin.post(ROOT + "/conf/setRules", content=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == 103
    await refused(admin, "PATCH", "/activated", "yes", 103, "true or false")
    assert device.store.get_kv("firewall") == before
    assert (await ok(admin, "GET", "/conf/rules"))["activeRules"] == []
    r = await admin.get(ROOT + "/conf/rules/nothing")
    assert r.status_code == 404 and r.json()["status"] == "error"


async def test_administrators_only(device: Device) -> None:
    for role in ("viewer", "operator"):
        async with client_as(device, role) as client:
            assert (await client.get(ROOT + "/conf/rules")).status_code == 403
            r = await client.post(ROOT + "/conf/setRules", json={"data": {"rules": [], "defaultPolicy": "DROP"}})
            assert r.status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=device.__dict__["_test_app"]),
                                 base_url="http://127.0.0.1") as anonymous:
        assert (await anonymous.patch(ROOT + "/activated", json={"data": True})).status_code == 401
    assert device.features[FIREWALL_SERVICE].activated is False


async def test_a_test_under_way_does_not_survive_a_restart(admin: httpx.AsyncClient, device: Device,
                                                          tmp_path: Path, clock: FakeClock) -> None:
    await ok(admin, "PATCH", "/activated", True)
    await ok(admin, "POST", "/conf/setRules", {"rules": [LET_ME_IN], "defaultPolicy": "DROP", "fallbackTime": 0})
    await ok(admin, "POST", "/conf/setRules", {"rules": [DENY_ME], "defaultPolicy": "DROP", "fallbackTime": 300})
    device.close()
    again = make_device(tmp_path, clock)
    try:
        service = again.features[FIREWALL_SERVICE]
        assert service.pending is None and service.active.rules[0].network == "127.0.0.0/8"
        assert enforced(again).rules[0].policy == "ACCEPT"
    finally:
        again.close()
