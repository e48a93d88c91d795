"""Which credentials answer a challenge (proxyauth.py): a 407 gets those of the proxy its realm
names, else the first proxy's when it has a user name, else the account's; a 401 always the account's.
(The same with a real authenticating Kamailio proxy: test_routing.py.)"""

from __future__ import annotations

from vigil.features.sip.proxyauth import ProxyLogin, credentials

FIRST = ProxyLogin("edge.example:5070", "edge-user", "edge-pass")
SECOND = ProxyLogin("core.example", "core-user", "core-pass")
BARE = ProxyLogin("bare.example")


def _challenge(realm: str) -> str:
    return f'Digest realm="{realm}", nonce="abc", qop="auth"'


def test_a_407_gets_the_credentials_of_the_proxy_its_realm_names() -> None:
    assert credentials(407, _challenge("core.example"), (FIRST, SECOND), "door", "pw") == ("core-user", "core-pass")
    assert credentials(407, _challenge("edge.example:5070"), (SECOND, FIRST), "door", "pw") == ("edge-user",
                                                                                               "edge-pass")
    assert credentials(407, _challenge("edge.example"), (SECOND, FIRST), "door", "pw") == ("edge-user", "edge-pass")


def test_otherwise_the_first_proxys_then_the_accounts() -> None:
    assert credentials(407, _challenge("elsewhere"), (FIRST, SECOND), "door", "pw") == ("edge-user", "edge-pass")
    assert credentials(407, _challenge("elsewhere"), (BARE, SECOND), "door", "pw") == ("door", "pw")
    assert credentials(407, _challenge("core.example"), (), "door", "pw") == ("door", "pw")


def test_a_401_is_answered_with_the_accounts() -> None:
    assert credentials(401, _challenge("core.example"), (FIRST, SECOND), "door", "pw") == ("door", "pw")
