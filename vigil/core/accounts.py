"""Accounts: up to 100, each with a role (administrator, operator, viewer), a PTZ flag and an
ONVIF flag.

An ONVIF account is an account like the others that ONVIF clients may use too; its ONVIF user
level follows its role (administrator: Administrator, operator: Operator, viewer: User, the
manual's "media account"). The first ONVIF account turns ONVIF on (`onvif_enabled`).
There is no default account. Passwords are stored encrypted under the device key and kept
decrypted in memory only, because Digest and ONVIF authentication need the plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from vigil.core.clock import Clock
from vigil.core.logs import Logs
from vigil.core.roles import Role
from vigil.core.store import Store
from vigil.core.vault import Vault

MAX_ACCOUNTS = 100
NAME_RULE = re.compile(r"^[A-Za-z0-9_]{1,14}$")
PROTECTED_NAME = "root"


class AccountError(Exception):
    """A refused account change; `kind` says which VAPIX error text applies."""

    def __init__(self, message: str, kind: str = "invalid") -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True)
class Account:
    name: str
    role: Role
    ptz: bool = False
    comment: str = ""
    onvif: bool = False  # ONVIF clients may use it (WS-UsernameToken or HTTP Digest)


def check_password(password: str) -> None:
    if not 1 <= len(password) <= 64:
        raise AccountError("Passwords must be 1 to 64 characters long.", "password")
    if any(not 32 <= ord(c) <= 126 for c in password):
        raise AccountError("Only printable ASCII characters (32 to 126) are allowed in passwords.", "password")


def check_name(name: str) -> None:
    if not NAME_RULE.match(name or ""):
        raise AccountError("Account names are 1 to 14 letters, digits or underscores.", "name")


class Accounts:
    def __init__(self, store: Store, vault: Vault, logs: Logs, clock: Clock) -> None:
        self.store = store
        self.vault = vault
        self.logs = logs
        self.clock = clock
        self._cache: dict[str, tuple[Account, str]] = {}
        self.reload()

    def reload(self) -> None:
        rows = self.store.query("SELECT name, role, ptz, comment, secret, onvif FROM accounts ORDER BY created")
        self._cache = {
            name: (Account(name, Role.parse(role), bool(ptz), comment, bool(onvif)), self.vault.decrypt(secret))
            for name, role, ptz, comment, secret, onvif in rows
        }

    # -- reading -----------------------------------------------------------------------
    def all(self) -> list[Account]:
        return [a for a, _ in self._cache.values()]

    def get(self, name: str) -> Account | None:
        entry = self._cache.get(name)
        return entry[0] if entry else None

    def password(self, name: str) -> str | None:
        entry = self._cache.get(name)
        return entry[1] if entry else None

    def verify(self, name: str, password: str) -> Account | None:
        import hmac

        entry = self._cache.get(name)
        if entry and hmac.compare_digest(entry[1].encode(), password.encode()):
            return entry[0]
        return None

    @property
    def admin_exists(self) -> bool:
        return any(a.role == Role.ADMIN for a, _ in self._cache.values())

    @property
    def onvif_enabled(self) -> bool:
        """ONVIF is on once there is an ONVIF account (the manual: creating one enables ONVIF)."""
        return any(a.onvif for a, _ in self._cache.values())

    # -- changing ----------------------------------------------------------------------
    def add(self, name: str, password: str, role: Role, ptz: bool, comment: str, actor: str,
            onvif: bool = False) -> Account:
        check_name(name)
        if name in self._cache:
            raise AccountError(f"The account {name} already exists.", "exists")
        if len(self._cache) >= MAX_ACCOUNTS:
            raise AccountError(f"At most {MAX_ACCOUNTS} accounts are allowed.", "limit")
        if not self.admin_exists and role != Role.ADMIN:
            raise AccountError("The first account must be an administrator.", "initial")
        check_password(password)
        check_comment(comment)
        account = Account(name, role, ptz, comment, onvif)
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO accounts(name, role, ptz, comment, secret, created, onvif) VALUES(?,?,?,?,?,?,?)",
                (name, role.label, int(ptz), comment, self.vault.encrypt(password), self.clock.time(), int(onvif)),
            )
        self._cache[name] = (account, password)
        self.logs.audit(actor, f"added account {name} role={role.label} ptz={ptz} onvif={onvif}", "accounts")
        return account

    def update(self, name: str, actor: str, password: str | None = None, role: Role | None = None,
               ptz: bool | None = None, comment: str | None = None, onvif: bool | None = None) -> Account:
        current = self.get(name)
        if current is None:
            raise AccountError(f"No account named {name}.", "missing")
        if password is not None:
            check_password(password)
        if comment is not None:
            check_comment(comment)
        new_role = role if role is not None else current.role
        if current.role == Role.ADMIN and new_role != Role.ADMIN and self._admins() == 1:
            raise AccountError("The last administrator cannot lose the administrator role.", "last-admin")
        account = Account(
            name,
            new_role,
            ptz if ptz is not None else current.ptz,
            comment if comment is not None else current.comment,
            onvif if onvif is not None else current.onvif,
        )
        secret = password if password is not None else self._cache[name][1]
        with self.store.transaction() as db:
            db.execute(
                "UPDATE accounts SET role=?, ptz=?, comment=?, secret=?, onvif=? WHERE name=?",
                (account.role.label, int(account.ptz), account.comment, self.vault.encrypt(secret),
                 int(account.onvif), name),
            )
        self._cache[name] = (account, secret)
        what = [f"role={account.role.label}", f"ptz={account.ptz}", f"onvif={account.onvif}"] + (["password"] if password else [])
        self.logs.audit(actor, f"updated account {name} " + " ".join(what), "accounts")
        return account

    def remove(self, name: str, actor: str) -> None:
        current = self.get(name)
        if current is None:
            raise AccountError(f"No account named {name}.", "missing")
        if name == PROTECTED_NAME:
            raise AccountError("The root account cannot be deleted.", "protected")
        if current.role == Role.ADMIN and self._admins() == 1:
            raise AccountError("The last administrator cannot be deleted.", "last-admin")
        with self.store.transaction() as db:
            db.execute("DELETE FROM accounts WHERE name=?", (name,))
        del self._cache[name]
        self.logs.audit(actor, f"removed account {name}", "accounts")

    def _admins(self) -> int:
        return sum(1 for a, _ in self._cache.values() if a.role == Role.ADMIN)


def check_comment(comment: str) -> None:
    if len(comment) > 64 or any(ord(c) < 32 for c in comment):
        raise AccountError("Comments are at most 64 characters without control characters.", "comment")
