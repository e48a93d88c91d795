"""The OpenID settings as the Device Configuration APIs name them, checked and kept.

The setup (VAPIX "OpenID Connect Setup", `oidcsetup.v1`): `BaseConfigEntity` holds the provider's
discovery URL, the outgoing proxy, the remote-user claim, the required claim and `AuthEntity`
(client ID and secret, the claims of the three roles, extra scopes). `OIDC_Enabled` is the
manual's "Enable OpenID" switch (the login page then offers the provider). The client-credentials
grant (`oauth-ccgrant.v1`) has one entity, `AuthEntity`: the JWKS URI that serves the keys of the
access tokens, the required claim and the claims of the three roles.

A change is a PATCH of an entity or of one property. Every value is checked against the API's
data types before anything is kept; the client secret is stored sealed and never read back."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from vigil.core.store import Store
from vigil.core.vault import SealError, Vault
from vigil.features.oidc.const import MAX_TEXT, REMOTE_USER_CLAIMS

_URL = re.compile(r"^[\w \"'.:\-/~?]+$")
_PROXY = re.compile(r"^[\w \"'.:/?]*$")
_REMOTE_USER = re.compile(r'^(sub|email|preferred_username|("[a-zA-Z0-9]*"))$')
DISCOVERY_SUFFIX = "/.well-known/openid-configuration"


class ConfigError(ValueError):
    """A value the API refuses; `str()` says which and why."""


def _text(name: str, value: Any, required: bool = False, pattern: re.Pattern[str] | None = None) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name} must be a string")
    if required and not value:
        raise ConfigError(f"{name} must not be empty")
    if len(value) > MAX_TEXT:
        raise ConfigError(f"{name} is longer than {MAX_TEXT} characters")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ConfigError(f"{name} must not hold control characters")
    if value and pattern is not None and not pattern.match(value):
        raise ConfigError(f"{name} holds characters the API does not allow")
    return value


def _url(name: str, value: Any, suffix: str = "") -> str:
    text = _text(name, value, pattern=_URL)
    if not text:
        return text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"{name} must be an http:// or https:// address")
    if suffix and not parts.path.endswith(suffix):
        raise ConfigError(f"{name} must end with {suffix}")
    return text


def _remote_user(name: str, value: Any) -> str:
    text = _text(name, value, required=True)
    if not _REMOTE_USER.match(text):
        raise ConfigError(f"{name} must be {', '.join(REMOTE_USER_CLAIMS)} or a quoted claim name")
    return text


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{name} must be true or false")
    return value


@dataclass(frozen=True)
class Prop:
    check: Callable[[str, Any], Any]
    default: Any = ""
    secret: bool = False  # set only, never read back; stored sealed


def _plain(name: str, value: Any) -> str:
    return _text(name, value)


SETUP_AUTH = {
    "OIDC_AuthzAdminClaim": Prop(_plain),
    "OIDC_AuthzOperatorClaim": Prop(_plain),
    "OIDC_AuthzViewerClaim": Prop(_plain),
    "OIDC_AuthzScopes": Prop(lambda n, v: _text(n, v, pattern=_PROXY)),
    "OIDC_ClientID": Prop(_plain),
    "OIDC_ClientSecret": Prop(_plain, secret=True),
}
SETUP_BASE = {
    "OIDC_Enabled": Prop(_flag, False),
    "OIDC_OutgoingProxy": Prop(lambda n, v: _text(n, v, pattern=_PROXY)),
    "OIDC_ProviderMetadataURL": Prop(lambda n, v: _url(n, v, DISCOVERY_SUFFIX)),
    "OIDC_RemoteUserClaim": Prop(_remote_user, "sub"),
    "OIDC_RequireClaim": Prop(_plain),
}
CCG_AUTH = {
    "CCG_AuthzAdminClaim": Prop(_plain),
    "CCG_AuthzOperatorClaim": Prop(_plain),
    "CCG_AuthzViewerClaim": Prop(_plain),
    "CCG_OAuth2TokenVerify": Prop(_url),
    "CCG_RequireClaim": Prop(_plain),
}

# Each API as a tree: an entity maps its children (entities as dicts, properties as Prop).
SETUP_TREE: dict[str, Any] = {"BaseConfigEntity": {**SETUP_BASE, "AuthEntity": SETUP_AUTH}}
CCG_TREE: dict[str, Any] = {"AuthEntity": CCG_AUTH}


def props(tree: dict[str, Any]) -> dict[str, Prop]:
    """Every property of `tree`, flat (property names are unique in an API)."""
    out: dict[str, Prop] = {}
    for name, node in tree.items():
        if isinstance(node, dict):
            out.update(props(node))
        else:
            out[name] = node
    return out


def defaults(tree: dict[str, Any]) -> dict[str, Any]:
    return {name: prop.default for name, prop in props(tree).items()}


def shown(tree: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """`values` nested as the API shows `tree`, secrets left out."""
    out: dict[str, Any] = {}
    for name, node in tree.items():
        if isinstance(node, dict):
            out[name] = shown(node, values)
        elif not node.secret:
            out[name] = values[name]
    return out


def node_at(tree: dict[str, Any], path: list[str]) -> Any:
    """The entity (a dict) or property (a Prop) at `path`; ConfigError when there is none."""
    node: Any = tree
    for part in path:
        if not isinstance(node, dict) or part not in node:
            raise LookupError("/".join(path))
        node = node[part]
    return node


def patched(tree: dict[str, Any], values: dict[str, Any], path: list[str], data: Any) -> dict[str, Any]:
    """`values` with `data` set at `path` (an entity's object, or one property's value), checked."""
    node = node_at(tree, path)
    new = dict(values)
    if not isinstance(node, dict):
        new[path[-1]] = node.check(path[-1], data)
        return new
    if not isinstance(data, dict):
        raise ConfigError(f"{'/'.join(path) or 'the API'} takes an object")
    for key, value in data.items():
        if key not in node:
            raise ConfigError(f"unknown property {str(key)[:64]}")
        new = patched(tree, new, [*path, key], value)
    return new


class Settings:
    """One API's values, kept as JSON in the store under `key` (secrets sealed)."""

    def __init__(self, store: Store, vault: Vault, key: str, tree: dict[str, Any]) -> None:
        self.store, self.vault, self.key, self.tree = store, vault, key, tree
        self.secrets = {n for n, p in props(tree).items() if p.secret}

    def load(self) -> dict[str, Any]:
        values = defaults(self.tree)
        raw = self.store.get_kv(self.key)
        if raw:
            stored = json.loads(raw)
            for name in values:
                if name in stored:
                    values[name] = stored[name]
            for name in self.secrets:
                try:
                    values[name] = self.vault.unseal(stored[name]) if stored.get(name) else ""
                except SealError:
                    values[name] = ""  # sealed under an earlier device key: set it again
        return values

    def save(self, values: dict[str, Any]) -> None:
        kept = {n: (self.vault.seal(v) if n in self.secrets else v) for n, v in values.items()}
        self.store.set_kv(self.key, json.dumps(kept))


def changed_names(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    return [n for n in new if old.get(n) != new[n]]
