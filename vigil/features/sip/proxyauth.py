"""Per-proxy user name and password (the manual's account > Proxies: "Server address",
"Username", "Password"): which credentials answer a challenge.

A 401 (WWW-Authenticate) comes from the registrar or the far end: the account's credentials
answer it. A 407 (Proxy-Authenticate) comes from a proxy on the way: it is answered with the
credentials of the proxy whose address (host, or host:port) the challenge's realm names; failing
that, with those of the first proxy (the next hop, through which the challenge came back) when it
has a user name; else with the account's (what a proxy without credentials of its own takes).
How the entries are stored and shown (the password sealed, never shown) is accounts.py's."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.features.sip import message as m


@dataclass(frozen=True)
class ProxyLogin:
    """One outbound proxy's credentials (the password in clear, only in memory)."""

    address: str  # host[:port], as the account's proxies list has it
    user: str = ""
    password: str = ""


def credentials(status: int, challenge: str, logins: tuple[ProxyLogin, ...], account_user: str,
                account_password: str) -> tuple[str, str]:
    """(user, password) answering a `status` 401/407 with the `challenge` header's value."""
    if status == 407:
        named = [x for x in logins if x.user]
        realm = m.challenge_fields(challenge).get("realm", "")
        chosen = next((x for x in named if realm in (x.address, x.address.rsplit(":", 1)[0])), None)
        if chosen is None and logins and logins[0].user:
            chosen = logins[0]
        if chosen is not None:
            return chosen.user, chosen.password
    return account_user, account_password
