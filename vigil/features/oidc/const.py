"""OpenID Connect: paths, storage keys, limits and the texts of its errors."""

from __future__ import annotations

# The Device Configuration APIs (VAPIX "OpenID Connect Setup" and "Client credential grants").
SETUP_PATH = "/config/rest/oidcsetup/v1"
CCG_PATH = "/config/rest/oauth-ccgrant/v1beta"
# The browser login: where the login page sends the browser, and where the provider sends it
# back (the redirect URI registered at the provider, as on the real devices).
LOGIN_PATH = "/oidc/login"
CALLBACK_PATH = "/oidc/oauth2callback"
STATE_PATH = "/vigil/oidc"  # the login page asks whether to offer "Log in with OpenID"

SETUP_KEY = "oidc.setup"  # kv: the setup as JSON, the client secret sealed
CCG_KEY = "oidc.ccgrant"  # kv: the client-credentials grant settings as JSON

# The browser that started a login must be the one that comes back: a cookie binds them.
BINDING_COOKIE = "vigil_oidc"
LOGIN_LIFETIME = 600.0  # seconds a started login may take at the provider
MAX_PENDING = 1000  # started logins remembered at once; the oldest are forgotten past it
HTTP_TIMEOUT = 10.0  # seconds for each request to the provider
JWKS_REFRESH = 300.0  # seconds between fetches of the keys that sign bearer tokens
CLOCK_SKEW = 60  # seconds of clock difference tolerated on exp, nbf and iat

REMOTE_USER_CLAIMS = ("sub", "email", "preferred_username")
MAX_TEXT = 256

# Errors of the Device Configuration API (HTTP status, code, message).
BAD_REQUEST = 400
NOT_FOUND = 404
PROVIDER_DOWN = "The provider does not answer"
