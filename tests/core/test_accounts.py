"""Accounts through pwdgrp.cgi and usergroup.cgi: the first-administrator flow, roles,
limits and the password and name rules."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import ADMIN, asgi_client, client_as
from vigil.core.accounts import MAX_ACCOUNTS
from vigil.core.roles import Role

PWDGRP = "/axis-cgi/pwdgrp.cgi"
FULL = "admin:operator:viewer:ptz"


def html_body(text: str) -> str:
    return f"<html><body>{text}</body></html>\n"


async def add(client: httpx.AsyncClient, user: str, pwd: str, sgrp: str = "viewer", **extra: str) -> httpx.Response:
    return await client.post(PWDGRP, data={"action": "add", "user": user, "pwd": pwd, "grp": "users",
                                           "sgrp": sgrp, **extra})


def groups(body: str) -> dict[str, list[str]]:
    out = {}
    for line in body.strip().split("\n"):
        key, _, value = line.partition("=")
        assert value.startswith('"') and value.endswith('"'), line
        out[key] = [v for v in value[1:-1].split(",") if v]
    return out


async def test_no_default_account_and_first_admin_flow(device, anon):
    assert device.accounts.all() == []
    session = (await anon.get("/vigil/session")).json()
    assert session["setupRequired"] is True and session["user"] is None
    for action in ("get", "update", "remove"):
        r = await anon.post(PWDGRP, data={"action": action, "user": "root"})
        assert r.status_code == 401
        assert "Error: initial admin user must be created first." in r.text
    for sgrp in ("viewer", "operator:viewer", "operator:viewer:ptz", "bogus", "ptz"):
        r = await add(anon, "root", "pass1234", sgrp)
        assert r.status_code == 401, sgrp
        assert "Error: not a valid initial admin user." in r.text
    assert device.accounts.all() == []
    # Bad names and passwords are refused with their own texts even now.
    assert (await add(anon, "bad name", "pass1234", FULL)).text == html_body("Error: account user name.")
    assert (await add(anon, "boss", "", FULL)).text == html_body("Error: consult the system log file.")
    assert device.accounts.all() == []
    r = await add(anon, "boss", "pass1234", FULL)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert r.text == html_body("Created account boss.")
    account = device.accounts.get("boss")
    assert account is not None and account.role == Role.ADMIN and account.ptz
    # From now on the CGI needs an administrator.
    r = await add(anon, "intruder", "pass1234", FULL)
    assert r.status_code == 401 and any(h.startswith("Digest ")
                                        for h in r.headers.get_list("www-authenticate"))
    assert (await anon.post(PWDGRP, data={"action": "get"})).status_code == 401
    assert device.accounts.get("intruder") is None
    assert (await anon.get("/vigil/session")).json()["setupRequired"] is False
    async with asgi_client(device, httpx.DigestAuth("boss", "pass1234")) as boss:
        r = await boss.post(PWDGRP, data={"action": "get"})
        assert r.status_code == 200 and groups(r.text)["admin"] == ["boss"]


async def test_first_admin_may_be_root_without_ptz(device, anon):
    r = await add(anon, "root", "pass1234", "admin:operator:viewer", grp="root")
    assert r.text == html_body("Created account root.")
    assert device.accounts.get("root").role == Role.ADMIN


async def test_get_update_remove(device, admin):
    assert (await add(admin, "joe", "joe12345", "admin:operator:viewer", comment="second admin")).status_code == 200
    assert (await add(admin, "ellen", "ellen123", "operator:viewer:ptz")).text == html_body("Created account ellen.")
    assert (await add(admin, "frank", "frank123", "viewer")).text == html_body("Created account frank.")
    r = await admin.get(PWDGRP, params={"action": "get"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    assert r.text == ('admin="root,joe"\noperator="root,joe,ellen"\nviewer="root,joe,ellen,frank"\n'
                      'ptz="root,ellen"\ndigusers="root,joe,ellen,frank"\n')
    # update: role, ptz, password, comment
    r = await admin.post(PWDGRP, data={"action": "update", "user": "frank", "sgrp": "operator:viewer:ptz"})
    assert r.text == html_body("Modified account frank.")
    assert device.accounts.get("frank").role == Role.OPERATOR and device.accounts.get("frank").ptz
    r = await admin.post(PWDGRP, data={"action": "update", "user": "frank", "pwd": "newpass1", "comment": "hi"})
    assert r.text == html_body("Modified account frank.")
    assert device.accounts.verify("frank", "newpass1") and not device.accounts.verify("frank", "frank123")
    assert device.accounts.get("frank").comment == "hi"
    async with asgi_client(device, httpx.DigestAuth("frank", "frank123")) as old:
        assert (await old.get("/axis-cgi/usergroup.cgi")).status_code == 401
    async with asgi_client(device, httpx.DigestAuth("frank", "newpass1")) as new:
        assert (await new.get("/axis-cgi/usergroup.cgi")).text == "frank\noperator viewer ptz\n"
    # remove
    assert (await admin.post(PWDGRP, data={"action": "remove", "user": "frank"})).text == html_body(
        "Removed account frank.")
    assert device.accounts.get("frank") is None
    r = await admin.post(PWDGRP, data={"action": "remove", "user": "frank"})
    assert r.text == html_body("Error: malformed action operation, remove.")
    r = await admin.post(PWDGRP, data={"action": "update", "user": "nobody", "pwd": "x1234567"})
    assert r.text == html_body("Error: malformed action operation, update.")
    r = await add(admin, "ellen", "again123")
    assert r.text == html_body("Error: malformed action operation, add.")
    assert device.accounts.verify("ellen", "ellen123")
    # The state survives a reload from the database.
    device.accounts.reload()
    assert [a.name for a in device.accounts.all()] == ["root", "joe", "ellen"]


async def test_cgi_errors(admin):
    assert (await admin.post(PWDGRP, data={})).text == html_body("Error: action operation type.")
    assert (await admin.post(PWDGRP, data={"action": "dance"})).text == html_body("Error: action operation type.")
    assert (await admin.post(PWDGRP, data={"action": "remove"})).text == html_body("Error: account user name.")
    r = await admin.post(PWDGRP, data={"action": "add", "user": "x", "pwd": "pass1234"})  # no sgrp
    assert r.text == html_body("Error: consult the system log file.")
    r = await add(admin, "x", "pass1234", "wizard")
    assert r.text == html_body("Error: consult the system log file.")
    r = await admin.get("/axis-cgi/systemlog.cgi")
    assert "pwdgrp.cgi" in r.text


async def test_root_and_last_admin_are_protected(device, admin):
    assert (await add(admin, "joe", "joe12345", FULL)).status_code == 200
    r = await admin.post(PWDGRP, data={"action": "remove", "user": "root"})
    assert r.text == html_body("Error: consult the system log file.")
    assert device.accounts.get("root") is not None
    async with asgi_client(device, httpx.DigestAuth("joe", "joe12345")) as joe:
        # joe may demote root; then joe is the last administrator.
        r = await joe.post(PWDGRP, data={"action": "update", "user": "root", "sgrp": "viewer"})
        assert r.text == html_body("Modified account root.")
        for data in ({"action": "remove", "user": "joe"},
                     {"action": "update", "user": "joe", "sgrp": "operator:viewer"},
                     {"action": "update", "user": "joe", "sgrp": "viewer:ptz"}):
            r = await joe.post(PWDGRP, data=data)
            assert r.text == html_body("Error: consult the system log file."), data
        assert device.accounts.get("joe").role == Role.ADMIN
        # The root account stays even when it is no longer the administrator.
        assert (await joe.post(PWDGRP, data={"action": "remove", "user": "root"})).text == html_body(
            "Error: consult the system log file.")
        assert device.accounts.get("root") is not None


async def test_account_limit(device, admin):
    for i in range(MAX_ACCOUNTS - 1):
        device.accounts.add(f"user{i}", "pass1234", Role.VIEWER, False, "", "test")
    assert len(device.accounts.all()) == MAX_ACCOUNTS
    r = await add(admin, "onemore", "pass1234")
    assert r.text == html_body("Error: consult the system log file.")
    assert device.accounts.get("onemore") is None
    assert (await admin.post(PWDGRP, data={"action": "remove", "user": "user0"})).status_code == 200
    assert (await add(admin, "onemore", "pass1234")).text == html_body("Created account onemore.")


@pytest.mark.parametrize("pwd, ok", [
    ("x", True),
    ("a" * 64, True),
    (" !~{}|\"'<>&=+%", True),
    ("", False),
    ("a" * 65, False),
    ("pässword", False),
    ("pass\tword", False),
    ("pass\nword", False),
    ("pass\x7fword", False),
    ("пароль", False),
])
async def test_password_rules(device, admin, pwd, ok):
    r = await add(admin, "pwtest", pwd)
    if ok:
        assert r.text == html_body("Created account pwtest.")
        assert device.accounts.verify("pwtest", pwd)
        async with asgi_client(device, httpx.BasicAuth("pwtest", pwd)) as c:
            assert (await c.get("/axis-cgi/usergroup.cgi")).status_code == 200
    else:
        assert r.text == html_body("Error: consult the system log file.")
        assert device.accounts.get("pwtest") is None
        # Updating to a bad password is refused too, and the old one still works.
        await add(admin, "pwtest", "good1234")
        r = await admin.post(PWDGRP, data={"action": "update", "user": "pwtest", "pwd": pwd})
        assert r.text == html_body("Error: consult the system log file.")
        assert device.accounts.verify("pwtest", "good1234")


@pytest.mark.parametrize("name, ok", [
    ("a", True),
    ("A1234567890bcd", True),
    ("A1234567890bcde", False),
    ("bad name", False),
    ("bad-name", False),
    ("jöns", False),
    ("a:b", False),
    ("a,b", False),
    ('a"b', False),
])
async def test_name_rules(device, admin, name, ok):
    r = await add(admin, name, "pass1234")
    if ok:
        assert r.text == html_body(f"Created account {name}.")
    else:
        assert r.text == html_body("Error: account user name.")
        assert device.accounts.get(name) is None


async def test_pwdgrp_needs_an_administrator(device):
    for role in ("viewer", "operator"):
        async with client_as(device, role) as c:
            r = await add(c, "sneaky", "pass1234", FULL)
            assert r.status_code == 403
            assert (await c.get(PWDGRP, params={"action": "get"})).status_code == 403
    assert device.accounts.get("sneaky") is None


async def test_usergroup_cgi(device):
    for role, expected in (("viewer", "viewer1\nviewer\n"), ("operator", "operator1\noperator viewer\n"),
                           ("admin", f"{ADMIN[0]}\nadmin operator viewer ptz\n")):
        async with client_as(device, role) as c:
            r = await c.get("/axis-cgi/usergroup.cgi")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
            assert r.text == expected


async def test_account_changes_are_audited_without_passwords(device, admin):
    await add(admin, "audited", "Secret-99", "operator:viewer")
    await admin.post(PWDGRP, data={"action": "update", "user": "audited", "pwd": "Other-77"})
    await admin.post(PWDGRP, data={"action": "remove", "user": "audited"})
    log = (await admin.get("/axis-cgi/auditlog.cgi")).text
    assert "user=root added account audited role=operator" in log
    assert "user=root updated account audited" in log and "password" in log
    assert "user=root removed account audited" in log
    assert "Secret-99" not in log and "Other-77" not in log


def test_onvif_flag_is_kept_with_the_account_and_turns_onvif_on(device):
    accounts = device.accounts
    assert not accounts.onvif_enabled
    accounts.add("root", "pass1234", Role.ADMIN, True, "", "test")
    assert not accounts.onvif_enabled  # a VAPIX account alone leaves ONVIF off
    accounts.add("cam", "media123", Role.VIEWER, False, "", "test", onvif=True)
    assert accounts.onvif_enabled and accounts.get("cam").onvif
    accounts.reload()  # from the store: the flag and the sealed password survive
    assert accounts.get("cam").onvif and accounts.password("cam") == "media123"
    assert b"media123" not in device.store.db.execute("SELECT secret FROM accounts WHERE name='cam'").fetchone()[0]
    accounts.update("cam", "test", onvif=False)
    accounts.reload()
    assert not accounts.get("cam").onvif and not accounts.onvif_enabled
