"""Malformed requests get the API's own error reply (status 200, never 500, never a
traceback) and leave the stored state as it was."""

from __future__ import annotations

import json

import pytest

from tests.conftest import ADMIN
from vigil.device import Device

PARAM = "/axis-cgi/param.cgi"


def snapshot(device: Device) -> tuple:
    device.logs.flush()
    return (
        sorted(device.store.query("SELECT name, value FROM params")),
        sorted(device.store.query("SELECT name, template FROM param_groups")),
        sorted(device.store.query("SELECT name, role, ptz, comment FROM accounts")),
        {n: device.params.get(n) for n in device.params.names()},
    )


def assert_clean_text(device: Device, body: str) -> None:
    """Every line is an error line or a real parameter: nothing injected, no traces."""
    assert "Traceback" not in body and "internal error" not in body.lower()
    for line in body.split("\r\n"):
        if not line:
            continue
        if line.startswith("#"):
            continue
        name, sep, _ = line.partition("=")
        assert sep and name.startswith("root.") and device.params.resolve(name), f"injected line {line!r}"


@pytest.fixture
async def before(device, admin):
    # A known state: one changed value, one stream profile.
    assert (await admin.get(PARAM, params={"action": "update", "Network.UPnP.FriendlyName": "known"})).text == "OK\r\n"
    r = await admin.get(PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                       "StreamProfile.S.Name": "known"})
    assert r.text == "S0 OK\r\n"
    return snapshot(device)


# -- param.cgi -----------------------------------------------------------------------
PARAM_QUERIES = [
    "",
    "action=",
    "action=dance",
    "action=LIST",
    "group=Brand",
    "action=list&group=Nope",
    "action=list&group=Brand..ProdNbr",
    "action=list&group=Brand.[a-z]",
    "action=list&group=%00",
    "action=list&group=Brand%0d%0aroot.Fake=1",
    "action=list&group=" + "A" * 5000,
    "action=list&group=%zz",
    "action=list&group=%",
    "action=list&group=%ff%fe",
    "action=list&usergroup=%ff",
    "action=update",
    "action=update&=x",
    "action=update&%ff=1",
    "action=update&Network.UPnP.FriendlyName=%ff",
    "action=update&Network.UPnP.FriendlyName=bad%0d%0aroot.Fake=1",
    "action=update&Network.UPnP.FriendlyName=%00",
    "action=update&Network.UPnP.FriendlyName=%1b[31m",
    "action=update&Network.UPnP.FriendlyName=" + "x" * 5000,
    "action=update&HTTPS.Port=" + "9" * 400,
    "action=update&HTTPS.Port=%d9%a3",  # Arabic-Indic digit three
    "action=update&HTTPS.Port=%ef%bc%98%ef%bc%90",  # full-width 80
    "action=update&HTTPS.Port=-0",
    "action=update&HTTPS.Port=1e3",
    "action=update&HTTPS.Port=+443",
    "action=update&HTTPS.Port=%20443",
    "action=update&HTTPS.Enabled=" + "y" * 300,
    "action=update&HTTPS.Enabled=y%c3%a9s",
    "action=update&HTTPS.Enabled=YES",
    "action=update&HTTPS.AllowAccessThrough=b%c3%b6th",
    "action=update&HTTPS.AllowAccessThrough=both%00",
    "action=update&Network.UPnP.FriendlyName=fine&HTTPS.Port=abc",
    "action=update&Network.IPAddress=1.2.3.4%0a",
    "action=update&Network.HostName=-bad-",
    "action=add",
    "action=add&template=streamprofile",
    "action=add&template=streamprofile&group=Brand",
    "action=add&template=%ff&group=StreamProfile",
    "action=add&template=streamprofile&group=StreamProfile&StreamProfile.S.Name=a%0d%0ab",
    "action=add&template=streamprofile&group=StreamProfile&StreamProfile.S0.Name=x",
    "action=add&template=streamprofile&group=StreamProfile&Brand.ProdNbr=x",
    "action=remove",
    "action=remove&group=",
    "action=remove&group=Brand",
    "action=remove&group=StreamProfile.S0%00",
    "action=remove&group=StreamProfile.S99",
    "action=listdefinitions&group=%ff",
    "action=list&action=update&Network.UPnP.FriendlyName=double",
]


async def test_param_cgi_malformed_queries(device, admin, before):
    for query in PARAM_QUERIES:
        r = await admin.get(f"{PARAM}?{query}")
        assert r.status_code == 200, (query, r.text)
        if "listdefinitions" not in query:
            assert_clean_text(device, r.text)
        if "action=list" not in query and "action=listdefinitions" not in query:
            assert r.text.startswith("#") or "\n# " in r.text, (query, r.text)
        assert snapshot(device) == before, query
    assert "Traceback" not in device.logs.text("system")


MALFORMED_BODIES = [
    b"action=update&Network.UPnP.FriendlyName=\xff\xfe",
    b"\xff\xfe\x00a\x00c\x00t",
    b"action=update&Network.UPnP.FriendlyName=%ff",
    b"action=update&Network.UPnP.FriendlyName=a\x00b",
    b"action=update&Network.UPnP.FriendlyName=a\r\nroot.Fake=1",
    b"action=update&" + b"a=1&" * 5000,
    b"\x00" * 1000,
]


async def test_param_cgi_malformed_bodies(device, admin, before):
    for body in MALFORMED_BODIES:
        r = await admin.post(PARAM, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
        assert r.status_code == 200, body[:40]
        assert_clean_text(device, r.text)
        assert r.text.startswith("# "), (body[:40], r.text)
        assert snapshot(device) == before, body[:40]


async def test_param_errors_never_echo_passwords_or_raw_lines(device, admin, before):
    secret = "Top$ecret-" + "x" * 250  # too long for the 255-character limit
    r = await admin.get(PARAM, params={"action": "update", "Network.Proxy.HTTPPassword": secret})
    assert r.text.startswith("# Error: Error setting 'root.Network.Proxy.HTTPPassword'")
    assert secret not in r.text
    device.logs.flush()
    for kind in ("system", "access", "audit"):
        assert "Top$ecret" not in device.logs.text(kind), kind
    r = await admin.get(PARAM, params={"action": "update", "Network.UPnP.FriendlyName": "a\r\nroot.Fake=1"})
    assert "\r\nroot.Fake" not in r.text and r.text.count("\r\n") == 1
    assert snapshot(device) == before


# -- JSON APIs -----------------------------------------------------------------------
JSON_APIS = {
    "/axis-cgi/apidiscovery.cgi": ("1.0", "getApiList"),
    "/axis-cgi/basicdeviceinfo.cgi": ("1.3", "getAllProperties"),
    "/axis-cgi/time.cgi": ("1.0", "getDateTimeInfo"),
}
# The codes below are the shared family (vigil.http.vapix.JsonErrors); an API whose VAPIX page
# gives it its own codes answers with those: generic code -> the API's.
OWN_CODES = {
    "/axis-cgi/time.cgi": {2002: 2000, 2003: 4001, 2004: 4000, 4000: 3000, 4002: 4004},
}


def code_of(path: str, generic: int) -> int:
    return OWN_CODES.get(path, {}).get(generic, generic)


MALFORMED_JSON = [
    (b"", 4000),
    (b"{", 4000),
    (b"not json", 4000),
    (b"[]", 4000),
    (b"3", 4000),
    (b"null", 4000),
    (b'"getApiList"', 4000),
    (b"\xff\xfe{}", 4000),
    (b"[" * 100_000, 4000),
    (b'{"a":' * 50_000 + b"1" + b"}" * 50_000, 4000),
    (b'{"apiVersion":"1.0","method":"getApiList","params":{}', 4000),
    (b"{}", 4002),
    (b'{"apiVersion":"1.0"}', 4002),
    (b'{"apiVersion":"1.0","method":5}', 4002),
    (b'{"apiVersion":"1.0","method":null}', 4002),
    (b'{"apiVersion":"1.0","method":["getApiList"]}', 4002),
    (b'{"method":"@M@"}', 4002),
    (b'{"apiVersion":1.0,"method":"@M@"}', 4002),
    (b'{"apiVersion":"@V@","method":"@M@","params":[]}', 4002),
    (b'{"apiVersion":"@V@","method":"@M@","params":"x"}', 4002),
    (b'{"apiVersion":"@V@","method":"@M@","context":5}', 4002),
    (b'{"apiVersion":"9.0","method":"@M@"}', 2003),
    (b'{"apiVersion":"0.1","method":"@M@"}', 2003),
    (b'{"apiVersion":"1.99","method":"@M@"}', 2003),
    (b'{"apiVersion":"abc","method":"@M@"}', 2003),
    (b'{"apiVersion":"1.0.0.0","method":"@M@"}', 2003),
    (b'{"apiVersion":"","method":"@M@"}', 2003),
    (b'{"apiVersion":"@V@","method":"noSuchMethod"}', 2004),
    (b'{"apiVersion":"@V@","method":""}', 2004),
    (b'{"apiVersion":"@V@","method":"getapilist"}', 2004),
]


@pytest.mark.parametrize("path", list(JSON_APIS))
async def test_json_apis_malformed(device, admin, path):
    version, method = JSON_APIS[path]
    state = snapshot(device)
    for raw, code in MALFORMED_JSON:
        raw = raw.replace(b"@V@", version.encode()).replace(b"@M@", method.encode())
        r = await admin.post(path, content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, raw[:60]
        assert r.headers["content-type"].startswith("application/json")
        body = r.json()
        assert isinstance(body.get("apiVersion"), str), body
        error = body.get("error")
        assert isinstance(error, dict) and "data" not in body, (raw[:60], body)
        assert error["code"] == code_of(path, code), (raw[:60], body)
        assert isinstance(error["message"], str) and error["message"]
        if code in (2003, 2004) or (code == 4002 and b"params" in raw):
            assert body.get("method") is not None, (raw[:60], body)  # the axis library indexes it
        if b'"context"' not in raw:
            assert "context" not in body
    # GET instead of POST
    r = await admin.get(path)
    assert r.status_code == 200 and r.json()["error"]["code"] == code_of(path, 2002)
    r = await admin.get(path, params={"method": method})
    assert r.json()["error"]["code"] == code_of(path, 2002)
    # The context is echoed in errors too.
    r = await admin.post(path, json={"apiVersion": version, "context": "ctx-1", "method": "nope"})
    assert r.json() == {"apiVersion": version, "context": "ctx-1", "method": "nope",
                        "error": {"code": code_of(path, 2004), "message": r.json()["error"]["message"]}}
    assert snapshot(device) == state
    assert "Traceback" not in device.logs.text("system")


METHOD_PARAMS = [
    ("/axis-cgi/apidiscovery.cgi", "getApiList", {"id": 5}, 4002),
    ("/axis-cgi/apidiscovery.cgi", "getApiList", {"id": None}, 4002),
    ("/axis-cgi/apidiscovery.cgi", "getApiList", {"version": ["1.0"]}, 4002),
    ("/axis-cgi/basicdeviceinfo.cgi", "getProperties", {}, 4002),
    ("/axis-cgi/basicdeviceinfo.cgi", "getProperties", {"propertyList": "ProdNbr"}, 4002),
    ("/axis-cgi/basicdeviceinfo.cgi", "getProperties", {"propertyList": [1, 2]}, 4002),
    ("/axis-cgi/basicdeviceinfo.cgi", "getProperties", {"propertyList": ["Nope"]}, 1000),
    ("/axis-cgi/time.cgi", "setDateTime", {}, 4003),  # Missing parameter(s); time.cgi's invalid is 4004
    ("/axis-cgi/time.cgi", "setDateTime", {"dateTime": 1700000000}, 4004),
    ("/axis-cgi/time.cgi", "setDateTime", {"dateTime": "yesterday"}, 4004),
    ("/axis-cgi/time.cgi", "setDateTime", {"dateTime": "2024-02-30T00:00:00Z"}, 4004),
    ("/axis-cgi/time.cgi", "setDateTime", {"dateTime": "2024-01-01T00:00:00\u0660Z"}, 4004),
    ("/axis-cgi/time.cgi", "setTimeZone", {"timeZone": ["Europe/Paris"]}, 4004),
    ("/axis-cgi/time.cgi", "setTimeZone", {"timeZone": "Mars/Olympus"}, 4004),
    ("/axis-cgi/time.cgi", "setTimeZone", {"timeZone": "../../etc/passwd"}, 4004),
    ("/axis-cgi/time.cgi", "setTimeZone", {"timeZone": "Europe/Paris\u0000"}, 4004),
    ("/axis-cgi/time.cgi", "setTimeZone", {"timeZone": "x" * 10_000}, 4004),
    ("/axis-cgi/time.cgi", "setPosixTimeZone", {"posixTimeZone": 5}, 4004),
    ("/axis-cgi/time.cgi", "setPosixTimeZone", {"posixTimeZone": "CET-1", "dstEnabled": "yes"}, 4004),
    ("/axis-cgi/time.cgi", "setPosixTimeZone", {"posixTimeZone": "\u00e9\u00e9\u00e9"}, 4004),
    ("/axis-cgi/time.cgi", "setPosixTimeZone", {"posixTimeZone": "CET-1\nX"}, 4004),
    ("/axis-cgi/time.cgi", "setPosixTimeZone", {"posixTimeZone": "A" * 100}, 4004),
]


async def test_json_method_params(device, admin, clock):
    state = snapshot(device)
    now = clock.time()
    for path, method, params, code in METHOD_PARAMS:
        version = JSON_APIS[path][0]
        r = await admin.post(path, content=json.dumps({"apiVersion": version, "context": "c", "method": method,
                                                       "params": params}))
        assert r.status_code == 200
        body = r.json()
        assert body["method"] == method and body["context"] == "c" and body["apiVersion"] == version
        assert body["error"]["code"] == code, (method, params, body)
        assert snapshot(device) == state, (method, params)
        assert clock.time() == now


async def test_session_endpoint_malformed(device, anon):
    for raw in (b"", b"{", b"[]", b'{"username": 1, "password": 2}', b'{"username": "root"}', b"\xff",
                b"[" * 100_000):
        r = await anon.post("/vigil/session", content=raw)
        assert r.status_code == 400, raw[:20]
        assert r.json()["error"]["code"] == 400


async def test_pwdgrp_malformed(device, admin):
    state = snapshot(device)
    for query in ("action=add&user=%ff&pwd=x&sgrp=viewer", "action=add&user=bob&pwd=%ff%fe&sgrp=viewer",
                  "action=%ff", "user=%zz", "action=add&user=bob&pwd=pass1234&sgrp=viewer%00",
                  "action=add&user=bob&pwd=pass1234&sgrp=admin::viewer:ptz:ptz:x"):
        r = await admin.get(f"/axis-cgi/pwdgrp.cgi?{query}")
        assert r.status_code == 200
        assert r.text.startswith("<html><body>Error: "), (query, r.text)
    r = await admin.post("/axis-cgi/pwdgrp.cgi", content=b"action=add&user=bob&pwd=\xff&sgrp=viewer")
    assert r.status_code == 200 and r.text.startswith("<html><body>Error: ")
    assert snapshot(device) == state
    assert device.accounts.get("bob") is None


async def test_logs_and_report_malformed(admin):
    r = await admin.get("/axis-cgi/systemlog.cgi", params={"text": "a'; DROP TABLE log; --"})
    assert r.status_code == 200 and r.text.startswith("Error:")
    r = await admin.get("/axis-cgi/systemlog.cgi?text=%ff")
    assert r.status_code == 200 and "Traceback" not in r.text
    r = await admin.get("/axis-cgi/serverreport.cgi", params={"mode": "exe"})
    assert r.status_code == 200 and "Error:" in r.text
    assert (await admin.get("/axis-cgi/systemlog.cgi")).status_code == 200


async def test_admin_fixture_sanity(admin):
    # The fixtures above rely on the admin client; make sure it really is the administrator.
    assert (await admin.get("/axis-cgi/usergroup.cgi")).text.startswith(ADMIN[0] + "\n")


async def test_a_literal_path_answers_its_methods_and_refuses_others(admin) -> None:
    # Literal paths are dispatched by one lookup (LiteralPaths): a known path with another
    # method is 405, a path no endpoint has is 404, as with Starlette's own matching.
    assert (await admin.post("/axis-cgi/basicdeviceinfo.cgi", json={"apiVersion": "1.3",
                                                                      "method": "getAllProperties"})).status_code == 200
    assert (await admin.delete("/axis-cgi/basicdeviceinfo.cgi")).status_code == 405
    assert (await admin.get("/axis-cgi/no-such.cgi")).status_code == 404
    assert (await admin.get("/index.html")).status_code == 200  # a path with a parameter still matches
