"""OpenID Connect (manual: Accounts > OpenID Configuration, and the client-credentials grant):
people log in to the web interface through an OpenID provider and get the role its claims
name; API clients call with an access token from the provider's client-credentials grant.
Local accounts keep working beside both.

- `const`: paths, storage keys, limits. `claims`: claim rules and the role they give.
- `config`: the settings as the Device Configuration APIs name them, checked, kept sealed.
- `service`: the code flow with PKCE, ID token and bearer token checks (joserfc).
- `http_setup`: the OpenID Connect Setup and Client credential grants APIs.
- `http_login`: the login page's offer, `/oidc/login` and `/oidc/oauth2callback`.

Every profile has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.oidc import http_login, http_setup
from vigil.features.oidc.service import OIDC_SERVICE, OidcService

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    service = OidcService(device)
    device.features[OIDC_SERVICE] = service
    device.services.append(service.run)
    device.router.include((*http_setup.ROUTES, *http_login.ROUTES))
