"""The VAPIX Remote Syslog API in-process: the page's examples and shapes, defaults, every error
code with its details, the settings in the parameter tree (both ways), roles and the audit log.
(No server needed: delivery is in test_delivery.py and test_rsyslog.py.)"""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import client_as
from tests.peers.certs import Certs
from tests.syslog.conftest import CA_ID, install_ca, syslog
from vigil.device import Device

PATH = "/axis-cgi/remotesyslog.cgi"
PAGE_EXAMPLE = [  # setup "Send syslogs over TCP", as the API page sends it
    {"address": "10.92.1.29", "port": 514, "protocol": "TCP", "syslogFormat": "RFC3164", "severity": "Warning"},
    {"address": "2001:4860:4860::8888", "port": 1999, "protocol": "TCP", "syslogFormat": "RFC5424",
     "severity": "Error"},
]


async def call(client: httpx.AsyncClient, method: str, params: dict | None = None,
               version: str | None = "1.0") -> dict[str, Any]:
    body: dict[str, Any] = {"context": "Client defined request ID", "method": method}
    if version is not None:
        body["apiVersion"] = version
    if params is not None:
        body["params"] = params
    r = await client.post(PATH, json=body)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json"), r.text
    reply = r.json()
    assert reply["method"] == method and reply["context"] == "Client defined request ID", reply
    return reply


async def ok(client: httpx.AsyncClient, method: str, params: dict | None = None) -> dict[str, Any]:
    reply = await call(client, method, params)
    assert "error" not in reply, reply
    return reply["data"]


async def error(client: httpx.AsyncClient, method: str, params: dict | None, code: int) -> dict[str, Any]:
    reply = await call(client, method, params)
    assert reply.get("error", {}).get("code") == code, reply
    return reply["error"]


async def test_versions_and_the_empty_status(admin: httpx.AsyncClient) -> None:
    reply = await call(admin, "getSupportedVersions", version=None)
    assert reply["data"] == {"apiVersions": ["1.2"]}
    data = await ok(admin, "status")
    assert data["enabled"] is False and data["servers"] == []
    assert data["caCertificates"] == [] and data["delivery"] == []
    assert (await call(admin, "status", version="2.0"))["error"]["code"] == 2100


async def test_setup_like_the_page_example(admin: httpx.AsyncClient, device: Device) -> None:
    data = await ok(admin, "setup", {"servers": PAGE_EXAMPLE})
    assert data == {"enabled": True, "servers": [{**s, "type": "All"} for s in PAGE_EXAMPLE]}
    assert await ok(admin, "status") == {**data, "caCertificates": [], "delivery": []}  # no sender runs here
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "list", "group": "API.RemoteSyslog1"})
    assert "root.API.RemoteSyslog1.Enabled=true" in r.text
    assert "root.API.RemoteSyslog1.Server2.Address=2001:4860:4860::8888" in r.text
    assert "root.API.RemoteSyslog1.Server1.SyslogFormat=RFC3164" in r.text
    audit = device.logs.text("audit")
    assert "user=root set root.API.RemoteSyslog1.Server1.Address=10.92.1.29" in audit
    assert "user=root set root.API.RemoteSyslog1.Enabled=true" in audit


async def test_defaults_follow_the_page_tables(admin: httpx.AsyncClient) -> None:
    data = await ok(admin, "setup", {"servers": [{"address": "10.92.1.29", "protocol": "UDP"},
                                                 {"address": "172.25.77.186", "protocol": "UDP"}]})
    assert [s["port"] for s in data["servers"]] == [514, 514]
    assert data["servers"][0] == {"address": "10.92.1.29", "port": 514, "protocol": "UDP",
                                  "syslogFormat": "RFC5424", "severity": "Warning", "type": "All"}
    data = await ok(admin, "setup", {"servers": [{"address": "10.92.1.29"}]})
    assert data["servers"] == [{"address": "10.92.1.29", "port": 6514, "protocol": "TLS",
                                "syslogFormat": "RFC5424", "severity": "Warning", "type": "All"}]
    data = await ok(admin, "setup", {"servers": [{"address": "h.example", "protocol": "TCP"},
                                                 {"address": "h.example", "protocol": "tcp", "syslogFormat": "axis",
                                                  "severity": "debug", "type": "audit"}]})
    assert [(s["port"], s["syslogFormat"], s["severity"], s["type"]) for s in data["servers"]] == [
        (601, "RFC5424", "Warning", "All"), (514, "AXIS", "Debug", "Audit")]


async def test_errors_in_the_api_shape(admin: httpx.AsyncClient) -> None:
    e = await error(admin, "setup", {"servers": [{"protocol": "TCP"}]}, 2103)
    assert e["message"] == "Required parameter missing" and e["details"] == {"propertyName": "address"}
    e = await error(admin, "setup", {"servers": [PAGE_EXAMPLE[0], dict(PAGE_EXAMPLE[0])]}, 2201)
    assert e["message"] == "Identical servers not allowed"
    e = await error(admin, "setup", {"servers": [PAGE_EXAMPLE[0], PAGE_EXAMPLE[1], {"address": "a.b"}]}, 2203)
    assert e["message"] == "Too many servers specified"
    e = await error(admin, "setup", {"servers": [{**PAGE_EXAMPLE[0], "severity": "Loud"}]}, 2104)
    assert e == {"code": 2104, "message": "Invalid parameter value specified",
                 "details": {"address": "10.92.1.29", "propertyName": "severity"}}
    e = await error(admin, "setup", {"servers": [{**PAGE_EXAMPLE[0], "protocol": "SCTP"},
                                                 {"address": "172.25.77.186", "protocol": "x", "severity": "y"}]}, 2104)
    assert e["details"] == {"address": "10.92.1.29", "propertyName": "protocol"}
    assert [(x["code"], x["details"]) for x in e["errors"]] == [
        (2104, {"address": "172.25.77.186", "propertyName": "protocol"}),
        (2104, {"address": "172.25.77.186", "propertyName": "severity"})]
    for bad in ({"port": 0}, {"port": 65536}, {"port": True}, {"port": "514"}, {"address": "999.1.1.1"},
                {"address": "-x"}, {"address": ""}, {"address": 5}, {"colour": "red"}):
        e = await error(admin, "setup", {"servers": [{**PAGE_EXAMPLE[0], **bad}]}, 2104)
        assert e["details"]["propertyName"] in ("port", "address", "colour"), (bad, e)
    await error(admin, "setup", {"servers": "10.92.1.29"}, 2104)
    await error(admin, "setup", {}, 2103)
    await error(admin, "setup", {"servers": [], "extra": 1}, 2104)
    assert (await ok(admin, "status"))["servers"] == []  # nothing of the refused requests was kept


async def test_enable_disable_and_test(admin: httpx.AsyncClient, device: Device) -> None:
    assert (await error(admin, "enable", None, 2200))["message"] == "No server configured"
    assert (await error(admin, "test", None, 2202))["message"].startswith("Remote syslog is disabled")
    await ok(admin, "setup", {"servers": [PAGE_EXAMPLE[0]]})
    data = await ok(admin, "disable")
    assert data["enabled"] is False and data["servers"] == [{**PAGE_EXAMPLE[0], "type": "All"}]
    await error(admin, "test", None, 2202)
    assert (await ok(admin, "enable"))["enabled"] is True
    assert (await ok(admin, "test"))["enabled"] is True
    assert "user=root sent remote syslog test messages" in device.logs.text("audit")
    data = await ok(admin, "setup", {"servers": []})  # an empty list removes the servers
    assert data == {"enabled": False, "servers": []}


async def test_ca_certificates_are_chosen_from_the_store(admin: httpx.AsyncClient, device: Device,
                                                         certs: Certs) -> None:
    e = await error(admin, "setup", {"servers": [PAGE_EXAMPLE[0]], "caCertificates": ["nowhere"]}, 2104)
    assert e["details"] == {"propertyName": "caCertificates"}
    for bad in ("x", [1], ["../../etc/ssl/certs/ca-certificates.crt"], ["a"] * 9):
        await error(admin, "setup", {"servers": [], "caCertificates": bad}, 2104)
    install_ca(device, certs)
    await ok(admin, "setup", {"servers": [PAGE_EXAMPLE[0]], "caCertificates": [CA_ID]})
    assert (await ok(admin, "status"))["caCertificates"] == [CA_ID]
    assert f"user=root set the CA certificates of remote syslog over TLS: {CA_ID}" in device.logs.text("audit")
    await ok(admin, "setup", {"servers": [PAGE_EXAMPLE[0]]})  # not given: unchanged
    assert syslog(device).ca_certificates == [CA_ID]


async def test_the_parameters_are_the_settings(admin: httpx.AsyncClient, device: Device) -> None:
    """param.cgi writes the same settings; as the API page says, changing a server's parameters
    alone turns remote logging off, and Enabled=true without a Server1 falls back to false."""
    r = await admin.get("/axis-cgi/param.cgi", params={
        "action": "update", "API.RemoteSyslog1.Server1.Address": "192.168.200.102",
        "API.RemoteSyslog1.Server1.Port": "514", "API.RemoteSyslog1.Server1.Protocol": "TCP",
        "API.RemoteSyslog1.Server1.Severity": "Notice", "API.RemoteSyslog1.Server1.SyslogFormat": "RFC3164",
        "API.RemoteSyslog1.Enabled": "true"})
    assert r.text.strip() == "OK"
    data = await ok(admin, "status")
    assert data["enabled"] is True and data["servers"] == [{
        "address": "192.168.200.102", "port": 514, "protocol": "TCP", "syslogFormat": "RFC3164",
        "severity": "Notice", "type": "All"}]
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update",
                                                       "API.RemoteSyslog1.Server1.Severity": "Error"})
    assert r.text.strip() == "OK"
    assert (await ok(admin, "status"))["enabled"] is False
    assert "remote syslog turned off: its server settings changed" in device.logs.text("system")
    await ok(admin, "setup", {"servers": []})
    await admin.get("/axis-cgi/param.cgi", params={"action": "update", "API.RemoteSyslog1.Enabled": "true"})
    assert (await ok(admin, "status"))["enabled"] is False
    assert "remote syslog cannot be turned on: no Server1.Address" in device.logs.text("system")
    r = await admin.get("/axis-cgi/param.cgi", params={"action": "update",
                                                       "API.RemoteSyslog1.Server1.Protocol": "SCTP"})
    assert r.text.startswith("# Error")


async def test_administrators_only(device: Device) -> None:
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            r = await c.post(PATH, json={"apiVersion": "1.0", "method": "status"})
            assert r.status_code == 403
        async with client_as(device, role) as c:
            r = await c.get("/axis-cgi/param.cgi", params={"action": "list", "group": "API.RemoteSyslog1"})
            assert r.text.startswith("# Error") and "root.API.RemoteSyslog1" not in r.text
