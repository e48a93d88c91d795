"""OpenID Connect login and bearer tokens.

The browser login is the authorization code flow with PKCE: `begin` makes a state, a nonce
and a code verifier, remembers them with a value bound to the browser (a cookie) and sends
the browser to the provider; `finish` takes the code back once (the state is forgotten on its
first use, right or wrong), exchanges it with the client secret and the verifier, verifies
the ID token's signature against the provider's JWKS and its issuer, audience, times and
nonce, and gives the role its claims name. API clients bring an access token from the
client-credentials grant (`Authorization: Bearer`), checked against the JWKS of the
client-credentials settings and mapped to a role by their claims.

Nothing here serves HTTP; http_setup.py and http_login.py do."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from vigil.core.auth import AuthFailure, Principal
from vigil.core.params import printable
from vigil.core.proxies import PROXIES, proxies_of
from vigil.core.registry import Key
from vigil.features.oidc import claims as rules
from vigil.features.oidc.config import CCG_TREE, SETUP_TREE, ConfigError, Settings, changed_names, patched
from vigil.features.oidc.const import (
    CCG_KEY,
    CLOCK_SKEW,
    HTTP_TIMEOUT,
    JWKS_REFRESH,
    LOGIN_LIFETIME,
    MAX_PENDING,
    PROVIDER_DOWN,
    SETUP_KEY,
)

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.oidc")
SIGNING = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]


class LoginError(Exception):
    """A login the device refuses; `str()` is what the user is told (and the log says), `status`
    the HTTP status of the page that says it."""

    def __init__(self, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status


class ProviderError(Exception):
    """The provider could not be reached or answered nonsense."""


@dataclass
class Pending:
    nonce: str
    verifier: str
    binding: str
    redirect_uri: str
    expires: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claim_name(remote_user: str) -> str:
    """The claim that names the user: sub, email, preferred_username or a quoted claim name."""
    return remote_user.strip('"') or "sub"


class OidcService:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.setup_store = Settings(device.store, device.vault, SETUP_KEY, SETUP_TREE)
        self.ccg_store = Settings(device.store, device.vault, CCG_KEY, CCG_TREE)
        self.setup = self.setup_store.load()
        self.ccg = self.ccg_store.load()
        self._pending: OrderedDict[str, Pending] = OrderedDict()
        self._metadata: dict[str, Any] | None = None
        self._keys: KeySet | None = None  # the provider's, for ID tokens
        self._ccg_keys: KeySet | None = None  # the client-credentials JWKS, for bearer tokens
        self._ccg_fetched = 0.0
        self._refresh: asyncio.Task | None = None
        device.auth.accept_bearer(self if self.ccg["CCG_OAuth2TokenVerify"] else None)

    # -- the provider -------------------------------------------------------------------
    def _client(self, url: str, proxy: str) -> httpx.AsyncClient:
        if proxy:
            chosen: str | None = proxy if "://" in proxy else f"http://{proxy}"
        else:
            found = proxies_of(self.device.features.get(PROXIES)).for_url(url)
            chosen = found.with_credentials() if found else None
        return httpx.AsyncClient(timeout=HTTP_TIMEOUT, proxy=chosen, trust_env=False)

    async def _get_json(self, url: str, proxy: str) -> dict[str, Any]:
        try:
            async with self._client(url, proxy) as client:
                r = await client.get(url, headers={"Accept": "application/json"})
            r.raise_for_status()
            body = r.json()
        except (httpx.HTTPError, ValueError) as err:
            raise ProviderError(f"{PROVIDER_DOWN}: {url}: {err or type(err).__name__}") from None
        if not isinstance(body, dict):
            raise ProviderError(f"{url} answered no JSON object")
        return body

    async def _discover(self, values: dict[str, Any]) -> dict[str, Any]:
        metadata = await self._get_json(values["OIDC_ProviderMetadataURL"], values["OIDC_OutgoingProxy"])
        for name in ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(metadata.get(name), str):
                raise ProviderError(f"the provider's discovery document has no {name}")
        return metadata

    async def _provider(self) -> dict[str, Any]:
        if self._metadata is None:
            try:
                self._metadata = await self._discover(self.setup)
            except ProviderError as err:
                raise LoginError(str(err), 503) from None
        return self._metadata

    async def _provider_keys(self, metadata: dict[str, Any], fresh: bool = False) -> KeySet:
        if self._keys is None or fresh:
            try:
                self._keys = KeySet.import_key_set(await self._get_json(metadata["jwks_uri"],
                                                                        self.setup["OIDC_OutgoingProxy"]))
            except (ProviderError, JoseError, ValueError, TypeError, KeyError) as err:
                raise LoginError(f"the provider's signing keys could not be read: {err}") from None
        return self._keys

    # -- settings -----------------------------------------------------------------------
    @property
    def offered(self) -> bool:
        """Whether the login page offers the provider."""
        s = self.setup
        return bool(s["OIDC_Enabled"] and s["OIDC_ProviderMetadataURL"] and s["OIDC_ClientID"]
                    and s["OIDC_ClientSecret"])

    async def update_setup(self, path: list[str], data: Any, actor: str) -> None:
        new = patched(SETUP_TREE, self.setup, path, data)
        names = changed_names(self.setup, new)
        if not names:
            return
        metadata = None
        if new["OIDC_Enabled"]:
            missing = [n for n in ("OIDC_ProviderMetadataURL", "OIDC_ClientID", "OIDC_ClientSecret") if not new[n]]
            if missing:
                raise ConfigError(f"OpenID cannot be enabled without {', '.join(missing)}")
            if not any(new[n] for n in ("OIDC_AuthzAdminClaim", "OIDC_AuthzOperatorClaim", "OIDC_AuthzViewerClaim")):
                raise ConfigError("OpenID cannot be enabled without the claim of at least one role")
            try:
                metadata = await self._discover(new)
            except ProviderError as err:
                raise ConfigError(str(err)) from None
        self.setup_store.save(new)
        self.setup, self._metadata, self._keys = new, metadata, None
        self._pending.clear()
        # "Enable OpenID closes current connections": who the provider let in before may not be now.
        self.device.auth.drop_external_sessions()
        self.device.logs.audit(actor, "changed the OpenID setup: " + ", ".join(names), "oidc")

    async def update_ccg(self, path: list[str], data: Any, actor: str) -> None:
        new = patched(CCG_TREE, self.ccg, path, data)
        names = changed_names(self.ccg, new)
        if not names:
            return
        keys = None
        if new["CCG_OAuth2TokenVerify"]:
            if not new["CCG_RequireClaim"] and not any(
                    new[n] for n in ("CCG_AuthzAdminClaim", "CCG_AuthzOperatorClaim", "CCG_AuthzViewerClaim")):
                raise ConfigError("the client-credentials grant needs the claim of at least one role")
            keys = await self._fetch_ccg_keys(new["CCG_OAuth2TokenVerify"])
        self.ccg_store.save(new)
        self.ccg, self._ccg_keys = new, keys
        self._ccg_fetched = time.monotonic() if keys else 0.0
        self.device.auth.accept_bearer(self if new["CCG_OAuth2TokenVerify"] else None)
        self.device.logs.audit(actor, "changed the OpenID client-credentials grant: " + ", ".join(names), "oidc")

    async def _fetch_ccg_keys(self, url: str) -> KeySet:
        try:
            return KeySet.import_key_set(await self._get_json(url, self.setup["OIDC_OutgoingProxy"]))
        except ProviderError as err:
            raise ConfigError(str(err)) from None
        except (JoseError, ValueError, TypeError, KeyError) as err:
            raise ConfigError(f"{url} serves no JSON Web Key Set: {err}") from None

    # -- the browser login --------------------------------------------------------------
    async def begin(self, redirect_uri: str) -> tuple[str, str]:
        """The provider's authorization URL for a new login, and the browser binding to set."""
        if not self.offered:
            raise LoginError("OpenID login is not enabled on this device", 404)
        metadata = await self._provider()
        state, nonce, verifier = secrets.token_urlsafe(24), secrets.token_urlsafe(24), secrets.token_urlsafe(48)
        binding = secrets.token_urlsafe(24)
        now = time.monotonic()
        for key in [k for k, p in self._pending.items() if p.expires < now]:
            del self._pending[key]
        while len(self._pending) >= MAX_PENDING:
            self._pending.popitem(last=False)
        self._pending[state] = Pending(nonce, verifier, binding, redirect_uri, now + LOGIN_LIFETIME)
        scopes = ["openid", *(s for s in self.setup["OIDC_AuthzScopes"].split() if s != "openid")]
        query = urlencode({
            "response_type": "code", "client_id": self.setup["OIDC_ClientID"], "redirect_uri": redirect_uri,
            "scope": " ".join(scopes), "state": state, "nonce": nonce,
            "code_challenge": _b64(hashlib.sha256(verifier.encode()).digest()), "code_challenge_method": "S256",
        })
        endpoint = metadata["authorization_endpoint"]
        return f"{endpoint}{'&' if '?' in endpoint else '?'}{query}", binding

    async def finish(self, state: str, code: str, binding: str) -> Principal:
        """The principal of a login the provider sent back; LoginError when it is refused."""
        pending = self._pending.pop(state, None)  # one use, whatever happens next
        if pending is None:
            raise LoginError("unknown or already used login state")
        if not secrets.compare_digest(pending.binding.encode(), binding.encode()):
            raise LoginError("the login was started in another browser")
        if time.monotonic() > pending.expires:
            raise LoginError("the login took too long; start again")
        if not code:
            raise LoginError("the provider sent no authorization code")
        metadata = await self._provider()
        try:
            async with self._client(metadata["token_endpoint"], self.setup["OIDC_OutgoingProxy"]) as client:
                r = await client.post(metadata["token_endpoint"], data={
                    "grant_type": "authorization_code", "code": code, "redirect_uri": pending.redirect_uri,
                    "code_verifier": pending.verifier,
                }, auth=(self.setup["OIDC_ClientID"], self.setup["OIDC_ClientSecret"]))
        except httpx.HTTPError as err:
            raise LoginError(f"{PROVIDER_DOWN}: {err or type(err).__name__}") from None
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code != 200 or not isinstance(body, dict) or not isinstance(body.get("id_token"), str):
            reason = body.get("error", f"HTTP {r.status_code}") if isinstance(body, dict) else f"HTTP {r.status_code}"
            raise LoginError(f"the provider refused the authorization code ({str(reason)[:80]})")
        found = await self._id_token_claims(metadata, body["id_token"], pending.nonce)
        return self._principal(found, "oidc", self.setup["OIDC_RequireClaim"], self.setup["OIDC_AuthzAdminClaim"],
                               self.setup["OIDC_AuthzOperatorClaim"], self.setup["OIDC_AuthzViewerClaim"],
                               claim_name(self.setup["OIDC_RemoteUserClaim"]), LoginError)

    async def _id_token_claims(self, metadata: dict[str, Any], id_token: str, nonce: str) -> dict[str, Any]:
        keys = await self._provider_keys(metadata)
        try:
            try:
                token = jwt.decode(id_token, keys, algorithms=SIGNING)
            except JoseError as err:
                if err.error != "invalid_key_id":
                    raise
                token = jwt.decode(id_token, await self._provider_keys(metadata, fresh=True), algorithms=SIGNING)
            jwt.JWTClaimsRegistry(
                leeway=CLOCK_SKEW,
                iss={"essential": True, "value": metadata["issuer"]},
                aud={"essential": True, "value": self.setup["OIDC_ClientID"]},
                exp={"essential": True}, nonce={"essential": True, "value": nonce},
            ).validate(token.claims)
        except (JoseError, ValueError) as err:
            raise LoginError(f"the ID token is not valid: {err}") from None
        return dict(token.claims)

    @staticmethod
    def _principal(found: dict[str, Any], method: str, require: str, admin: str, operator: str, viewer: str,
                   user_claim: str, error: type[Exception]) -> Principal:
        if require and not rules.holds(require, found):
            raise error(f"the token lacks the required claim {require}")
        role = rules.role_of(found, admin, operator, viewer)
        if role is None:
            raise error("the token's claims give no role on this device")
        name = found.get(user_claim) or found.get("sub") or "?"
        return Principal(printable(str(name), 64), role, False, method)

    # -- bearer tokens (the client-credentials grant) -----------------------------------
    def verify_bearer(self, token: str) -> Principal:
        keys = self._ccg_keys
        if keys is None:
            self._refresh_later()
            raise AuthFailure("the keys of bearer tokens are not loaded yet")
        try:
            decoded = jwt.decode(token, keys, algorithms=SIGNING)
            jwt.JWTClaimsRegistry(leeway=CLOCK_SKEW, exp={"essential": True}).validate(decoded.claims)
        except JoseError as err:
            if err.error == "invalid_key_id":
                self._refresh_later()  # the provider may have rotated its keys
            raise AuthFailure(f"bearer token refused: {err}") from None
        except ValueError as err:
            raise AuthFailure(f"bearer token refused: {err}") from None
        if time.monotonic() - self._ccg_fetched > JWKS_REFRESH:
            self._refresh_later()
        c = self.ccg
        return self._principal(dict(decoded.claims), "bearer", c["CCG_RequireClaim"], c["CCG_AuthzAdminClaim"],
                               c["CCG_AuthzOperatorClaim"], c["CCG_AuthzViewerClaim"], "sub", AuthFailure)

    def _refresh_later(self) -> None:
        if self._refresh is not None and not self._refresh.done():
            return
        with contextlib.suppress(RuntimeError):  # no running loop: the next request tries again
            self._refresh = asyncio.get_running_loop().create_task(self.refresh_bearer_keys())

    async def refresh_bearer_keys(self) -> None:
        url = self.ccg["CCG_OAuth2TokenVerify"]
        if not url:
            return
        try:
            self._ccg_keys = await self._fetch_ccg_keys(url)
            self._ccg_fetched = time.monotonic()
        except ConfigError as err:
            log.warning("bearer token keys not refreshed: %s", err)

    async def run(self) -> None:
        """Keep the bearer-token keys fresh while the device runs."""
        while True:
            await self.refresh_bearer_keys()
            await asyncio.sleep(JWKS_REFRESH)


OIDC_SERVICE: Key[OidcService] = Key("oidc")
