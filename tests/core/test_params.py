"""param.cgi end to end: list, listdefinitions, update, add, remove, aliases, elevation,
persistence across a rebuild and across `kill -9` of a live server, and password parameters
stored sealed (over a restart, a restore and a factory default)."""

from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time

import httpx
import pytest
from lxml import etree

from tests.conftest import ADMIN, client_as, create_admin_live, make_device, start_live
from vigil import boot
from vigil.boot import build_device, factory_reset
from vigil.core.params import ParamDef, ParamTemplate
from vigil.core.vault import SealError, Vault, is_sealed
from vigil.device import DB_FILE, KEY_FILE

PARAM = "/axis-cgi/param.cgi"
NS = {"p": "http://www.axis.com/ParameterDefinitionsSchema"}


def lines(body: str) -> list[str]:
    assert body.endswith("\r\n"), repr(body[-20:])
    return body[:-2].split("\r\n")


def as_dict(body: str) -> dict[str, str]:
    out = {}
    for line in lines(body):
        assert not line.startswith("#"), line
        key, _, value = line.partition("=")
        out[key] = value
    return out


async def listing(client: httpx.AsyncClient, group: str | None = None, path: str = PARAM) -> httpx.Response:
    args = {"action": "list"}
    if group is not None:
        args["group"] = group
    return await client.get(path, params=args)


# -- list ----------------------------------------------------------------------------
async def test_list_one_group_exact_format(admin, device):
    r = await listing(admin, "Brand")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert "\r\n" in r.text and "\n" not in r.text.replace("\r\n", "")
    got = as_dict(r.text)
    assert got["root.Brand.ProdNbr"] == "S3016"
    assert got["root.Brand.Brand"] == "Vigil"
    assert all(k.startswith("root.Brand.") for k in got)
    # The root. prefix is optional and case of the group does not matter.
    assert (await listing(admin, "root.Brand")).text == r.text
    assert (await listing(admin, "brand")).text == r.text


async def test_list_single_parameter_and_several_groups(admin):
    r = await listing(admin, "Brand.ProdNbr")
    assert lines(r.text) == ["root.Brand.ProdNbr=S3016"]
    r = await listing(admin, "root.Brand.ProdNbr,HTTPS,Network.Bonjour")
    got = as_dict(r.text)
    assert got["root.Brand.ProdNbr"] == "S3016"
    assert got["root.HTTPS.AllowAccessThrough"] == "both"
    assert got["root.Network.Bonjour.Enabled"] == "yes"
    assert not any(k.startswith("root.Brand.ProdType") for k in got)
    # Order of groups follows the request.
    keys = list(got)
    assert keys.index("root.Brand.ProdNbr") < keys.index("root.HTTPS.Enabled") < keys.index(
        "root.Network.Bonjour.Enabled")


async def test_list_wildcards(admin):
    got = as_dict((await listing(admin, "Network.*.Enabled")).text)
    assert set(got) >= {"root.Network.Bonjour.Enabled", "root.Network.UPnP.Enabled", "root.Network.SSH.Enabled",
                        "root.Network.FTP.Enabled", "root.Network.RTSP.Enabled"}
    assert "root.Network.Enabled" not in got  # `*` stands for exactly one level here
    assert all(k.startswith("root.Network.") and k.endswith(".Enabled") for k in got)
    got = as_dict((await listing(admin, "Brand.Prod*")).text)
    assert set(got) == {"root.Brand.ProdFullName", "root.Brand.ProdNbr", "root.Brand.ProdShortName",
                        "root.Brand.ProdType", "root.Brand.ProdVariant"}


async def test_list_wildcard_io_ports_on_w401(tmp_path, clock):
    device = make_device(tmp_path, clock, "w401")
    try:
        async with client_as(device, "admin") as c:
            got = as_dict((await listing(c, "IOPort.I*.Direction")).text)
            assert list(got) == [f"root.IOPort.I{i}.Direction" for i in range(9)]
            assert set(got.values()) <= {"input", "output"}
            assert got["root.IOPort.I8.Direction"] == "output"  # the relay
    finally:
        device.close()


async def test_full_listing_and_root(admin, device):
    full = await listing(admin)
    got = as_dict(full.text)
    for group in ("Brand", "Properties", "Network", "Time", "HTTPS", "System", "RemoteService", "StreamProfile"):
        assert any(k.startswith(f"root.{group}.") for k in got), group
    assert len(got) == len(device.params.names())
    assert (await listing(admin, "root")).text == full.text
    assert (await listing(admin, "*")).text == full.text
    # POST with a form body (the axis library says text/plain) gives the same answer.
    r = await admin.post(PARAM, content="action=list&group=root.Brand", headers={"Content-Type": "text/plain"})
    assert r.text == (await listing(admin, "Brand")).text


async def test_list_respects_read_roles(device):
    async with client_as(device, "viewer") as viewer, client_as(device, "operator") as operator:
        v = as_dict((await listing(viewer)).text)
        o = as_dict((await listing(operator)).text)
    assert "root.Brand.ProdNbr" in v and "root.Network.HostName" in v
    assert "root.Network.SubnetMask" not in v and "root.Network.SubnetMask" not in o
    assert "root.Time.TimeZone" not in v and "root.Time.TimeZone" in o
    async with client_as(device, "viewer") as viewer:
        r = await listing(viewer, "Network.SubnetMask")
    assert r.text == "# Error: Error -1 getting param in group 'Network.SubnetMask'\r\n"


async def test_list_errors(admin):
    r = await listing(admin, "NoSuchGroup")
    assert r.status_code == 200
    assert r.text == "# Error: Error -1 getting param in group 'NoSuchGroup'\r\n"
    # One bad group among good ones: the good ones still come back, with the error inline.
    out = lines((await listing(admin, "Brand.ProdNbr,Nope.Nothing,HTTPS.Enabled")).text)
    assert "root.Brand.ProdNbr=S3016" in out and "root.HTTPS.Enabled=yes" in out
    assert "# Error: Error -1 getting param in group 'Nope.Nothing'" in out


async def test_passwords_are_masked(admin, device):
    r = await admin.get(PARAM, params={"action": "update", "Network.Proxy.HTTPPassword": "s3cr3t-Pw"})
    assert r.text == "OK\r\n"
    assert device.params.get("Network.Proxy.HTTPPassword") == "s3cr3t-Pw"
    got = as_dict((await listing(admin, "Network.Proxy")).text)
    assert got["root.Network.Proxy.HTTPPassword"] == "******"
    full = (await listing(admin)).text
    assert "s3cr3t-Pw" not in full
    xml = (await admin.get(PARAM, params={"action": "listdefinitions", "listformat": "xmlschema"})).text
    assert "s3cr3t-Pw" not in xml


# -- listdefinitions -----------------------------------------------------------------
async def test_listdefinitions_is_valid_xml(admin):
    r = await admin.get(PARAM, params={"action": "listdefinitions", "listformat": "xmlschema"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/xml")
    root = etree.fromstring(r.content)
    assert root.tag == "{http://www.axis.com/ParameterDefinitionsSchema}parameterDefinitions"
    assert root.findtext("p:model", namespaces=NS) == "S3016"
    port = root.xpath("//p:group[@name='HTTPS']/p:parameter[@name='Port']", namespaces=NS)
    assert len(port) == 1 and port[0].get("value") == "443"
    intdef = port[0].find("p:type/p:int", NS)
    assert intdef.get("min") == "1" and intdef.get("max") == "65535"
    enabled = root.xpath("//p:group[@name='HTTPS']/p:parameter[@name='Enabled']/p:type/p:bool", namespaces=NS)
    assert enabled[0].get("true") == "yes" and enabled[0].get("false") == "no"
    policy = root.xpath("//p:group[@name='HTTPS']/p:parameter[@name='AllowAccessThrough']//p:entry/@value",
                        namespaces=NS)
    assert policy == ["http", "https", "both"]
    prod = root.xpath("//p:group[@name='Brand']/p:parameter[@name='ProdNbr']", namespaces=NS)[0]
    assert prod.find("p:type", NS).get("readonly") == "true"
    assert prod.get("securityLevel")[2] == "1"  # viewer may read
    # One group only.
    r = await admin.get(PARAM, params={"action": "listdefinitions", "listformat": "xmlschema", "group": "Brand"})
    root = etree.fromstring(r.content)
    assert [g.get("name") for g in root.findall("p:group", NS)] == ["Brand"]


# -- update --------------------------------------------------------------------------
async def test_update_single_and_several(admin, device):
    r = await admin.get(PARAM, params={"action": "update", "Network.Bonjour.FriendlyName": "Front door"})
    assert r.status_code == 200 and r.text == "OK\r\n"
    r = await admin.post(PARAM, data={"action": "update", "root.Network.UPnP.FriendlyName": "Back & door=2",
                                      "System.BruteForce.BlockingPeriod": "30"})
    assert r.text == "OK\r\n"
    got = as_dict((await listing(admin, "Network.Bonjour.FriendlyName,Network.UPnP.FriendlyName,"
                                        "System.BruteForce.BlockingPeriod")).text)
    assert got == {"root.Network.Bonjour.FriendlyName": "Front door",
                   "root.Network.UPnP.FriendlyName": "Back & door=2",
                   "root.System.BruteForce.BlockingPeriod": "30"}


async def test_update_is_atomic(admin, device):
    before = {n: device.params.get(n) for n in ("Network.Bonjour.FriendlyName", "HTTPS.Port")}
    r = await admin.get(PARAM, params={"action": "update", "Network.Bonjour.FriendlyName": "changed",
                                       "HTTPS.Port": "not-a-number"})
    assert r.status_code == 200
    assert r.text.startswith("# Error: Error setting 'root.HTTPS.Port' to 'not-a-number'!")
    assert {n: device.params.get(n) for n in before} == before
    stored = dict(device.store.query("SELECT name, value FROM params"))
    assert "Network.Bonjour.FriendlyName" not in stored


@pytest.mark.parametrize("pair, reason", [
    (("HTTPS.Port", "70000"), "maximum"),
    (("HTTPS.Enabled", "maybe"), "yes or no"),
    (("HTTPS.AllowAccessThrough", "ftp"), "one of"),
    (("Network.IPAddress", "300.1.1.1"), "IPv4"),
    (("Brand.ProdNbr", "X"), "not writable"),
    (("Nothing.Here", "1"), "no such parameter"),
])
async def test_update_refusals(admin, device, pair, reason):
    before = device.params.get(pair[0]) if pair[0] in device.params.defs else None
    r = await admin.get(PARAM, params={"action": "update", pair[0]: pair[1]})
    assert r.status_code == 200
    assert r.text.startswith(f"# Error: Error setting 'root.{pair[0]}' to '{pair[1]}'!"), r.text
    assert reason in r.text
    if before is not None:
        assert device.params.get(pair[0]) == before


async def test_update_roles(device):
    async with client_as(device, "viewer") as viewer:
        r = await viewer.get(PARAM, params={"action": "update", "Network.Bonjour.FriendlyName": "x"})
        assert r.status_code == 403
    async with client_as(device, "operator") as operator:
        r = await operator.get(PARAM, params={"action": "update", "Network.Bonjour.FriendlyName": "x"})
        assert r.status_code == 200 and "no such parameter" in r.text  # operators cannot even read it
        r = await operator.get(PARAM, params={"action": "update", "Time.TimeZone": "Europe/Paris"})
        assert r.status_code == 200 and "not writable" in r.text
        r = await operator.get(PARAM, params={"action": "add", "template": "streamprofile",
                                              "group": "StreamProfile", "StreamProfile.S.Name": "op"})
        assert r.text == "S0 OK\r\n"
        r = await operator.get(PARAM, params={"action": "update", "StreamProfile.S0.Description": "by operator"})
        assert r.text == "OK\r\n"
    assert device.params.get("Network.Bonjour.FriendlyName") != "x"
    assert device.params.get("Time.TimeZone") == "Etc/UTC"
    assert device.params.get("StreamProfile.S0.Description") == "by operator"


# -- add / remove --------------------------------------------------------------------
async def test_add_and_remove_stream_profiles(admin, device):
    r = await admin.get(PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                       "StreamProfile.S.Name": "x"})
    assert r.status_code == 200 and r.text == "S0 OK\r\n"
    r = await admin.post(PARAM, data={"action": "add", "template": "streamprofile", "group": "root.StreamProfile",
                                      "StreamProfile.S.Name": "second", "StreamProfile.S.Parameters": "camera=2"})
    assert r.text == "S1 OK\r\n"
    got = as_dict((await listing(admin, "StreamProfile")).text)
    assert got["root.StreamProfile.S0.Name"] == "x"
    assert got["root.StreamProfile.S0.Parameters"] == ""  # template default: the stream's own defaults
    assert got["root.StreamProfile.S1.Parameters"] == "camera=2"
    # Refusals create nothing (fps=5 would need the video encoded again: tests/rtsp/test_profiles.py).
    for bad in ({"StreamProfile.S.Name": "y" * 40}, {"StreamProfile.S.Bogus": "1"},
                {"StreamProfile.S.Name": "third", "StreamProfile.S.Parameters": "fps=5"}):
        r = await admin.get(PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                           **bad})
        assert r.text.startswith("# Request failed: "), r.text
    r = await admin.get(PARAM, params={"action": "add", "template": "nosuch", "group": "StreamProfile"})
    assert r.text.startswith("# Request failed: ")
    assert "root.StreamProfile.S2.Name" not in as_dict((await listing(admin, "StreamProfile")).text)
    # Remove one; the other stays and the index is reused.
    assert (await admin.get(PARAM, params={"action": "remove", "group": "StreamProfile.S0"})).text == "OK\r\n"
    got = as_dict((await listing(admin, "StreamProfile")).text)
    assert "root.StreamProfile.S0.Name" not in got and got["root.StreamProfile.S1.Name"] == "second"
    r = await admin.get(PARAM, params={"action": "remove", "group": "StreamProfile.S0"})
    assert r.text.startswith("# Request failed: ")
    r = await admin.get(PARAM, params={"action": "remove", "group": "Brand"})
    assert r.text.startswith("# Request failed: ")
    r = await admin.get(PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                       "StreamProfile.S.Name": "again"})
    assert r.text == "S0 OK\r\n"
    # Several groups at once; one missing removes nothing.
    r = await admin.get(PARAM, params={"action": "remove", "group": "StreamProfile.S0,StreamProfile.S9"})
    assert r.text.startswith("# Request failed: ")
    assert "StreamProfile.S0.Name" in device.params.defs
    r = await admin.get(PARAM, params={"action": "remove", "group": "StreamProfile.S0,StreamProfile.S1"})
    assert r.text == "OK\r\n"
    assert not [n for n in device.params.defs if n.startswith("StreamProfile.S")]
    assert device.store.query("SELECT count(*) FROM params WHERE name LIKE 'StreamProfile.S%'")[0][0] == 0


async def add_profile(client: httpx.AsyncClient, name: str, force: bool = False) -> str:
    args = {"action": "add", "template": "streamprofile", "group": "StreamProfile", "StreamProfile.S.Name": name}
    if force:
        args["force"] = "yes"
    return (await client.get(PARAM, params=args)).text


async def test_group_limit_force_needs_an_admin_and_has_a_ceiling(device):
    template = device.params.templates["streamprofile"]
    assert (template.max_groups, template.hard_limit) == (26, 64)
    async with client_as(device, "operator") as operator, client_as(device, "admin") as admin:
        for n in range(26):
            assert await add_profile(operator, f"p{n}") == f"S{n} OK\r\n"
        refused = await add_profile(operator, "over")
        assert refused == ("# Request failed: Maximum number of groups (26) reached; an administrator may add "
                           "up to 64 with force=yes\r\n")
        refused = await add_profile(operator, "over", force=True)
        assert refused.startswith("# Request failed: Maximum number of groups (26) reached; going beyond it "
                                  "with force=yes needs an account with the admin role"), refused
        for n in range(26, 64):
            assert await add_profile(admin, f"p{n}", force=True) == f"S{n} OK\r\n"
        refused = await add_profile(admin, "over", force=True)
        assert refused == ("# Request failed: Maximum number of groups reached: StreamProfile holds at most 64 "
                           "groups, even with force=yes\r\n")
    assert device.store.query("SELECT count(*) FROM param_groups")[0][0] == 64
    assert "StreamProfile.S64.Name" not in device.params.defs
    assert "param.cgi add refused for root: Maximum number of groups reached" in device.logs.text("system")


def test_a_template_ceiling_is_at_least_its_maximum():
    with pytest.raises(ValueError):
        ParamTemplate("t", "T", "T", (ParamDef("Name"),), max_groups=10, hard_limit=5)


# -- aliases and elevation -----------------------------------------------------------
async def test_aliases(device):
    async with client_as(device, "admin") as admin:
        for path in ("/axis-cgi/admin/param.cgi", "/axis-cgi/operator/param.cgi", "/axis-cgi/view/param.cgi"):
            r = await listing(admin, "Brand.ProdNbr", path)
            assert r.text == "root.Brand.ProdNbr=S3016\r\n", path
        r = await admin.get("/axis-cgi/admin/param.cgi",
                            params={"action": "update", "Network.UPnP.FriendlyName": "via alias"})
        assert r.text == "OK\r\n"
    async with client_as(device, "operator") as operator:
        assert (await listing(operator, "Brand", "/axis-cgi/admin/param.cgi")).status_code == 403
        assert (await listing(operator, "Brand", "/axis-cgi/operator/param.cgi")).status_code == 200
    async with client_as(device, "viewer") as viewer:
        assert (await listing(viewer, "Brand", "/axis-cgi/operator/param.cgi")).status_code == 403
        assert (await listing(viewer, "Brand", "/axis-cgi/view/param.cgi")).status_code == 200


async def test_usergroup_elevation(device, anon):
    async with client_as(device, "viewer") as viewer:
        r = await viewer.get(PARAM, params={"action": "list", "group": "Brand", "usergroup": "admin"})
        assert r.status_code == 401  # asks for other credentials
        assert any(v.startswith("Digest ") for v in r.headers.get_list("www-authenticate"))
        r = await viewer.get(PARAM, params={"action": "list", "group": "Brand", "usergroup": "viewer"})
        assert r.status_code == 200
    async with client_as(device, "admin") as admin:
        r = await admin.get(PARAM, params={"action": "list", "group": "Network.SubnetMask", "usergroup": "admin"})
        assert r.text == "root.Network.SubnetMask=255.255.255.0\r\n"
        r = await admin.get(PARAM, params={"action": "list", "group": "Brand", "usergroup": "wizard"})
        assert r.text.startswith("# Error:")
        assert (await admin.get(PARAM, params={"action": "update", "System.BoaProtViewer": "anonymous"})).text == "OK\r\n"
    # Anonymous viewing lets anonymous clients list, but usergroup= forces a login.
    assert (await anon.get(PARAM, params={"action": "list", "group": "Brand.ProdNbr"})).status_code == 200
    r = await anon.get(PARAM, params={"action": "list", "group": "Brand.ProdNbr", "usergroup": "viewer"})
    assert r.status_code == 401


# -- persistence ---------------------------------------------------------------------
async def test_values_persist_across_rebuild(tmp_path, clock):
    device = make_device(tmp_path, clock)
    async with client_as(device, "admin") as c:
        assert (await c.get(PARAM, params={"action": "update", "Network.Bonjour.FriendlyName": "kept",
                                           "Network.Proxy.HTTPPassword": "hidden"})).text == "OK\r\n"
        assert (await c.get(PARAM, params={"action": "add", "template": "streamprofile",
                                           "group": "StreamProfile", "StreamProfile.S.Name": "p"})).text == "S0 OK\r\n"
    device.close()
    again = make_device(tmp_path, clock)
    try:
        assert again.params.get("Network.Bonjour.FriendlyName") == "kept"
        assert again.params.get("Network.Proxy.HTTPPassword") == "hidden"
        assert again.params.get("StreamProfile.S0.Name") == "p"
        async with client_as(again, "admin") as c:
            got = as_dict((await listing(c, "StreamProfile.S0.Name")).text)
            assert got == {"root.StreamProfile.S0.Name": "p"}
    finally:
        again.close()


def test_kill_9_during_a_burst_of_updates(tmp_path):
    """Every acknowledged update survives; a multi-pair update is all or nothing; the db opens."""
    data = tmp_path / "data"
    server = start_live(data)
    acknowledged = [-1]
    stop = threading.Event()
    errors: list[str] = []

    def burst() -> None:
        auth = httpx.BasicAuth(*ADMIN)
        with httpx.Client(base_url=server.http, auth=auth, timeout=5) as c:
            n = 0
            while not stop.is_set():
                value = f"v{n}"
                try:
                    r = c.post(PARAM, data={"action": "update", "Network.Bonjour.FriendlyName": value,
                                            "Network.UPnP.FriendlyName": value})
                except httpx.TransportError:
                    return
                if r.text != "OK\r\n":
                    errors.append(r.text)
                    return
                acknowledged[0] = n
                n += 1

    try:
        create_admin_live(server)
        workers = [threading.Thread(target=burst)]
        workers[0].start()
        deadline = time.monotonic() + 10
        while acknowledged[0] < 15 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.process.send_signal(signal.SIGKILL)
        server.process.wait(5)
        stop.set()
        workers[0].join(5)
    finally:
        server.stop()
    assert not errors, errors
    assert acknowledged[0] >= 15, "the burst did not get going"
    # The database opens and is intact, and holds a consistent state.
    db = sqlite3.connect(data / DB_FILE)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    again = build_device("s3016", data)
    try:
        bonjour = again.params.get("Network.Bonjour.FriendlyName")
        upnp = again.params.get("Network.UPnP.FriendlyName")
        assert bonjour == upnp, "a multi-pair update was half applied"
        assert int(bonjour[1:]) >= acknowledged[0], "an acknowledged update was lost"
        assert again.accounts.get(ADMIN[0]) is not None
    finally:
        again.close()


# -- password parameters at rest -------------------------------------------------------
# The passwords a restore keeps (the manual), and every password parameter.
KEPT_SECRETS = {"Network.Interface.I0.dot1x.EAPTLS.PrivateKeyPassword":
                "Dot1x-s3cret", "Network.Interface.I0.dot1x.PEAP.Password": "Peap-s3cret",
                "Network.Interface.I0.dot1x.MACsec.CAK": "0123456789abcdef0123456789abcdef"}
SECRET_PARAMS = KEPT_SECRETS | {"SNMP.InitialUserPasswd": "Snmp-v3-s3cret", "Network.Proxy.HTTPPassword": "Http-s3cret",
                                "Network.Proxy.HTTPSPassword": "Https-s3cret"}


def stored_rows(data) -> dict[str, str]:
    db = sqlite3.connect(f"file:{data / DB_FILE}?mode=ro", uri=True)
    try:
        return dict(db.execute("SELECT name, value FROM params"))
    finally:
        db.close()


def key_of(data) -> Vault:
    return Vault((data / KEY_FILE).read_bytes())


async def test_password_parameters_are_stored_sealed(tmp_path, clock):
    device = make_device(tmp_path, clock)
    assert {n for n, d in device.params.defs.items() if d.kind == "password"} == set(SECRET_PARAMS)
    async with client_as(device, "admin") as c:
        assert (await c.get(PARAM, params={"action": "update", **SECRET_PARAMS})).text == "OK\r\n"
        listed = as_dict((await listing(c, "RemoteService,Network.Interface.I0.dot1x,SNMP,Network.Proxy")).text)
    device.close()
    assert all(listed[f"root.{name}"] == "******" for name in SECRET_PARAMS)  # as before: never in clear
    data = tmp_path / "data"
    rows = stored_rows(data)
    for name, secret in SECRET_PARAMS.items():
        assert rows[name] != secret and is_sealed(rows[name]) and secret not in rows[name]
        assert key_of(data).unseal(rows[name]) == secret
    again = make_device(tmp_path, clock)  # a restart reads them
    try:
        assert {n: again.params.get(n) for n in SECRET_PARAMS} == SECRET_PARAMS
        again.params.set_internal({"Network.Proxy.HTTPPassword": ""})  # emptied: nothing to seal
    finally:
        again.close()
    assert stored_rows(data)["Network.Proxy.HTTPPassword"] == ""


def test_a_password_stored_in_clear_is_sealed_at_start(tmp_path, clock):
    make_device(tmp_path, clock).close()
    data = tmp_path / "data"
    db = sqlite3.connect(data / DB_FILE)  # as a version that did not seal them left it
    with db:
        db.executemany("INSERT INTO params(name, value) VALUES(?, ?)", SECRET_PARAMS.items())
    db.close()
    device = make_device(tmp_path, clock)
    try:
        assert {n: device.params.get(n) for n in SECRET_PARAMS} == SECRET_PARAMS
    finally:
        device.close()
    rows = stored_rows(data)
    assert {n: key_of(data).unseal(rows[n]) for n in SECRET_PARAMS} == SECRET_PARAMS


def test_a_password_the_device_key_cannot_open_is_set_again(tmp_path, clock):
    device = make_device(tmp_path, clock)
    device.params.set_internal(SECRET_PARAMS)
    device.close()
    (tmp_path / "data" / KEY_FILE).write_bytes(os.urandom(32))  # the key was replaced
    device = make_device(tmp_path, clock)
    try:
        assert {n: device.params.get(n) for n in SECRET_PARAMS} == dict.fromkeys(SECRET_PARAMS, "")
        device.logs.flush()
        assert "root.Network.Proxy.HTTPPassword cannot be decrypted (the device key changed)" in device.logs.text("system")
    finally:
        device.close()
    assert not set(SECRET_PARAMS) & set(stored_rows(tmp_path / "data"))


def test_a_restore_keeps_password_parameters_sealed_under_the_new_key(tmp_path, clock):
    """A restore keeps the 802.1X settings (the manual) but makes a new device key: the
    kept passwords are sealed again under it, never written in clear; a factory default drops them."""
    data = tmp_path / "data"
    device = make_device(tmp_path, clock)
    device.params.set_internal(SECRET_PARAMS | {"Network.Bonjour.FriendlyName": "not kept"})
    device.close()
    old_key = key_of(data)
    factory_reset(data, hard=False)
    rows = stored_rows(data)
    assert "Network.Bonjour.FriendlyName" not in rows and "SNMP.InitialUserPasswd" not in rows
    assert "Network.Proxy.HTTPPassword" not in rows  # the global proxies are not kept (the manual's list)
    for name, secret in KEPT_SECRETS.items():
        assert is_sealed(rows[name]) and secret not in rows[name]
        assert key_of(data).unseal(rows[name]) == secret
        with pytest.raises(SealError):
            old_key.unseal(rows[name])
    assert sorted(p.name for p in data.iterdir() if "before-reset" in p.name) == []
    device = make_device(tmp_path, clock)
    try:
        assert {n: device.params.get(n) for n in KEPT_SECRETS} == KEPT_SECRETS
    finally:
        device.close()
    factory_reset(data, hard=True)
    assert not set(KEPT_SECRETS) & set(stored_rows(data))


def test_a_restore_cut_off_after_the_key_went_keeps_the_passwords(tmp_path, clock, monkeypatch):
    data = tmp_path / "data"
    device = make_device(tmp_path, clock)
    device.params.set_internal(KEPT_SECRETS)
    device.close()
    (data / "config-x").mkdir()

    def power_cut(path) -> None:
        raise OSError("power cut")
    monkeypatch.setattr(boot.shutil, "rmtree", power_cut)
    with pytest.raises(OSError, match="power cut"):
        factory_reset(data, hard=False)  # the database moved aside, the device key gone
    assert not (data / KEY_FILE).exists()
    monkeypatch.undo()
    factory_reset(data, hard=False)  # run again, as the next start does
    device = make_device(tmp_path, clock)
    try:
        assert {n: device.params.get(n) for n in KEPT_SECRETS} == KEPT_SECRETS
    finally:
        device.close()
