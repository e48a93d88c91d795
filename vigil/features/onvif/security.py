"""WS-Security UsernameToken (OASIS UsernameToken Profile 1.0) as ONVIF uses it.

PasswordDigest = Base64(SHA-1(nonce ‖ Created ‖ password)), checked against the account's
password, which the accounts store keeps sealed and decrypts only in memory. A token whose
Created lies more than `TIME_WINDOW` seconds from the device's time is refused, and so is a
nonce seen before with the same Created within that window (a replayed request: the digest
covers both, so a replay repeats both; libonvif sends one nonce with every request of a second,
each with its own Created). PasswordText carries the password
itself: accepted as the profile allows, best over HTTPS.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections import OrderedDict
from datetime import datetime

from lxml import etree

from vigil.core.accounts import Account, Accounts
from vigil.core.clock import Clock
from vigil.features.onvif.const import (
    MAX_NONCES,
    NOT_AUTHORIZED,
    PASSWORD_DIGEST,
    PASSWORD_TEXT,
    TIME_WINDOW,
    WSSE,
    WSU,
)
from vigil.http.soap import SoapFault


class NotAuthorized(SoapFault):
    """Sender / ter:NotAuthorized; `guess` marks a wrong password (the brute-force guard counts it)."""

    def __init__(self, reason: str, guess: bool = False) -> None:
        super().__init__(f"Sender not Authorized: {reason}", "Sender", (NOT_AUTHORIZED,))
        self.guess = guess


def refused(reason: str) -> NotAuthorized:
    return NotAuthorized(reason)


def wrong_password() -> NotAuthorized:
    return NotAuthorized("wrong user name or password", guess=True)


def password_digest(nonce: bytes, created: str, password: str) -> str:
    return base64.b64encode(hashlib.sha1(nonce + created.encode() + password.encode()).digest()).decode()


def parse_created(text: str) -> float:
    """An xsd:dateTime with a zone (`Z` or `+hh:mm`), as seconds since the epoch."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise refused(f"Created is not a date and time: {value[:40]!r}") from None
    if moment.tzinfo is None:
        raise refused("Created needs a time zone (e.g. 2026-01-01T00:00:00Z)")
    return moment.timestamp()


class UsernameTokens:
    """Checks the UsernameToken of a request's Security header."""

    def __init__(self, accounts: Accounts, clock: Clock) -> None:
        self.accounts = accounts
        self.clock = clock
        self._nonces: OrderedDict[tuple[bytes, str], float] = OrderedDict()  # (nonce, Created) -> when it may go

    @staticmethod
    def token_of(headers: list[etree._Element]) -> etree._Element | None:
        for block in headers:
            if block.tag == f"{{{WSSE}}}Security":
                token = block.find(f"{{{WSSE}}}UsernameToken")
                if token is None:
                    raise refused("the Security header has no UsernameToken")
                return token
        return None

    @staticmethod
    def names_a_user(token: etree._Element) -> bool:
        """False for a token with an empty Username: no credentials (libonvif, onvif-util's library,
        sends one with its pre-authentication requests before it has been given a user)."""
        return bool((token.findtext(f"{{{WSSE}}}Username") or "").strip())

    def verify(self, token: etree._Element) -> Account:
        """The ONVIF account the token proves, or a NotAuthorized fault."""
        user = (token.findtext(f"{{{WSSE}}}Username") or "").strip()
        password_el = token.find(f"{{{WSSE}}}Password")
        if not user or password_el is None:
            raise refused("the UsernameToken needs a Username and a Password")
        kind = password_el.get("Type") or PASSWORD_TEXT
        given = password_el.text or ""
        stored = self.accounts.password(user)
        account = self.accounts.get(user)
        if kind == PASSWORD_DIGEST:
            nonce_text = token.findtext(f"{{{WSSE}}}Nonce")
            created = token.findtext(f"{{{WSU}}}Created")
            if nonce_text is None or created is None:
                raise refused("a PasswordDigest needs a Nonce and a Created time")
            try:
                nonce = base64.b64decode(nonce_text.strip(), validate=True)
            except (binascii.Error, ValueError):
                raise refused("the Nonce is not Base64") from None
            if stored is None or not secrets.compare_digest(
                    password_digest(nonce, created, stored).encode(), given.strip().encode()):
                raise wrong_password()
            self._check_fresh((nonce, created.strip()), parse_created(created))
        elif kind == PASSWORD_TEXT:
            if stored is None or not secrets.compare_digest(stored.encode(), given.encode()):
                raise wrong_password()
        else:
            raise refused(f"unknown password type {kind[:80]!r}")
        assert account is not None
        if not account.onvif:
            raise refused(f"{user} is not an ONVIF account")
        return account

    def _check_fresh(self, nonce: tuple[bytes, str], created: float) -> None:
        now = self.clock.time()
        if abs(now - created) > TIME_WINDOW:
            raise refused(f"Created is {now - created:+.0f} s from the device's time "
                          f"(more than {TIME_WINDOW:.0f} s): set the client's or the device's clock")
        while self._nonces and next(iter(self._nonces.values())) < now:
            self._nonces.popitem(last=False)
        if nonce in self._nonces:
            raise refused("this nonce was used before (a replayed request?)")
        self._nonces[nonce] = created + TIME_WINDOW
        while len(self._nonces) > MAX_NONCES:
            self._nonces.popitem(last=False)
