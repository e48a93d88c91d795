"""Recipient secrets at rest, and what callers below administrator are shown."""

from __future__ import annotations

import os

import pytest

from vigil.core.vault import Vault
from vigil.features.notify.store import public_url, seal, seal_params, shown_params, unseal


def test_secrets_sealed_under_another_key_read_as_empty():
    mine, other = Vault(os.urandom(32)), Vault(os.urandom(32))
    sealed = seal(mine, "s3cret")
    assert sealed != "s3cret" and unseal(mine, sealed) == "s3cret"
    assert unseal(other, sealed) == "" and unseal(other, "plain") == "plain"


@pytest.mark.parametrize("url, shown", [
    ("http://127.0.0.1:1/hook?token=UrlToken456", "http://127.0.0.1:1/hook"),
    ("https://user:pass@hooks.example.com/x/y?a=1#frag", "https://hooks.example.com/x/y"),
    ("http://[::1]:8080/p", "http://[::1]:8080/p"),
    ("http://[bad", ""),
])
def test_urls_lose_their_secret_parts(url: str, shown: str) -> None:
    assert public_url(url) == shown


def test_shown_params_by_role() -> None:
    vault = Vault(os.urandom(32))
    params = seal_params(vault, {"upload_url": "http://h/x?token=T", "parameters": "key=K", "password": "P",
                                 "login": "me"})
    assert shown_params(vault, params, reveal=True) == {"upload_url": "http://h/x?token=T", "parameters": "key=K",
                                                        "password": "P", "login": "me"}
    assert shown_params(vault, params, reveal=False) == {"upload_url": "http://h/x", "parameters": "",
                                                         "password": "", "login": "me"}
