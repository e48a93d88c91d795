"""The stored recipient configurations (at most 20, in the `recipients` table) and their secrets.

A configuration keeps the VAPIX parameters of its template; secret parameters (passwords, keys)
are sealed under the device key (`vigil.core.vault`) before they are stored, and unsealed only to
deliver or to show them to an administrator. Below administrator, secrets are shown empty and the
secret-bearing parts of URLs (user info, query string) are left out. Every change is audited.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from vigil.core.logs import Logs
from vigil.core.store import Store
from vigil.core.vault import SealError, Vault, is_sealed
from vigil.features.notify.const import MAX_RECIPIENTS, QUERY_PARAMS, RECIPIENT_TEMPLATES, SECRETS, URL_PARAMS
from vigil.features.notify.model import Recipient, RecipientError
from vigil.features.notify.settings import NetworkShares, to_recipient

log = logging.getLogger("vigil.notify")


class RecipientConfigError(ValueError):
    """A refused recipient change, with a message for the user."""


# -- secrets at rest ---------------------------------------------------------------------
def seal(vault: Vault, value: str) -> str:
    return value if is_sealed(value) else vault.seal(value)


def unseal(vault: Vault, value: str) -> str:
    """The clear value; empty when it cannot be decrypted (the device key was replaced)."""
    if not is_sealed(value):
        return value
    try:
        return vault.unseal(value)
    except SealError:  # the secret is lost, not the device
        log.warning("a stored recipient secret could not be decrypted; enter it again")
        return ""


def seal_params(vault: Vault, params: Mapping[str, str]) -> dict[str, str]:
    return {k: seal(vault, v) if k in SECRETS else v for k, v in params.items()}


def unseal_params(vault: Vault, params: Mapping[str, str]) -> dict[str, str]:
    return {k: unseal(vault, v) if k in SECRETS else v for k, v in params.items()}


def public_url(url: str) -> str:
    """A URL without the parts that carry secrets: user info, query string and fragment."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return ""
    return urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, "", ""))


def shown_params(vault: Vault, params: Mapping[str, str], reveal: bool) -> dict[str, str]:
    """Parameters as a client sees them: everything in clear for administrators (`reveal`);
    for others secrets and appended query text empty, URLs without user info and query."""
    if reveal:
        return unseal_params(vault, params)
    out = {}
    for key, value in params.items():
        if key in SECRETS or key in QUERY_PARAMS:
            out[key] = ""
        elif key in URL_PARAMS:
            out[key] = public_url(value)
        else:
            out[key] = value
    return out


# -- the store ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RecipientConfig:
    id: int
    name: str
    template: str
    params: Mapping[str, str]  # VAPIX parameters, secrets sealed


class RecipientStore:
    """Recipient configurations: at most 20, persisted, validated in full before storing.
    `shares` is where network share recipients may write (None: the device has no shares)."""

    def __init__(self, store: Store, vault: Vault, logs: Logs, shares: NetworkShares | None) -> None:
        self.store = store
        self.vault = vault
        self.logs = logs
        self.shares = shares
        self.items: dict[int, RecipientConfig] = {}

    def load(self) -> None:
        self.items.clear()
        for rid, name, template, params in self.store.query("SELECT id, name, template, params FROM recipients"):
            self.items[rid] = RecipientConfig(rid, name, template, json.loads(params))

    def list(self) -> list[RecipientConfig]:
        return [self.items[k] for k in sorted(self.items)]

    def get(self, recipient_id: int) -> RecipientConfig:
        config = self.items.get(recipient_id)
        if config is None:
            raise RecipientConfigError(f"Unknown recipient configuration {recipient_id}")
        return config

    def recipient(self, config: RecipientConfig) -> Recipient:
        """What to deliver to; RecipientError when it no longer can be (a share was removed)."""
        return self.to_recipient(config.template, config.name, unseal_params(self.vault, config.params))

    def to_recipient(self, token: str, name: str, params: Mapping[str, str]) -> Recipient:
        return to_recipient(token, name, params, self.shares)

    def check(self, name: str, template: str, params: Mapping[str, str]) -> dict[str, str]:
        """Validate a new configuration; returns the complete parameter set (missing ones empty)."""
        if not name.strip() or len(name) > 128:
            raise RecipientConfigError("A recipient needs a name of 1 to 128 characters")
        if any(ord(c) < 32 for c in name):
            raise RecipientConfigError("The recipient name may not contain control characters")
        try:
            self.to_recipient(template, name, params)
        except RecipientError as err:
            raise RecipientConfigError(f"Recipient {name!r}: {err}") from None
        spec = RECIPIENT_TEMPLATES[template]
        return {k: params.get(k, "") for k in spec.params}

    def add(self, name: str, template: str, params: Mapping[str, str], actor: str) -> RecipientConfig:
        if len(self.items) >= MAX_RECIPIENTS:
            raise RecipientConfigError(f"At most {MAX_RECIPIENTS} recipients are allowed; remove one first")
        full = self.check(name, template, params)
        sealed = seal_params(self.vault, full)
        with self.store.transaction() as db:
            cur = db.execute("INSERT INTO recipients(name, template, params) VALUES(?,?,?)",
                             (name, template, json.dumps(sealed)))
            config = RecipientConfig(cur.lastrowid, name, template, sealed)
        self.items[config.id] = config
        self.logs.audit(actor, f"added recipient {config.id} {name!r} ({template})", "events")
        return config

    def remove(self, recipient_id: int, actor: str, users: list[str]) -> None:
        config = self.get(recipient_id)
        if users:
            raise RecipientConfigError(f"Recipient {recipient_id} ({config.name}) is used by action "
                                       f"configuration(s) {', '.join(users)}; remove them first")
        with self.store.transaction() as db:
            db.execute("DELETE FROM recipients WHERE id=?", (recipient_id,))
        del self.items[recipient_id]
        self.logs.audit(actor, f"removed recipient {recipient_id} {config.name!r}", "events")
