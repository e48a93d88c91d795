"""The OpenID provider the tests of this folder share (tests/peers/oidc.py): one per module,
its redirect URI the in-process device's (`http://testserver`) and the live devices' ports."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.peers.oidc import CLIENT_ID, CLIENT_SECRET, Provider
from tests.peers.processes import free_port

ROLE_CLAIMS = {"OIDC_AuthzAdminClaim": "roles:vigil-admin", "OIDC_AuthzOperatorClaim": "roles:vigil-operator",
               "OIDC_AuthzViewerClaim": "roles:vigil-viewer", "OIDC_AuthzScopes": "email roles",
               "OIDC_ClientID": CLIENT_ID, "OIDC_ClientSecret": CLIENT_SECRET}
LIVE_PORT = free_port()  # the live device of the browser test listens here


@pytest.fixture(scope="module")
def provider() -> Iterator[Provider]:
    op = Provider(["http://127.0.0.1/oidc/oauth2callback",
                   f"http://127.0.0.1:{LIVE_PORT}/oidc/oauth2callback"]).start()
    yield op
    op.stop()


def setup_body(provider: Provider, **extra: object) -> dict:
    return {"data": {"BaseConfigEntity": {"OIDC_ProviderMetadataURL": provider.discovery,
                                          "OIDC_RemoteUserClaim": "email", "OIDC_Enabled": True,
                                          "AuthEntity": ROLE_CLAIMS, **extra}}}
