"""System, access and audit logs through their CGIs, and the server report in every mode."""

from __future__ import annotations

import io
import re
import tarfile
import zipfile

import httpx

import vigil.core.logs as logs_module
from tests.conftest import ADMIN, asgi_client, client_as

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00 vigil-[0-9a-f]{12} \[ [A-Z]+ *\] \S+: .+$")
SECRETS = ("Acc0unt-Secret", "Pr0xy-Secret", "Dot1x-Secret", "Wr0ng-Secret", "T00long-Secret")


async def test_system_log_text_and_filter(device, admin):
    r = await admin.get("/axis-cgi/systemlog.cgi")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    lines = r.text.splitlines()
    assert lines and all(LINE.match(line) for line in lines), lines[:3]
    assert lines[0].startswith("2023-11-14T22:13:20.000+00:00 ")
    assert f"Vigil S3016 Recorder started, serial {device.identity.serial}" in r.text
    device.logs.system("disk HDD2 replaced", "warning", "storage")
    device.logs.system("fan speed normal")
    r = await admin.get("/axis-cgi/systemlog.cgi", params={"text": "hdd2"})
    assert r.text.splitlines() == [
        f"2023-11-14T22:13:20.000+00:00 vigil-{device.identity.serial.lower()} [ WARNING ] storage: disk HDD2 replaced"]
    r = await admin.get("/axis-cgi/systemlog.cgi", params={"text": "no such words"})
    assert r.text == ""
    r = await admin.get("/axis-cgi/systemlog.cgi", params={"text": "fan%"})
    assert r.text.startswith("Error:")


async def test_access_log_records_failures(device, anon):
    from tests.conftest import add_account

    add_account(device, *ADMIN, "admin", ptz=True)
    async with asgi_client(device, httpx.BasicAuth("root", "nope")) as wrong:
        assert (await wrong.get("/axis-cgi/usergroup.cgi")).status_code == 401
    async with client_as(device, "viewer") as viewer:
        assert (await viewer.get("/axis-cgi/systemlog.cgi")).status_code == 403
    async with client_as(device, "admin") as admin:
        text = (await admin.get("/axis-cgi/accesslog.cgi")).text
        assert (await admin.get("/axis-cgi/accesslog.cgi", params={"text": "refused"})).text.count("\n") == 1
    assert "authentication failed for root from 127.0.0.1 on /axis-cgi/usergroup.cgi" in text
    assert "viewer1 from 127.0.0.1 refused /axis-cgi/systemlog.cgi: needs admin" in text
    assert all(LINE.match(line) for line in text.splitlines())


async def test_logs_need_an_administrator(device):
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            for kind in ("system", "access", "audit"):
                assert (await c.get(f"/axis-cgi/{kind}log.cgi")).status_code == 403
            assert (await c.get("/axis-cgi/serverreport.cgi")).status_code == 403


async def test_audit_log_has_every_change(device, admin):
    await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Network.UPnP.FriendlyName": "Lobby",
                                                   "Network.Proxy.HTTPPassword": "Pr0xy-Secret"})
    await admin.get("/axis-cgi/param.cgi", params={"action": "add", "template": "streamprofile",
                                                   "group": "StreamProfile", "StreamProfile.S.Name": "hd"})
    await admin.get("/axis-cgi/param.cgi", params={"action": "remove", "group": "StreamProfile.S0"})
    await admin.post("/axis-cgi/pwdgrp.cgi", data={"action": "add", "user": "ann", "pwd": "Acc0unt-Secret",
                                                   "grp": "users", "sgrp": "viewer"})
    await admin.post("/axis-cgi/pwdgrp.cgi", data={"action": "update", "user": "ann", "sgrp": "operator:viewer"})
    await admin.post("/axis-cgi/pwdgrp.cgi", data={"action": "remove", "user": "ann"})
    await admin.post("/axis-cgi/time.cgi", json={"apiVersion": "1.0", "method": "setTimeZone",
                                                 "params": {"timeZone": "Europe/Oslo"}})
    # A refused update is not a change.
    await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Network.UPnP.FriendlyName": "x",
                                                   "HTTPS.Port": "bad"})
    text = (await admin.get("/axis-cgi/auditlog.cgi")).text
    lines = text.splitlines()
    assert all(LINE.match(line) for line in lines)
    for expected in ("user=root set root.Network.UPnP.FriendlyName=Lobby",
                     "user=root set root.Network.Proxy.HTTPPassword=******",
                     "user=root set root.StreamProfile.S0.Name=hd",
                     "user=root added account ann role=viewer",
                     "user=root updated account ann role=operator",
                     "user=root removed account ann",
                     "user=root set root.Time.TimeZone=Europe/Oslo",
                     "user=root authenticated with digest from 127.0.0.1"):
        assert any(expected in line for line in lines), expected
    assert "FriendlyName=x" not in text
    assert "Pr0xy-Secret" not in text and "Acc0unt-Secret" not in text
    filtered = (await admin.get("/axis-cgi/auditlog.cgi", params={"text": "account ann"})).text
    assert len(filtered.splitlines()) == 3


async def test_logs_are_kept_and_trimmed(device, admin, monkeypatch):
    monkeypatch.setattr(logs_module, "MAX_ROWS", 5)
    for i in range(20):
        device.logs.system(f"entry {i}")
    device.logs.flush()
    text = (await admin.get("/axis-cgi/systemlog.cgi")).text
    assert "entry 19" in text and "entry 5" not in text
    assert len(text.splitlines()) <= 6


async def _leave_secrets(device, admin) -> None:
    await admin.post("/axis-cgi/pwdgrp.cgi", data={"action": "add", "user": "ann", "pwd": SECRETS[0],
                                                   "grp": "users", "sgrp": "viewer"})
    await admin.get("/axis-cgi/param.cgi", params={"action": "update", "Network.Proxy.HTTPPassword": SECRETS[1],
                                                   "Network.Interface.I0.dot1x.EAPTLS.PrivateKeyPassword": SECRETS[2]})
    async with asgi_client(device, httpx.BasicAuth("root", SECRETS[3])) as wrong:
        await wrong.get("/axis-cgi/usergroup.cgi")
    await admin.get("/axis-cgi/param.cgi", params={"action": "update",
                                                   "Network.Proxy.HTTPPassword": SECRETS[4] + "x" * 255})
    await admin.post("/vigil/session", json={"username": "root", "password": SECRETS[3]})


def _assert_no_secrets(blob: str) -> None:
    for secret in SECRETS:
        assert secret not in blob, secret


async def test_server_report_text(device, admin):
    await _leave_secrets(device, admin)
    r = await admin.get("/axis-cgi/serverreport.cgi")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert text.startswith("----- Server report: Vigil S3016 Recorder -----")
    assert f"SerialNumber: {device.identity.serial}" in text
    assert "root.Brand.ProdNbr=S3016" in text
    assert "root.Network.Proxy.HTTPPassword=******" in text
    assert "----- System log -----" in text and "started, serial" in text
    assert "----- Access log -----" in text and "authentication failed" in text
    _assert_no_secrets(text)
    assert text == (await admin.get("/axis-cgi/serverreport.cgi", params={"mode": "text"})).text


async def test_server_report_zip_and_tar(device, admin):
    await _leave_secrets(device, admin)
    serial = device.identity.serial
    for mode in ("zip", "zip_with_image"):
        r = await admin.get("/axis-cgi/serverreport.cgi", params={"mode": mode})
        assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
        assert f"serverreport_{serial}.zip" in r.headers["content-disposition"]
        with zipfile.ZipFile(io.BytesIO(r.content)) as archive:
            assert archive.testzip() is None
            names = archive.namelist()
            assert f"serverreport_{serial}.txt" in names
            assert {"system.log", "access.log", "audit.log"} <= set(names)
            report = archive.read(f"serverreport_{serial}.txt").decode()
            assert "root.Brand.ProdNbr=S3016" in report
            for name in names:
                _assert_no_secrets(archive.read(name).decode())
            assert "added account ann" in archive.read("audit.log").decode()
    r = await admin.post("/axis-cgi/serverreport.cgi", data={"mode": "tar_all"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/x-tar"
    with tarfile.open(fileobj=io.BytesIO(r.content)) as archive:
        assert sorted(archive.getnames()) == ["access.log", "audit.log", "system.log"]
        for member in archive.getmembers():
            body = archive.extractfile(member).read().decode()
            _assert_no_secrets(body)
            assert body.strip(), member.name


def test_subscribers_see_each_entry_as_it_is_added(device):
    seen = []
    device.logs.subscribe(seen.append)
    device.logs.system("first", "warning", "storage")
    device.logs.audit("root", "set root.X=1", "params")
    device.logs.access("refused")
    assert [(e.kind, e.severity, e.source, e.message) for e in seen] == [
        ("system", "warning", "storage", "first"), ("audit", "notice", "params", "user=root set root.X=1"),
        ("access", "warning", "http", "refused")]
    assert [e.actor for e in seen] == ["", "root", ""]
    assert seen[0] == device.logs.entries("system")[-1]  # the same entry the log keeps
