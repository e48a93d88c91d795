"""SSH accounts, apart from the web interface's accounts as the manual has them: a name, a
password (stored sealed) and a comment. The device's root account, where it has one, logs in
over SSH with its own password and is listed first; it cannot be added, changed or removed
here."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass

from vigil.core.accounts import Accounts
from vigil.core.store import Store
from vigil.core.vault import SealError, Vault
from vigil.features.ssh.const import MAX_COMMENT, MAX_PASSWORD, MAX_USERS, ROOT, USERNAME, USERS_KEY


class SshAccountError(ValueError):
    """A change the SSH accounts refuse; `status` is the HTTP status of the refusal."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class SshAccount:
    name: str
    comment: str


def check_password(password: object) -> str:
    if not isinstance(password, str) or not 1 <= len(password) <= MAX_PASSWORD:
        raise SshAccountError(f"password must be 1 to {MAX_PASSWORD} characters")
    if any(not 32 <= ord(c) <= 126 for c in password):
        raise SshAccountError("password may hold printable ASCII characters only (codes 32 to 126)")
    return password


def check_comment(comment: object) -> str:
    if not isinstance(comment, str) or len(comment) > MAX_COMMENT:
        raise SshAccountError(f"comment must be a text of at most {MAX_COMMENT} characters")
    if ":" in comment or any(ord(c) < 32 or ord(c) == 127 for c in comment):
        raise SshAccountError("comment may not hold a colon or control characters")
    return comment


class SshAccounts:
    def __init__(self, store: Store, vault: Vault, accounts: Accounts) -> None:
        self.store, self.vault, self.accounts = store, vault, accounts

    def _load(self) -> dict[str, dict[str, str]]:
        raw = self.store.get_kv(USERS_KEY)
        return json.loads(raw) if raw else {}

    def _save(self, users: dict[str, dict[str, str]]) -> None:
        self.store.set_kv(USERS_KEY, json.dumps(users))

    def list(self) -> list[SshAccount]:
        own = [SshAccount(n, u["comment"]) for n, u in sorted(self._load().items())]
        if self.accounts.get(ROOT) is not None:
            own.insert(0, SshAccount(ROOT, "The device's root account"))
        return own

    def get(self, name: str) -> SshAccount | None:
        return next((a for a in self.list() if a.name == name), None)

    def add(self, name: object, password: object, comment: object = "") -> SshAccount:
        if not isinstance(name, str) or not USERNAME.match(name):
            raise SshAccountError("username must be 1 to 32 lowercase letters, digits or hyphens, "
                                  "starting with a letter")
        users = self._load()
        if name == ROOT or name in users:
            raise SshAccountError(f"the SSH account {name} exists", 409)
        if len(users) >= MAX_USERS:
            raise SshAccountError(f"at most {MAX_USERS} SSH accounts")
        users[name] = {"password": self.vault.seal(check_password(password)), "comment": check_comment(comment)}
        self._save(users)
        return SshAccount(name, users[name]["comment"])

    def update(self, name: str, password: object | None = None, comment: object | None = None) -> None:
        if name == ROOT:
            raise SshAccountError("the root account's password is changed under Accounts")
        users = self._load()
        if name not in users:
            raise SshAccountError(f"no SSH account {name}", 404)
        if password is not None:
            users[name]["password"] = self.vault.seal(check_password(password))
        if comment is not None:
            users[name]["comment"] = check_comment(comment)
        self._save(users)

    def remove(self, name: str) -> None:
        if name == ROOT:
            raise SshAccountError("the root account cannot be deleted")
        users = self._load()
        if users.pop(name, None) is None:
            raise SshAccountError(f"no SSH account {name}", 404)
        self._save(users)

    def verify(self, name: str, password: str) -> bool:
        if name == ROOT:
            return self.accounts.verify(ROOT, password) is not None
        user = self._load().get(name)
        if user is None:
            return False
        try:
            kept = self.vault.unseal(user["password"])
        except SealError:
            return False
        return secrets.compare_digest(kept.encode(), password.encode())
