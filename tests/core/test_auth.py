"""Authentication: Digest (MD5, SHA-256, qop=auth), Basic, sessions, anonymous viewing and
brute-force blocking."""

from __future__ import annotations

import hashlib
import re

import httpx
import pytest

from tests.conftest import ADMIN, asgi_client, client_as
from vigil.core.auth import NONCE_LIFETIME

URI = "/axis-cgi/usergroup.cgi"
HASH = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


def challenge_fields(response: httpx.Response, algorithm: str = "MD5") -> dict[str, str]:
    for header in response.headers.get_list("www-authenticate"):
        if header.startswith("Digest ") and f"algorithm={algorithm}" in header:
            return dict(re.findall(r'(\w+)="?([^",]*)"?', header[7:]))
    raise AssertionError(f"no Digest {algorithm} challenge in {response.headers.get_list('www-authenticate')}")


def digest_header(user: str, password: str, realm: str, nonce: str, uri: str, method: str = "GET",
                  algorithm: str = "MD5", nc: int = 1, cnonce: str = "0a4f113b", qop: str | None = "auth",
                  response: str | None = None) -> str:
    def h(text: str) -> str:
        return HASH[algorithm](text.encode()).hexdigest()

    ha1 = h(f"{user}:{realm}:{password}")
    ha2 = h(f"{method}:{uri}")
    if response is None:
        response = (h(f"{ha1}:{nonce}:{nc:08x}:{cnonce}:{qop}:{ha2}") if qop else h(f"{ha1}:{nonce}:{ha2}"))
    parts = [f'username="{user}"', f'realm="{realm}"', f'nonce="{nonce}"', f'uri="{uri}"',
             f"algorithm={algorithm}", f'response="{response}"']
    if qop:
        parts += [f"qop={qop}", f"nc={nc:08x}", f'cnonce="{cnonce}"']
    return "Digest " + ", ".join(parts)


@pytest.fixture
async def challenged(device, anon):
    """An administrator exists; returns (realm, nonce) from a fresh challenge."""
    from tests.conftest import add_account

    add_account(device, *ADMIN, "admin", ptz=True)
    r = await anon.get(URI)
    assert r.status_code == 401
    fields = challenge_fields(r)
    return fields["realm"], fields["nonce"]


async def test_challenge_offers_sha256_md5_and_basic(device, anon, challenged):
    r = await anon.get(URI)
    headers = r.headers.get_list("www-authenticate")
    assert headers[0].startswith("Digest ") and "algorithm=SHA-256" in headers[0]
    assert any("algorithm=MD5" in h for h in headers)
    assert any(h.startswith("Basic ") for h in headers)
    for h in headers[:2]:
        assert 'qop="auth"' in h and "stale=FALSE" in h
    assert challenged[0] == device.auth.realm and device.identity.serial in challenged[0]


@pytest.mark.parametrize("algorithm", ["MD5", "SHA-256"])
async def test_digest_by_hand(anon, challenged, algorithm):
    realm, nonce = challenged
    for nc, uri in enumerate((URI, URI + "?x=1&y=%20z"), start=1):  # the nonce count goes up, as clients count
        r = await anon.get(uri, headers={"Authorization": digest_header(*ADMIN, realm, nonce, uri, nc=nc,
                                                                          algorithm=algorithm)})
        assert r.status_code == 200, r.text
        assert r.text.startswith("root\n")
    # POST has its own HA2.
    header = digest_header(*ADMIN, realm, nonce, "/axis-cgi/param.cgi", method="POST", algorithm=algorithm, nc=3)
    r = await anon.post("/axis-cgi/param.cgi", content="action=list&group=Brand.ProdNbr",
                        headers={"Authorization": header})
    assert r.text == "root.Brand.ProdNbr=S3016\r\n"
    # RFC 2069 style (no qop) still works.
    r = await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, nonce, URI, algorithm=algorithm,
                                                                      qop=None)})
    assert r.status_code == 200


async def test_nonce_reuse_with_increasing_nc(anon, challenged):
    realm, nonce = challenged
    for nc in range(1, 20):
        r = await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, nonce, URI, nc=nc,
                                                                          cnonce=f"c{nc}")})
        assert r.status_code == 200, nc


async def test_httpx_digest_client(device, admin):
    # The admin fixture uses httpx.DigestAuth: it answers the challenge and then reuses the nonce.
    for _ in range(3):
        r = await admin.get(URI)
        assert r.status_code == 200 and r.text.startswith("root\n")
    r = await admin.post("/axis-cgi/param.cgi", data={"action": "update", "Network.UPnP.FriendlyName": "x"})
    assert r.text == "OK\r\n"


async def test_expired_nonce_is_stale(device, clock, anon, challenged):
    realm, nonce = challenged
    clock.advance(NONCE_LIFETIME + 1)
    r = await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, nonce, URI)})
    assert r.status_code == 401
    assert all("stale=TRUE" in h for h in r.headers.get_list("www-authenticate") if h.startswith("Digest"))
    fresh = challenge_fields(r)["nonce"]
    assert fresh != nonce
    r = await anon.get(URI, headers={"Authorization": digest_header(*ADMIN, realm, fresh, URI)})
    assert r.status_code == 200
    # A stale nonce with a wrong password is just wrong (no stale hint).
    r = await anon.get(URI, headers={"Authorization": digest_header(ADMIN[0], "nope", realm, nonce, URI)})
    assert r.status_code == 401
    assert all("stale=FALSE" in h for h in r.headers.get_list("www-authenticate") if h.startswith("Digest"))
    # httpx retries by itself after a stale answer.
    async with asgi_client(device, httpx.DigestAuth(*ADMIN)) as c:
        assert (await c.get(URI)).status_code == 200
        clock.advance(NONCE_LIFETIME + 1)
        assert (await c.get(URI)).status_code == 200


async def test_wrong_digest_fields_refused(anon, challenged):
    realm, nonce = challenged
    cases = {
        "realm": digest_header(*ADMIN, "OtherRealm", nonce, URI),
        "uri": digest_header(*ADMIN, realm, nonce, "/axis-cgi/param.cgi"),
        "response": digest_header(*ADMIN, realm, nonce, URI, response="0" * 32),
        "password": digest_header(ADMIN[0], "wrong", realm, nonce, URI),
        "user": digest_header("ghost", ADMIN[1], realm, nonce, URI),
        "nonce": digest_header(*ADMIN, realm, "0" * 40, URI),
        "forged nonce": digest_header(*ADMIN, realm, "7fffffff" + nonce[-32:], URI),
        "method": digest_header(*ADMIN, realm, nonce, URI, method="POST"),
        "qop": digest_header(*ADMIN, realm, nonce, URI, qop="auth-int"),
    }
    for name, header in cases.items():
        r = await anon.get(URI, headers={"Authorization": header})
        assert r.status_code == 401, name
        assert "stale=FALSE" in r.headers.get_list("www-authenticate")[0], name
    header = digest_header(*ADMIN, realm, nonce, URI).replace("algorithm=MD5", "algorithm=SHA-512")
    assert (await anon.get(URI, headers={"Authorization": header})).status_code == 401


BROKEN = [
    "Digest",
    "Digest ",
    "Digest garbage",
    "Digest ,,,,",
    "Digest =",
    'Digest username="root"',
    'Digest username="root, realm="x", nonce="y", uri="/", response="z"',
    'Digest username="root", realm="unterminated',
    'Digest username=root realm=x nonce=y',
    'Digest username="ro\\"ot", realm="a\\\\", nonce="", uri="", response=""',
    "Digest " + "a=b, " * 2000,
    'Digest username="root", realm="x", nonce="' + "f" * 5000 + '", uri="/", response="z"',
    "Digest username=\"r\u00e9\", realm=\"\u00e9\", nonce=\"\u00e9\u00e9\", uri=\"/\", response=\"\u00e9\"",
    "Basic",
    "Basic !!!!",
    "Basic " + "A" * 3,
    "Basic cm9vdA==",  # "root" without a colon
    "Basic /w==",  # not UTF-8
    "Bearer abc",
    "NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAGAbEdAAAADw==",
    "\u00e9\u00e9",
]


async def test_broken_authorization_headers_get_401(device, clock, anon, challenged):
    realm, nonce = challenged
    for header in BROKEN + [
        f'Digest username="root", realm="{realm}", nonce="{nonce}", uri="{URI}", response="\u00e9"',
        f'Digest username="root", realm="{realm}", nonce="{nonce[:-1]}\u00e9", uri="{URI}", response="ab"',
        f'Digest username="root", realm="{realm}", nonce="{nonce}", uri="{URI}", response="0", nc=zz, qop=auth',
        f'Digest username="root", realm="{realm}", nonce="{nonce}", uri="{URI}"',
    ]:
        clock.advance(61)  # stay below the brute-force thresholds (per second, and 10 in 60 s)
        r = await anon.get(URI, headers={"Authorization": header.encode("latin-1")})
        assert r.status_code == 401, header[:80]
        assert "Traceback" not in r.text
    assert "Traceback" not in device.logs.text("system")


async def test_basic_and_authentication_policy(device, anon):
    async with client_as(device, "admin", basic=True) as c:
        assert (await c.get(URI)).status_code == 200
        r = await c.get("/axis-cgi/param.cgi", params={"action": "update",
                                                       "Network.HTTP.AuthenticationPolicy": "digest"})
        assert r.text == "OK\r\n"
        r = await c.get(URI)
        assert r.status_code == 401
        assert not any(h.startswith("Basic") for h in r.headers.get_list("www-authenticate"))
    async with client_as(device, "admin") as digest:
        assert (await digest.get(URI)).status_code == 200
        r = await digest.get("/axis-cgi/param.cgi", params={"action": "update",
                                                            "Network.HTTP.AuthenticationPolicy": "basic_digest"})
        assert r.text == "OK\r\n"
    async with client_as(device, "admin", basic=True) as c:
        assert (await c.get(URI)).status_code == 200
    async with asgi_client(device, httpx.BasicAuth(ADMIN[0], "wrong")) as c:
        assert (await c.get(URI)).status_code == 401


async def test_session_cookie_login_and_logout(device, anon):
    from tests.conftest import add_account

    add_account(device, *ADMIN, "admin", ptz=True)
    r = await anon.post("/vigil/session", json={"username": ADMIN[0], "password": "wrong"})
    assert r.status_code == 401 and "vigil_session" not in r.cookies
    r = await anon.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 200 and r.json() == {"user": "root", "role": "admin"}
    cookie = r.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    token = r.cookies["vigil_session"]
    anon.headers["X-Requested-With"] = "vigil"  # as the web pages send it (see tests/http/test_csrf.py)
    assert (await anon.get("/vigil/session")).json()["user"] == "root"
    assert (await anon.get(URI)).text == "root\nadmin operator viewer ptz\n"
    # Same-origin writes work, cross-origin writes with the cookie are refused.
    same = {"Origin": "http://127.0.0.1"}
    r = await anon.post("/axis-cgi/param.cgi", data={"action": "update", "Network.UPnP.FriendlyName": "same"},
                        headers=same)
    assert r.text == "OK\r\n"
    for origin in ("http://evil.example", "null", "http://127.0.0.1.evil.example"):
        r = await anon.post("/axis-cgi/param.cgi", data={"action": "update", "Network.UPnP.FriendlyName": "evil"},
                            headers={"Origin": origin})
        assert r.status_code == 403, origin
    assert device.params.get("Network.UPnP.FriendlyName") == "same"
    assert "cross-origin request refused" in device.logs.text("access")
    # Logout ends the session on the server, not only in the browser.
    r = await anon.delete("/vigil/session", headers=same)
    assert r.status_code == 200
    anon.cookies.clear()
    async with asgi_client(device) as other:
        other.cookies.set("vigil_session", token)
        assert (await other.get(URI)).status_code == 401
        assert (await other.get("/vigil/session")).json()["user"] is None


async def test_session_dropped_when_password_changes(device, anon):
    from tests.conftest import add_account

    add_account(device, *ADMIN, "admin", ptz=True)
    add_account(device, "joe", "joe12345", "operator")
    async with asgi_client(device) as joe:
        joe.headers["X-Requested-With"] = "vigil"  # as the web pages send it
        assert (await joe.post("/vigil/session", json={"username": "joe", "password": "joe12345"})).status_code == 200
        assert (await joe.get(URI)).status_code == 200
        async with client_as(device, "admin") as admin:
            r = await admin.post("/axis-cgi/pwdgrp.cgi", data={"action": "update", "user": "joe", "pwd": "new12345"})
            assert r.status_code == 200
        assert (await joe.get(URI)).status_code == 401


async def test_anonymous_viewing(device, anon):
    async with client_as(device, "admin") as admin:
        assert (await anon.get(URI)).status_code == 401
        r = await admin.get("/axis-cgi/param.cgi", params={"action": "update", "System.BoaProtViewer": "anonymous"})
        assert r.text == "OK\r\n"
    assert (await anon.get(URI)).text == "anonymous\nviewer\n"
    r = await anon.get("/axis-cgi/param.cgi", params={"action": "list", "group": "Brand.ProdNbr"})
    assert r.text == "root.Brand.ProdNbr=S3016\r\n"
    r = await anon.get("/axis-cgi/param.cgi", params={"action": "list", "group": "Network.SubnetMask"})
    assert r.text.startswith("# Error:")
    r = await anon.post("/axis-cgi/time.cgi", json={"apiVersion": "1.0", "method": "getDateTimeInfo"})
    assert "data" in r.json()
    # Anything above viewer still asks for credentials.
    for method, path, kwargs in (
        ("GET", "/axis-cgi/param.cgi", {"params": {"action": "update", "Network.UPnP.FriendlyName": "x"}}),
        ("GET", "/axis-cgi/pwdgrp.cgi", {"params": {"action": "get"}}),
        ("GET", "/axis-cgi/systemlog.cgi", {}),
        ("GET", "/axis-cgi/operator/param.cgi", {"params": {"action": "list"}}),
        ("POST", "/axis-cgi/time.cgi", {"json": {"apiVersion": "1.0", "method": "setTimeZone",
                                                 "params": {"timeZone": "Europe/Paris"}}}),
    ):
        r = await anon.request(method, path, **kwargs)
        assert r.status_code == 401, path
    assert device.params.get("Time.TimeZone") == "Etc/UTC"


async def test_brute_force_blocking(device, clock, anon):
    async with client_as(device, "admin", address="127.0.0.2") as admin:
        r = await admin.get("/axis-cgi/param.cgi", params={
            "action": "update", "System.BruteForce.PageFailuresPerSecond": "3",
            "System.BruteForce.BlockingPeriod": "60"})
        assert r.text == "OK\r\n"
    async with asgi_client(device, httpx.BasicAuth(ADMIN[0], "wrong")) as wrong:
        for _ in range(3):
            assert (await wrong.get(URI)).status_code == 401
        assert (await wrong.get(URI)).status_code == 401  # the 4th failure in one second blocks
        assert (await wrong.get(URI)).status_code == 403
    async with client_as(device, "admin", basic=True) as right:
        r = await right.get(URI)
        assert r.status_code == 403 and "too many failed logins" in r.text
        assert (await anon.get("/vigil/session")).status_code == 403
        # Another address is not blocked.
        async with client_as(device, "admin", address="127.0.0.2") as other:
            assert (await other.get(URI)).status_code == 200
        clock.advance(59)
        assert (await right.get(URI)).status_code == 403
        clock.advance(2)
        assert (await right.get(URI)).status_code == 200
        log = (await right.get("/axis-cgi/accesslog.cgi")).text
    assert log.count("authentication failed for root from 127.0.0.1") == 4
    assert "blocked 127.0.0.1 for 60 s" in log
    assert "blocked address 127.0.0.1 refused" in log
    assert "127.0.0.2" not in [line for line in log.splitlines() if "blocked" in line]


async def test_failures_spread_over_time_do_not_block(device, clock):
    async with client_as(device, "admin", address="127.0.0.2") as admin:
        await admin.get("/axis-cgi/param.cgi", params={"action": "update",
                                                       "System.BruteForce.PageFailuresPerSecond": "2"})
    async with asgi_client(device, httpx.BasicAuth(ADMIN[0], "wrong")) as wrong:
        for _ in range(10):
            assert (await wrong.get(URI)).status_code == 401
            clock.advance(1)
    async with client_as(device, "admin", basic=True) as right:
        assert (await right.get(URI)).status_code == 200


async def test_brute_force_disabled_never_blocks(device):
    async with client_as(device, "admin", address="127.0.0.2") as admin:
        r = await admin.get("/axis-cgi/param.cgi", params={
            "action": "update", "System.BruteForce.Enabled": "no", "System.BruteForce.PageFailuresPerSecond": "1",
            "System.BruteForce.DeviceFailuresPerSecond": "1"})
        assert r.text == "OK\r\n"
    async with asgi_client(device, httpx.BasicAuth(ADMIN[0], "wrong")) as wrong:
        for _ in range(50):
            assert (await wrong.get(URI)).status_code == 401
    async with client_as(device, "admin", basic=True) as right:
        assert (await right.get(URI)).status_code == 200
    assert "blocked" not in device.logs.text("access")


async def test_failed_session_logins_count_too(device, anon):
    async with client_as(device, "admin", address="127.0.0.2") as admin:
        await admin.get("/axis-cgi/param.cgi", params={"action": "update",
                                                       "System.BruteForce.PageFailuresPerSecond": "2"})
    for _ in range(3):
        assert (await anon.post("/vigil/session", json={"username": "root", "password": "x"})).status_code == 401
    r = await anon.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert r.status_code == 403
