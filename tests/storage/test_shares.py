"""Which settings a network share connection test uses, and what a modified share keeps: a stored
share's password goes only to the server, share and user it was stored for."""

from __future__ import annotations

import asyncio
import threading

import pytest

from vigil.features.storage.const import INVALID_VALUE
from vigil.features.storage.network import MASKED, ShareConfig
from vigil.features.storage.shares import changes_connection, in_thread, settings_to_store, settings_to_test
from vigil.features.storage.tool_jobs import StorageError

STORED = ShareConfig("nas1", "NAS", "192.0.2.10", "footage", "nasuser", "NasSecret!", "3.0")


def test_a_stored_share_is_tested_as_stored() -> None:
    config = settings_to_test(STORED, {})
    assert (config.address, config.share, config.user, config.password, config.version) == (
        "192.0.2.10", "footage", "nasuser", "NasSecret!", "3.0")
    assert settings_to_test(STORED, {"id": "nas1", "password": MASKED}).password == "NasSecret!"
    # The same server written differently: SMB names ignore case, 445 is the default port.
    same = settings_to_test(STORED, {"address": "192.0.2.10:445", "share": "FOOTAGE", "user": "NASUSER",
                                     "version": "2.1"})
    assert (same.password, same.version) == ("NasSecret!", "2.1")


@pytest.mark.parametrize("change", [{"address": "127.0.0.1:14450"}, {"address": "192.0.2.10:4450"},
                                    {"address": "192.0.2.11"}, {"share": "other"}, {"user": "admin"},
                                    {"address": "evil.example", "password": MASKED}])
def test_a_changed_server_share_or_user_gets_no_stored_password(change: dict[str, str]) -> None:
    config = settings_to_test(STORED, change)
    assert config.password == ""
    assert "NasSecret!" not in repr(config)


def test_a_password_given_with_the_test_is_the_one_used() -> None:
    assert settings_to_test(STORED, {"address": "192.0.2.11", "password": "given"}).password == "given"
    assert settings_to_test(STORED, {"password": ""}).password == ""  # an empty password is a password too
    fresh = settings_to_test(None, {"address": "192.0.2.11", "share": "s", "password": MASKED})
    assert (fresh.password, fresh.nicename, fresh.version) == ("", "test", "auto")


def test_what_counts_as_changing_the_connection() -> None:
    assert not changes_connection({}) and not changes_connection({"id": "nas1", "nicename": "x"})
    for key in ("address", "share", "user", "password", "version"):
        assert changes_connection({key: ""}), key


@pytest.mark.parametrize("change", [{"address": "192.0.2.11"}, {"share": "other"}, {"user": "admin"},
                                    {"address": "evil.example", "password": MASKED}])
def test_modifying_where_a_share_is_needs_its_password_again(change: dict[str, str]) -> None:
    with pytest.raises(StorageError, match="give the share's password again") as caught:
        settings_to_store(STORED, change)
    assert caught.value.code == INVALID_VALUE and "NasSecret!" not in str(caught.value)
    moved = settings_to_store(STORED, change | {"password": "ForTheNewServer"})
    assert moved.password == "ForTheNewServer"
    assert settings_to_store(STORED, change | {"password": ""}).password == ""  # given empty: none


def test_modifying_a_share_elsewhere_keeps_its_password() -> None:
    assert settings_to_store(STORED, {"nicename": "Renamed", "version": "2.1"}).password == "NasSecret!"
    same = settings_to_store(STORED, {"address": "192.0.2.10:445", "share": "FOOTAGE", "password": MASKED})
    assert (same.share, same.password) == ("FOOTAGE", "NasSecret!")
    no_password = ShareConfig("nas2", "NAS2", "192.0.2.10", "footage")
    assert settings_to_store(no_password, {"address": "192.0.2.11"}).password == ""  # nothing to forward


async def test_shares_that_never_answer_leave_the_devices_threads_free() -> None:
    """Tests of dead servers time out but their threads run on: they must not take the threads
    every other part of the device runs blocking work in (asyncio.to_thread)."""
    release = threading.Event()
    try:
        stuck = [asyncio.create_task(in_thread(0.05, release.wait, 30)) for _ in range(12)]
        for task in stuck:
            with pytest.raises(TimeoutError):
                await task
        assert await asyncio.wait_for(asyncio.to_thread(lambda: "free"), 5) == "free"
    finally:
        release.set()
