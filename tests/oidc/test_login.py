"""OpenID Connect against a real provider (npm oidc-provider): the setup API, the code flow
with PKCE up to a session with the role the claims give, and every way a login is refused
(wrong state, a code used twice, another browser, a wrong nonce, claims that give no role, a
provider that is down), with local accounts working throughout."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from tests.conftest import ADMIN, asgi_client, client_as
from tests.oidc.conftest import setup_body
from tests.peers.oidc import CLIENT_SECRET, Provider, login
from tests.peers.processes import free_port
from tests.peers.tinyproxy import tinyproxy
from vigil.features.oidc.const import BINDING_COOKIE, SETUP_KEY
from vigil.features.oidc.service import OIDC_SERVICE, LoginError
from vigil.http.routing import SESSION_COOKIE

SETUP = "/config/rest/oidcsetup/v1"


async def configure(device, provider: Provider, **extra: object) -> None:
    async with client_as(device, "admin") as admin:
        r = await admin.patch(SETUP, json=setup_body(provider, **extra))
        assert r.status_code == 200 and r.json() == {"status": "success"}, r.text


async def start(browser: httpx.AsyncClient) -> str:
    """The device sends the browser to the provider: the authorization URL."""
    r = await browser.get("/oidc/login")
    assert r.status_code == 303, r.text
    assert BINDING_COOKIE in r.cookies
    return r.headers["location"]


async def session_of(browser: httpx.AsyncClient) -> dict:
    return (await browser.get("/vigil/session", headers={"X-Requested-With": "fetch"})).json()


async def test_the_setup_api_keeps_the_secret_sealed_and_never_shows_it(device, provider):
    await configure(device, provider)
    async with client_as(device, "admin") as admin:
        got = (await admin.get(SETUP)).json()
        base = got["data"]["BaseConfigEntity"]
        assert base["OIDC_ProviderMetadataURL"] == provider.discovery and base["OIDC_Enabled"] is True
        assert base["AuthEntity"]["OIDC_AuthzAdminClaim"] == "roles:vigil-admin"
        assert "OIDC_ClientSecret" not in base["AuthEntity"]
        one = await admin.get(SETUP + "/BaseConfigEntity/AuthEntity/OIDC_ClientID")
        assert one.json() == {"status": "success", "data": "vigil-device"}
        assert (await admin.get(SETUP + "/BaseConfigEntity/AuthEntity/OIDC_ClientSecret")).status_code == 404
        r = await admin.patch(SETUP + "/BaseConfigEntity/OIDC_OutgoingProxy", json={"data": ""})
        assert r.json() == {"status": "success"}
    stored = device.store.get_kv(SETUP_KEY)
    assert CLIENT_SECRET not in stored and "\\u0001sealed:" in stored
    assert "changed the OpenID setup" in device.logs.text("audit")
    async with client_as(device, "operator") as operator:
        assert (await operator.get(SETUP)).status_code == 403


async def test_bad_settings_are_refused_and_nothing_is_kept(device, provider):
    async with client_as(device, "admin") as admin:
        for body, why in (
            ({"data": {"BaseConfigEntity": {"OIDC_ProviderMetadataURL": "ftp://x/.well-known/openid-configuration"}}},
             "http"),
            ({"data": {"BaseConfigEntity": {"OIDC_ProviderMetadataURL": provider.issuer + "/nowhere"}}},
             "must end with"),
            ({"data": {"BaseConfigEntity": {"OIDC_RemoteUserClaim": "name; rm"}}}, "OIDC_RemoteUserClaim"),
            ({"data": {"BaseConfigEntity": {"OIDC_Unknown": "x"}}}, "unknown property"),
            ({"data": {"BaseConfigEntity": {"OIDC_Enabled": True}}}, "cannot be enabled"),
            ({"data": {"BaseConfigEntity": {"OIDC_Enabled": "yes"}}}, "true or false"),
            ({"nodata": 1}, "data member"),
        ):
            r = await admin.patch(SETUP, json=body)
            assert r.status_code == 400 and why in r.json()["error"]["message"], (body, r.text)
        # A provider that is down: enabling is refused and the device keeps what it had.
        down = setup_body(provider)
        down["data"]["BaseConfigEntity"]["OIDC_ProviderMetadataURL"] = (
            f"http://127.0.0.1:{free_port()}/.well-known/openid-configuration")
        r = await admin.patch(SETUP, json=down)
        assert r.status_code == 400 and "does not answer" in r.json()["error"]["message"]
        assert (await admin.get(SETUP + "/BaseConfigEntity/OIDC_Enabled")).json()["data"] is False
        assert (await admin.patch(SETUP + "/NoSuchEntity", json={"data": 1})).status_code == 404
    assert device.store.get_kv(SETUP_KEY) is None
    assert (await asgi_client(device).get("/vigil/oidc")).json()["offered"] is False
    r = await asgi_client(device).get("/oidc/login")
    assert r.status_code == 404 and "not enabled" in r.text


@pytest.mark.parametrize(("user", "role"), [("alice", "admin"), ("olle", "operator"), ("vera", "viewer")])
async def test_a_login_through_the_provider_gives_the_role_of_the_claims(device, provider, user, role):
    await configure(device, provider)
    assert (await asgi_client(device).get("/vigil/oidc")).json() == {"offered": True, "login": "/oidc/login"}
    async with asgi_client(device) as browser:
        url = await start(browser)
        query = parse_qs(urlsplit(url).query)
        assert query["code_challenge_method"] == ["S256"] and query["scope"] == ["openid email roles"]
        back = login(url, user)
        r = await browser.get("/oidc/oauth2callback", params=back)
        assert r.status_code == 200 and "Logged in" in r.text, r.text
        assert SESSION_COOKIE in r.cookies
        state = await session_of(browser)
        assert state["user"] == f"{user}@example.test" and state["role"] == role and state["method"] == "oidc"
        # The session's role holds on the VAPIX endpoints: only an administrator reads the accounts.
        accounts = await browser.get("/axis-cgi/pwdgrp.cgi", params={"action": "get"},
                                     headers={"X-Requested-With": "fetch"})
        assert accounts.status_code == (200 if role == "admin" else 403)
        # Logging out ends it.
        await browser.delete("/vigil/session", headers={"X-Requested-With": "fetch"})
        assert (await session_of(browser))["user"] is None
    assert f"user={user}@example.test logged in from" in device.logs.text("audit")


async def test_wrong_state_replayed_code_and_another_browser_are_refused(device, provider):
    await configure(device, provider)
    async with asgi_client(device) as browser:
        back = login(await start(browser), "alice")
        wrong = await browser.get("/oidc/oauth2callback", params={**back, "state": "forged"})
        assert wrong.status_code == 400 and "unknown or already used login state" in wrong.text
        # The wrong try used nothing up: the real answer still logs in, once.
        assert (await browser.get("/oidc/oauth2callback", params=back)).status_code == 200
        browser.cookies.clear()
        replay = await browser.get("/oidc/oauth2callback", params=back)
        assert replay.status_code == 400 and "already used" in replay.text
        assert SESSION_COOKIE not in replay.cookies
        # The same code under a fresh state: the provider refuses a code it gave out before.
        fresh = parse_qs(urlsplit(await start(browser)).query)["state"][0]
        again = await browser.get("/oidc/oauth2callback", params={**back, "state": fresh})
        assert again.status_code == 400 and "refused the authorization code" in again.text
    async with asgi_client(device) as mine, asgi_client(device) as theirs:
        back = login(await start(mine), "alice")
        stolen = await theirs.get("/oidc/oauth2callback", params=back)  # no binding cookie of this login
        assert stolen.status_code == 400 and "another browser" in stolen.text
        assert (await session_of(theirs))["user"] is None
    assert "OpenID login refused" in device.logs.text("access")


async def test_a_wrong_nonce_is_refused(device, provider):
    """The provider signs an ID token for another nonce than the device's login asked for."""
    await configure(device, provider)
    async with asgi_client(device) as browser:
        url = await start(browser)
        parts = urlsplit(url)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()} | {"nonce": "not-the-device-nonce"}
        back = login(f"{parts.scheme}://{parts.netloc}{parts.path}?{urlencode(query)}", "alice")
        r = await browser.get("/oidc/oauth2callback", params=back)
        assert r.status_code == 400 and "ID token is not valid" in r.text and "nonce" in r.text
        assert (await session_of(browser))["user"] is None


async def test_claims_that_give_no_role_and_a_required_claim_refuse_the_login(device, provider):
    await configure(device, provider)
    async with asgi_client(device) as browser:
        r = await browser.get("/oidc/oauth2callback", params=login(await start(browser), "nobody"))
        assert r.status_code == 400 and "give no role" in r.text
        assert (await session_of(browser))["user"] is None
    await configure(device, provider, OIDC_RequireClaim="email:alice@example.test")
    async with asgi_client(device) as browser:
        r = await browser.get("/oidc/oauth2callback", params=login(await start(browser), "olle"))
        assert r.status_code == 400 and "required claim" in r.text
        r = await browser.get("/oidc/oauth2callback", params=login(await start(browser), "alice"))
        assert r.status_code == 200


async def test_a_provider_that_goes_down_refuses_logins_and_local_accounts_still_work(device):
    op = Provider(["http://127.0.0.1/oidc/oauth2callback"]).start()
    try:
        await configure(device, op)
        async with asgi_client(device) as browser:
            url = await start(browser)
            back = login(url, "alice")
            op.stop()
            r = await browser.get("/oidc/oauth2callback", params=back)
            assert r.status_code == 400 and "does not answer" in r.text
    finally:
        op.stop()
    async with asgi_client(device) as browser:
        r = await browser.post("/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
        assert r.status_code == 200 and r.json()["role"] == "admin"


async def test_the_outgoing_proxy_carries_every_request_to_the_provider(device, provider, tmp_path):
    with tinyproxy(tmp_path / "proxy", user="") as proxy:
        await configure(device, provider, OIDC_OutgoingProxy=f"127.0.0.1:{proxy.port}")
        async with asgi_client(device) as browser:
            r = await browser.get("/oidc/oauth2callback", params=login(await start(browser), "alice"))
            assert r.status_code == 200, r.text
        seen = proxy.seen()
    for path in ("/.well-known/openid-configuration", "/token", "/jwks"):
        assert path in seen, path


async def test_an_id_token_the_provider_did_not_sign_is_refused(device, provider):
    """Signed with another key, under the provider's key id or one it does not have: refused, and
    never a session. (The code flow cannot be made to carry one, so the check is asked directly.)"""
    await configure(device, provider)
    service = device.features[OIDC_SERVICE]
    metadata = httpx.get(provider.discovery).json()
    kid = httpx.get(metadata["jwks_uri"]).json()["keys"][0]["kid"]
    claims = {"iss": metadata["issuer"], "aud": "vigil-device", "sub": "alice", "nonce": "n",
              "exp": int(time.time()) + 300, "iat": int(time.time()), "roles": ["vigil-admin"]}
    for key_id in (kid, "not-the-providers"):
        forged = jwt.encode({"alg": "RS256", "kid": key_id}, claims, RSAKey.generate_key(2048))
        with pytest.raises(LoginError, match="ID token is not valid"):
            await service._id_token_claims(metadata, forged, "n")
