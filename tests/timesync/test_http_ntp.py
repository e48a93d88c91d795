"""ntp.cgi: the NTP API as VAPIX has it, over the Time parameters, administrators only; refusals
with their sub-codes change nothing and are logged; the sync state is the client's own."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import asgi_client, client_as
from tests.timesync.conftest import service_of

NTP = "/axis-cgi/ntp.cgi"


async def call(client: httpx.AsyncClient, method: str, params: dict | None = None) -> dict:
    body = {"apiVersion": "1.0", "context": "n", "method": method}
    if params is not None:
        body["params"] = params
    r = await client.post(NTP, json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_get_ntp_info_of_a_new_device(admin):
    body = await call(admin, "getNTPInfo")
    assert body["method"] == "getNTPInfo" and body["context"] == "n"
    client = body["data"]["client"]
    status = client.pop("syncStatus")
    assert client == {"enabled": True, "NTSEnabled": False, "NTSKEServerCACerts": [], "serversSource": "DHCP",
                      "maxSupportedStaticServers": 5, "staticServers": [], "advertisedServers": [],
                      "staticNTSKEServers": [], "synced": False, "timeToNextSync": 0, "timeOffset": 0.0,
                      "minpoll": 6, "maxpoll": 10}
    assert status["source"] == "fallback" and status["servers"] == [] and status["lastSync"] == ""


async def test_set_ntp_client_configuration_sets_the_time_parameters(device, admin):
    params = {"enabled": True, "NTSEnabled": False, "serversSource": "static",
              "staticServers": ["192.0.2.10", "ntp.example.com:1123"], "staticNTSKEServers": ["nts.example"],
              "minpoll": 4, "maxpoll": 8}
    assert (await call(admin, "setNTPClientConfiguration", params))["data"] == {}
    p = device.params
    assert (p.get("Time.NTP.Server"), p.get("Time.ObtainFromDHCP"), p.get("Time.NTP.NTSKEServer")) == (
        "192.0.2.10,ntp.example.com:1123", "no", "nts.example")
    assert (p.get("Time.NTP.MinPoll"), p.get("Time.NTP.MaxPoll")) == ("4", "8")
    client = (await call(admin, "getNTPInfo"))["data"]["client"]
    assert client["staticServers"] == ["192.0.2.10", "ntp.example.com:1123"] and client["serversSource"] == "static"
    assert client["minpoll"] == 4 and client["maxpoll"] == 8
    assert "user=root set root.Time.NTP.Server=192.0.2.10,ntp.example.com:1123" in device.logs.text("audit")
    # A partial configuration changes only what it names; [""] clears a list; off is off.
    await call(admin, "setNTPClientConfiguration", {"enabled": False, "staticServers": [""]})
    assert p.get("Time.SyncSource") == "None" and p.get("Time.NTP.Server") == "" and p.get("Time.NTP.MinPoll") == "4"
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "list", "group": "Time.SyncSource"})
    assert r.text == "root.Time.SyncSource=None\r\n"  # one truth for ntp.cgi and param.cgi


@pytest.mark.parametrize(("params", "code", "sub_code"), [
    ({}, 4003, None),
    ({"enabled": "yes"}, 4004, 1),
    ({"serversSource": "pool"}, 4004, 2),
    ({"staticServers": "192.0.2.1"}, 4004, 3),
    ({"staticServers": ["300.0.0.1"]}, 4004, 3),
    ({"staticServers": ["a.example,b.example"]}, 4004, 3),
    ({"staticServers": [f"s{i}.example" for i in range(6)]}, 4004, 3),
    ({"NTSEnabled": 1}, 4004, 5),
    ({"staticNTSKEServers": ["bad host"]}, 4004, 6),
    ({"minpoll": -1}, 4004, 7),
    ({"minpoll": 25}, 4004, 7),
    ({"minpoll": True}, 4004, 7),
    ({"maxpoll": 4.5}, 4004, 8),
    ({"minpoll": 12, "maxpoll": 8}, 4004, 8),
    ({"minpoll": 11}, 4004, 7),  # above the stored maxpoll 10
    ({"NTSKEServerCACerts": ["nosuchcert"]}, 4004, 9),
    ({"NTSKEServerCACerts": ["../device.key"]}, 4004, 9),
    ({"enabled": True, "bogus": 1}, 4004, None),
])
async def test_bad_configurations_change_nothing(device, admin, params, code, sub_code):
    before = {n: device.params.get(n) for n in device.params.defs if n.startswith("Time.")}
    error = (await call(admin, "setNTPClientConfiguration", params))["error"]
    assert error["code"] == code and error["message"]
    assert error.get("details", {}).get("subCode") == sub_code
    assert {n: device.params.get(n) for n in before} == before
    assert "ntp.cgi setNTPClientConfiguration refused for root" in device.logs.text("system")


async def test_only_administrators_use_the_ntp_api(device):
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            for method in ("getNTPInfo", "setNTPClientConfiguration"):
                r = await c.post(NTP, json={"apiVersion": "1.0", "method": method, "params": {"enabled": False}})
                assert r.status_code == 403, (role, method)
    async with asgi_client(device) as anon:
        assert (await anon.post(NTP, json={"apiVersion": "1.0", "method": "getNTPInfo"})).status_code == 401
    assert device.params.get("Time.SyncSource") == "NTP"


async def test_the_api_errors_of_the_ntp_api(admin):
    assert (await admin.get(NTP)).json()["error"]["code"] == 2000  # POST only
    assert (await admin.post(NTP, content=b"{")).json()["error"]["code"] == 3000
    assert (await call(admin, "nope"))["error"]["code"] == 4000
    r = await admin.post(NTP, json={"apiVersion": "2.0", "method": "getNTPInfo"})
    assert r.json()["error"]["code"] == 4001
    r = await admin.post(NTP, json={"method": "getSupportedVersions"})
    assert r.json()["data"] == {"apiVersions": ["1.5"]}


async def test_the_sync_state_is_the_clients(device, clock, admin, ntp_servers):
    server = await ntp_servers(offset=42.0)
    await call(admin, "setNTPClientConfiguration", {"serversSource": "static", "staticServers": [server.address],
                                                    "minpoll": 3, "maxpoll": 5})
    await service_of(device).poll()
    client = (await call(admin, "getNTPInfo"))["data"]["client"]
    assert client["synced"] is True and client["timeOffset"] == pytest.approx(42000.0)
    assert client["timeToNextSync"] == 8
    status = client["syncStatus"]
    assert status["answered"] == [server.address] and status["adjustment"] == "step" and status["stratum"] == 2
    assert status["lastSync"] and status["error"] == ""
    clock.advance(3)
    assert (await call(admin, "getNTPInfo"))["data"]["client"]["timeToNextSync"] == 5


async def test_dhcp_servers_are_advertised(device, admin):
    service_of(device).set_dhcp_servers(["192.0.2.53"])
    client = (await call(admin, "getNTPInfo"))["data"]["client"]
    assert client["advertisedServers"] == ["192.0.2.53"] and client["syncStatus"]["source"] == "DHCP"
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "list", "group": "Time.NTP.VolatileServer"})
    assert r.text == "root.Time.NTP.VolatileServer=192.0.2.53\r\n"


async def test_the_ntp_api_is_listed(anon):
    r = await anon.post("/axis-cgi/apidiscovery.cgi", json={"apiVersion": "1.0", "method": "getApiList",
                                                            "params": {"id": "ntp"}})
    assert [(a["id"], a["version"]) for a in r.json()["data"]["apiList"]] == [("ntp", "1.5")]
