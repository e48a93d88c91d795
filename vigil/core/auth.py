"""Authentication: HTTP Basic, HTTP Digest (MD5 and SHA-256, qop=auth), browser sessions,
and brute-force blocking.

Nonces are stateless (a timestamp signed with the device key), so any number of clients can
reuse them until they expire; an expired nonce gets `stale=true` and the client retries.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from collections import defaultdict
from dataclasses import dataclass, field

from vigil.core.accounts import Account, Accounts
from vigil.core.clock import Clock
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.roles import Role
from vigil.core.vault import Vault

NONCE_LIFETIME = 300.0
SESSION_IDLE = 3600.0
AUDIT_REPEAT = 600.0  # the same user from the same address is audited again after this
# A bare token may not hold a quote: an unterminated quoted value is malformed, not truncated.
_PAIR = re.compile(r'\s*([A-Za-z0-9_-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^,\s"]*)\s*(?:,|$)')
_ESCAPED = re.compile(r"\\(.)")
_HASHES = {"MD5": hashlib.md5, "SHA-256": hashlib.sha256}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    ptz: bool = False
    method: str = "anonymous"  # anonymous | basic | digest | session


ANONYMOUS = Principal("anonymous", Role.ANONYMOUS)


class AuthFailure(Exception):
    """Credentials were presented and are wrong; `stale` marks an expired Digest nonce."""

    def __init__(self, reason: str, user: str = "", stale: bool = False) -> None:
        super().__init__(reason)
        self.user = user
        self.stale = stale


def parse_digest(header: str) -> dict[str, str]:
    """Parse the parameters of a `Digest ...` header; raises ValueError when malformed."""
    text = header.strip()
    if not text[:7].lower() == "digest ":
        raise ValueError("not a Digest header")
    text = text[7:]
    fields: dict[str, str] = {}
    pos = 0
    while pos < len(text):
        m = _PAIR.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError("malformed Digest parameters")
        key, value = m.group(1).lower(), m.group(2)
        if value.startswith('"'):
            value = value[1:-1]
            if "\\" in value:
                value = _ESCAPED.sub(r"\1", value)
        fields[key] = value
        pos = m.end()
    return fields


@dataclass
class BruteForceGuard:
    """Blocks an address that fails too often per second, on one page or on the device."""

    params: ParamTree
    clock: Clock
    logs: Logs
    _blocked: dict[str, float] = field(default_factory=dict)
    _counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=lambda: defaultdict(lambda: (0, 0)))

    def blocked(self, address: str) -> bool:
        until = self._blocked.get(address)
        if until is None:
            return False
        if self.clock.monotonic() >= until:
            del self._blocked[address]
            return False
        return True

    def failure(self, address: str, page: str) -> None:
        if not self.params.get_bool("System.BruteForce.Enabled"):
            return
        second = int(self.clock.monotonic())
        page_count = self._bump((address, page), second)
        device_count = self._bump((address, ""), second)
        if (page_count > self.params.get_int("System.BruteForce.PageFailuresPerSecond")
                or device_count > self.params.get_int("System.BruteForce.DeviceFailuresPerSecond")):
            period = self.params.get_int("System.BruteForce.BlockingPeriod")
            self._blocked[address] = self.clock.monotonic() + period
            self.logs.access(f"blocked {address} for {period} s after repeated authentication failures on {page}")

    def _bump(self, key: tuple[str, str], second: int) -> int:
        at, count = self._counts[key]
        count = count + 1 if at == second else 1
        self._counts[key] = (second, count)
        if len(self._counts) > 10_000:  # forget old windows rather than grow without bound
            self._counts = defaultdict(lambda: (0, 0), {k: v for k, v in self._counts.items() if v[0] == second})
        return count


class Authenticator:
    def __init__(self, accounts: Accounts, params: ParamTree, vault: Vault, clock: Clock, logs: Logs,
                 realm: str) -> None:
        self.accounts = accounts
        self.params = params
        self.vault = vault
        self.clock = clock
        self.logs = logs
        self.realm = realm
        self.guard = BruteForceGuard(params, clock, logs)
        self._sessions: dict[str, tuple[str, float]] = {}
        self._nonces: dict[str, int] = {}  # verified nonce -> issue time
        self._audited: dict[tuple[str, str, str], float] = {}
        # Who has talked to the device lately: (address, user) -> (method, wall-clock time).
        self.clients: dict[tuple[str, str], tuple[str, float]] = {}

    # -- challenges --------------------------------------------------------------------
    def nonce(self) -> str:
        stamp = f"{int(self.clock.time()):x}"
        return stamp + self.vault.sign("nonce" + stamp)

    def challenges(self, stale: bool = False) -> list[str]:
        nonce = self.nonce()
        base = f'realm="{self.realm}", nonce="{nonce}", qop="auth", stale={"TRUE" if stale else "FALSE"}'
        headers = [f"Digest {base}, algorithm=SHA-256", f"Digest {base}, algorithm=MD5"]
        if self.params.get("Network.HTTP.AuthenticationPolicy") in ("basic", "basic_digest"):
            headers.append(f'Basic realm="{self.realm}"')
        return headers

    def _nonce_state(self, nonce: str) -> str:
        issued = self._nonces.get(nonce)
        if issued is None:
            state = self._check_nonce(nonce)
            if state == "bad":
                return state
            if len(self._nonces) >= 1024:
                self._nonces.clear()
            issued = self._nonces[nonce] = int(nonce[:-32], 16)
        return "stale" if self.clock.time() - issued > NONCE_LIFETIME else "ok"

    def _check_nonce(self, nonce: str) -> str:
        stamp, mac = nonce[:-32], nonce[-32:]
        try:
            issued = int(stamp, 16)
        except ValueError:
            return "bad"
        # Compare bytes: compare_digest refuses str with non-ASCII characters (headers are latin-1).
        if not secrets.compare_digest(mac.encode(), self.vault.sign("nonce" + stamp).encode()):
            return "bad"
        return "stale" if self.clock.time() - issued > NONCE_LIFETIME else "ok"

    # -- verification ------------------------------------------------------------------
    def authenticate(self, authorization: str, method: str, uri: str, address: str) -> Principal | None:
        """Return the principal for an Authorization header; None when it carries none."""
        if not authorization:
            return None
        scheme = authorization.split(" ", 1)[0].lower()
        if scheme == "basic":
            account = self._basic(authorization)
            how = "basic"
        elif scheme == "digest":
            account = self._digest(authorization, method, uri)
            how = "digest"
        else:
            raise AuthFailure(f"unsupported authorization scheme {scheme!r}")
        self._audit_once(account.name, address, how)
        return Principal(account.name, account.role, account.ptz, how)

    def _basic(self, header: str) -> Account:
        if self.params.get("Network.HTTP.AuthenticationPolicy") == "digest":
            raise AuthFailure("Basic authentication is turned off")
        try:
            decoded = base64.b64decode(header.split(" ", 1)[1].strip(), validate=True).decode("utf-8")
            user, password = decoded.split(":", 1)
        except (IndexError, ValueError, binascii.Error, UnicodeDecodeError):
            raise AuthFailure("malformed Basic credentials") from None
        account = self.accounts.verify(user, password)
        if account is None:
            raise AuthFailure("wrong user name or password", user)
        return account

    def _digest(self, header: str, method: str, uri: str) -> Account:
        try:
            f = parse_digest(header)
            user, nonce, response, their_uri = f["username"], f["nonce"], f["response"], f["uri"]
        except (ValueError, KeyError):
            raise AuthFailure("malformed Digest credentials") from None
        algorithm = f.get("algorithm", "MD5").upper()
        hasher = _HASHES.get(algorithm)
        if hasher is None:
            raise AuthFailure(f"unsupported Digest algorithm {algorithm}", user)
        if f.get("realm") != self.realm:
            raise AuthFailure("wrong realm", user)
        if their_uri.split("?", 1)[0] != uri.split("?", 1)[0]:
            raise AuthFailure("Digest uri does not match the request", user)
        state = self._nonce_state(nonce)
        if state == "bad":
            raise AuthFailure("unknown nonce", user)
        password = self.accounts.password(user)
        if password is None:
            raise AuthFailure("wrong user name or password", user)

        def h(text: str) -> str:
            return hasher(text.encode()).hexdigest()

        ha1 = h(f"{user}:{self.realm}:{password}")
        ha2 = h(f"{method}:{their_uri}")
        qop = f.get("qop")
        if qop == "auth":
            expected = h(f"{ha1}:{nonce}:{f.get('nc', '')}:{f.get('cnonce', '')}:auth:{ha2}")
        elif qop is None:
            expected = h(f"{ha1}:{nonce}:{ha2}")
        else:
            raise AuthFailure(f"unsupported qop {qop}", user)
        if not secrets.compare_digest(expected.encode(), response.lower().encode()):
            raise AuthFailure("wrong user name or password", user)
        if state == "stale":
            raise AuthFailure("nonce expired", user, stale=True)
        account = self.accounts.get(user)
        assert account is not None
        return account

    def _audit_once(self, user: str, address: str, how: str) -> None:
        self.seen(address, user, how)
        key = (user, address, how)
        now = self.clock.monotonic()
        last = self._audited.get(key)
        if last is None or now - last > AUDIT_REPEAT:
            self._audited[key] = now
            self.logs.audit(user, f"authenticated with {how} from {address}", "auth")

    def seen(self, address: str, user: str, how: str) -> None:
        if len(self.clients) > 1000:
            oldest = sorted(self.clients.items(), key=lambda kv: kv[1][1])[:500]
            for key, _ in oldest:
                del self.clients[key]
        self.clients[(address, user)] = (how, self.clock.time())

    def recent_clients(self, within: float = 600.0) -> list[tuple[str, str, str, float]]:
        """(address, user, method, last seen) of clients seen in the last `within` seconds."""
        now = self.clock.time()
        return sorted(((a, u, m, t) for (a, u), (m, t) in self.clients.items() if now - t <= within),
                      key=lambda row: -row[3])

    # -- browser sessions --------------------------------------------------------------
    def login(self, user: str, password: str, address: str) -> str:
        account = self.accounts.verify(user, password)
        if account is None:
            raise AuthFailure("wrong user name or password", user)
        token = secrets.token_urlsafe(32)
        self._sessions[token] = (user, self.clock.monotonic() + SESSION_IDLE)
        self.logs.audit(user, f"logged in from {address}", "auth")
        return token

    def session(self, token: str) -> Principal | None:
        entry = self._sessions.get(token)
        if entry is None:
            return None
        user, expires = entry
        account = self.accounts.get(user)
        now = self.clock.monotonic()
        if account is None or now > expires:
            self._sessions.pop(token, None)
            return None
        self._sessions[token] = (user, now + SESSION_IDLE)
        return Principal(account.name, account.role, account.ptz, "session")

    def logout(self, token: str) -> None:
        entry = self._sessions.pop(token, None)
        if entry:
            self.logs.audit(entry[0], "logged out", "auth")

    def drop_sessions(self, user: str) -> None:
        """End every session of an account that was removed or changed password."""
        for token in [t for t, (u, _) in self._sessions.items() if u == user]:
            del self._sessions[token]
