"""API clients with access tokens from the provider's client-credentials grant: the Client
credential grants API names the provider's JWKS and the role claims; a bearer token is then
taken by the VAPIX endpoints with the role its claims give, and refused when its signature,
its claims or the settings do not hold."""

from __future__ import annotations

from tests.conftest import asgi_client, client_as
from tests.peers.oidc import Provider
from tests.peers.processes import free_port

CCG = "/config/rest/oauth-ccgrant/v1beta"
ACCOUNTS = "/axis-cgi/pwdgrp.cgi?action=get"
VIEWER_ONLY = "/axis-cgi/basicdeviceinfo.cgi"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def configure(device, provider: Provider) -> None:
    async with client_as(device, "admin") as admin:
        r = await admin.patch(CCG + "/AuthEntity", json={"data": {
            "CCG_OAuth2TokenVerify": provider.issuer + "/jwks", "CCG_RequireClaim": "scope:vapix",
            "CCG_AuthzAdminClaim": "roles:vigil-admin", "CCG_AuthzViewerClaim": "roles:vigil-viewer"}})
        assert r.json() == {"status": "success"}, r.text


async def test_bearer_tokens_get_the_role_of_their_claims(device, provider):
    token = provider.client_credentials("vms-admin")
    async with asgi_client(device) as client:
        assert (await client.get(ACCOUNTS, headers=bearer(token))).status_code == 401  # not configured yet
        await configure(device, provider)
        r = await client.get(ACCOUNTS, headers=bearer(token))
        assert r.status_code == 200 and "admin=" in r.text
        viewer = provider.client_credentials("vms-viewer")
        assert (await client.get(ACCOUNTS, headers=bearer(viewer))).status_code == 403
        r = await client.post(VIEWER_ONLY, json={"apiVersion": "1.0", "method": "getAllProperties"},
                              headers=bearer(viewer))
        assert r.status_code == 200 and "data" in r.json()
        other = provider.client_credentials("vms-other")  # a role claim the device does not map
        assert (await client.get(ACCOUNTS, headers=bearer(other))).status_code == 401
        head, body, signature = token.split(".")
        forged = f"{head}.{body}.{signature[:-4]}AAAA"
        assert (await client.get(ACCOUNTS, headers=bearer(forged))).status_code == 401
        assert (await client.get(ACCOUNTS, headers=bearer("not-a-jwt"))).status_code == 401
    assert "authenticated with bearer" in device.logs.text("audit")
    assert "bearer token refused" in device.logs.text("access")


async def test_bad_settings_are_refused_and_bearer_tokens_stay_off(device, provider):
    async with client_as(device, "admin") as admin:
        r = await admin.patch(CCG + "/AuthEntity/CCG_OAuth2TokenVerify", json={"data": provider.issuer + "/jwks"})
        assert r.status_code == 400 and "claim of at least one role" in r.json()["error"]["message"]
        claims = {"CCG_AuthzAdminClaim": "roles:vigil-admin"}
        r = await admin.patch(CCG + "/AuthEntity", json={"data": {
            **claims, "CCG_OAuth2TokenVerify": f"http://127.0.0.1:{free_port()}/jwks"}})
        assert r.status_code == 400 and "does not answer" in r.json()["error"]["message"]
        r = await admin.patch(CCG + "/AuthEntity", json={"data": {**claims, "CCG_OAuth2TokenVerify": provider.discovery}})
        assert r.status_code == 400 and "no JSON Web Key Set" in r.json()["error"]["message"]
        assert (await admin.get(CCG)).json()["data"]["AuthEntity"]["CCG_OAuth2TokenVerify"] == ""
    async with asgi_client(device) as client:
        token = provider.client_credentials("vms-admin")
        assert (await client.get(ACCOUNTS, headers=bearer(token))).status_code == 401
