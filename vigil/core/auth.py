"""Authentication: HTTP Basic, HTTP Digest (MD5 and SHA-256, qop=auth), browser sessions,
and brute-force blocking.

A nonce is its issue time, this run's id and a serial number, signed with the device key, so
it is checked without a table; a client reuses it until it expires (`stale=true`, and the
client retries). With qop=auth the nonce count of every accepted request is remembered per
nonce (`NonceCounts`): a count seen before is a replayed request and gets `stale=true` too,
which costs an honest client one round trip and an eavesdropper everything. Requests without
qop (RFC 2069, as the `axis` library's RTSP client signs) carry no count and cannot be told
from a replay.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import secrets
from bisect import bisect_right
from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import urlsplit

from vigil.core.accounts import Account, Accounts
from vigil.core.clock import Clock
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.roles import Role
from vigil.core.vault import Vault

NONCE_LIFETIME = 300.0
# Bounds of the nonce-count memory: nonces remembered, and runs of counts remembered in all and
# per nonce. Past them the oldest nonces are forgotten and answered `stale` from then on.
NONCE_TABLE = 4096
NONCE_RUNS = 16384
RUNS_PER_NONCE = 256
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
    method: str = "anonymous"  # anonymous | basic | digest | session | bearer


ANONYMOUS = Principal("anonymous", Role.ANONYMOUS)


class BearerVerifier(Protocol):
    """Checks an `Authorization: Bearer` access token (the OpenID feature's client-credentials
    grant): the principal its claims give, or AuthFailure."""

    def verify_bearer(self, token: str) -> Principal: ...


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
    """Blocks an address that fails too often: more failures in one second than the page or
    device limit (the AXIS conditions), or more than `System.BruteForce.WindowFailures` within
    the last `System.BruteForce.Window` seconds (slow guessing). While blocked, every request
    from the address is refused, right password or not."""

    params: ParamTree
    clock: Clock
    logs: Logs
    _blocked: dict[str, float] = field(default_factory=dict)
    _counts: dict[tuple[str, str], tuple[int, int]] = field(default_factory=lambda: defaultdict(lambda: (0, 0)))
    _recent: dict[str, deque[float]] = field(default_factory=dict)  # address -> failure times in the window

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
        in_window = self._in_window(address)
        if (page_count > self.params.get_int("System.BruteForce.PageFailuresPerSecond")
                or device_count > self.params.get_int("System.BruteForce.DeviceFailuresPerSecond")
                or in_window > self.params.get_int("System.BruteForce.WindowFailures")):
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

    def _in_window(self, address: str) -> int:
        """Record a failure of `address` now; return its failures within the window."""
        now = self.clock.monotonic()
        start = now - self.params.get_int("System.BruteForce.Window")
        limit = self.params.get_int("System.BruteForce.WindowFailures")
        times = self._recent.get(address)
        if times is None:
            if len(self._recent) >= 10_000:  # forget addresses that stopped failing, then the oldest
                self._recent = {a: t for a, t in self._recent.items() if t and t[-1] > start}
                while len(self._recent) >= 10_000:
                    del self._recent[next(iter(self._recent))]
            times = self._recent[address] = deque()
        times.append(now)
        while times and (times[0] <= start or len(times) > limit + 1):  # limit + 1 decides; keep no more
            times.popleft()
        return len(times)


class NonceCounts:
    """The nonce counts (nc) already accepted, per nonce, as sorted runs of consecutive counts:
    a client counting up keeps one run, several connections sharing a nonce one run each.

    Memory is bounded: past `NONCE_TABLE` nonces or `NONCE_RUNS` runs the nonces first used
    longest ago are forgotten, and every nonce not in the table whose serial is at most that of
    one forgotten is refused as stale from then on (`retired`), so that forgetting never lets a
    replay through.
    """

    def __init__(self) -> None:
        self._runs: dict[str, tuple[int, list[int], list[int]]] = {}  # nonce -> (serial, starts, ends)
        self._total = 0
        self.retired = -1  # nonces up to this serial that are not in the table are stale

    def has(self, nonce: str) -> bool:
        return nonce in self._runs

    def known(self, nonce: str, serial: int) -> bool:
        return nonce in self._runs or serial > self.retired

    def use(self, nonce: str, serial: int, count: int) -> str:
        """Record `count` for `nonce`: "ok", "replay" (seen before) or "full" (too many runs)."""
        entry = self._runs.get(nonce)
        if entry is None:
            entry = self._runs[nonce] = (serial, [], [])
        _, starts, ends = entry
        i = bisect_right(starts, count) - 1
        if i >= 0 and count <= ends[i]:
            return "replay"
        joins_left = i >= 0 and ends[i] == count - 1
        joins_right = i + 1 < len(starts) and starts[i + 1] == count + 1
        if joins_left and joins_right:
            ends[i] = ends[i + 1]
            del starts[i + 1], ends[i + 1]
            self._total -= 1
        elif joins_left:
            ends[i] = count
        elif joins_right:
            starts[i + 1] = count
        else:
            if len(starts) >= RUNS_PER_NONCE:
                return "full"
            starts.insert(i + 1, count)
            ends.insert(i + 1, count)
            self._total += 1
        while len(self._runs) > NONCE_TABLE or self._total > NONCE_RUNS:
            self._forget_oldest()
        return "ok"

    def _forget_oldest(self) -> None:
        # The nonce first used longest ago; `retired` covers it whatever its serial.
        serial, starts, _ = self._runs.pop(next(iter(self._runs)))
        self._total -= len(starts)
        self.retired = max(self.retired, serial)


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
        # Sessions of people the device has no account for (an OpenID provider vouched for them):
        # token -> (who, idle expiry); the role is the one their claims gave at login.
        self._external: dict[str, tuple[Principal, float]] = {}
        self._bearer: BearerVerifier | None = None
        # Nonces name the run that issued them: a nonce of an earlier run (before a restart)
        # has no counts remembered here, so it is stale.
        self._run = secrets.token_hex(8)
        self._serial = 0
        self.nonce_counts = NonceCounts()
        self._redirects: dict[tuple[str, int], str] = {}  # (nonce, count) -> the target it was redirected to
        self._audited: dict[tuple[str, str, str], float] = {}
        # Who has talked to the device lately: (address, user) -> (method, wall-clock time).
        self.clients: dict[tuple[str, str], tuple[str, float]] = {}

    # -- challenges --------------------------------------------------------------------
    def nonce(self) -> str:
        """Issue time (hex), this run's id (16 hex), a serial (12 hex), and their signature (32 hex)."""
        self._serial += 1
        body = f"{int(self.clock.time()):x}{self._run}{self._serial:012x}"
        return body + self.vault.sign("nonce" + body)

    def challenges(self, stale: bool = False) -> list[str]:
        nonce = self.nonce()
        base = f'realm="{self.realm}", nonce="{nonce}", qop="auth", stale={"TRUE" if stale else "FALSE"}'
        headers = [f"Digest {base}, algorithm=SHA-256", f"Digest {base}, algorithm=MD5"]
        if self.params.get("Network.HTTP.AuthenticationPolicy") in ("basic", "basic_digest"):
            headers.append(f'Basic realm="{self.realm}"')
        return headers

    def _nonce_state(self, nonce: str) -> tuple[str, int]:
        """("bad" | "stale" | "ok", serial) of a nonce a client sent back."""
        body, mac = nonce[:-32], nonce[-32:]
        stamp, run, serial = body[:-28], body[-28:-12], body[-12:]
        try:
            issued, number = int(stamp, 16), int(serial, 16)
        except ValueError:
            return "bad", 0
        # A nonce with counts on record was verified when they were; others are checked here.
        # Compare bytes: compare_digest refuses str with non-ASCII characters (headers are latin-1).
        if not self.nonce_counts.has(nonce) and not secrets.compare_digest(
                mac.encode(), self.vault.sign("nonce" + body).encode()):
            return "bad", 0
        if (run != self._run or self.clock.time() - issued > NONCE_LIFETIME
                or not self.nonce_counts.known(nonce, number)):
            return "stale", number
        return "ok", number

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
        elif scheme == "bearer" and self._bearer is not None:
            principal = self._bearer.verify_bearer(authorization.split(" ", 1)[1].strip() if " " in authorization
                                                   else "")
            self._audit_once(principal.name, address, "bearer")
            return principal
        else:
            raise AuthFailure(f"unsupported authorization scheme {scheme!r}")
        self._audit_once(account.name, address, how)
        return Principal(account.name, account.role, account.ptz, how)

    def accept_bearer(self, verifier: BearerVerifier | None) -> None:
        """Take `Authorization: Bearer` tokens, checked by `verifier` (None: refuse them again)."""
        self._bearer = verifier

    def redirected(self, authorization: str, location: str) -> None:
        """A Digest request was answered with a redirect. Clients such as httpx (the `axis`
        library's) follow it with the same Authorization header, so its count may be used once
        more, for that target (path and query) only."""
        try:
            fields = parse_digest(authorization)
            nonce, count = fields["nonce"], int(fields["nc"], 16)
        except (ValueError, KeyError):
            return
        target = urlsplit(location)
        if len(self._redirects) >= 256:  # not followed: forget the oldest
            del self._redirects[next(iter(self._redirects))]
        self._redirects[(nonce, count)] = target.path + (f"?{target.query}" if target.query else "")

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
        state, serial = self._nonce_state(nonce)
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
        count = None
        if qop == "auth":
            nc = f.get("nc", "")
            if not 1 <= len(nc) <= 8 or any(c not in "0123456789abcdefABCDEF" for c in nc):
                raise AuthFailure("malformed nonce count", user)
            count = int(nc, 16)
            expected = h(f"{ha1}:{nonce}:{nc}:{f.get('cnonce', '')}:auth:{ha2}")
        elif qop is None:
            expected = h(f"{ha1}:{nonce}:{ha2}")
        else:
            raise AuthFailure(f"unsupported qop {qop}", user)
        if not secrets.compare_digest(expected.encode(), response.lower().encode()):
            raise AuthFailure("wrong user name or password", user)
        if state == "stale":
            raise AuthFailure("nonce expired", user, stale=True)
        if count is not None:
            use = self.nonce_counts.use(nonce, serial, count)
            if use == "replay" and self._redirects.get((nonce, count)) == uri:
                del self._redirects[(nonce, count)]  # following our own redirect, once
            elif use == "replay":
                raise AuthFailure(f"nonce count {count} used before (a replayed request?)", user, stale=True)
            if use == "full":
                raise AuthFailure("nonce used up", user, stale=True)
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

    def start_session(self, principal: Principal, address: str) -> str:
        """A browser session for someone the device has no account for (an OpenID login), with
        the role `principal` holds; the same idle timeout and logout as any other session."""
        token = secrets.token_urlsafe(32)
        if len(self._external) >= 10_000:  # forget the oldest rather than grow without bound
            del self._external[next(iter(self._external))]
        self._external[token] = (principal, self.clock.monotonic() + SESSION_IDLE)
        self.logs.audit(principal.name, f"logged in from {address} with {principal.method} as {principal.role.label}",
                        "auth")
        return token

    def drop_external_sessions(self) -> None:
        """End every session an OpenID provider vouched for (its configuration changed)."""
        self._external.clear()

    def session(self, token: str) -> Principal | None:
        external = self._external.get(token)
        if external is not None:
            principal, expires = external
            now = self.clock.monotonic()
            if now > expires:
                del self._external[token]
                return None
            self._external[token] = (principal, now + SESSION_IDLE)
            return principal
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
        external = self._external.pop(token, None)
        if external:
            self.logs.audit(external[0].name, "logged out", "auth")

    def drop_sessions(self, user: str) -> None:
        """End every session of an account that was removed or changed password."""
        for token in [t for t, (u, _) in self._sessions.items() if u == user]:
            del self._sessions[token]
