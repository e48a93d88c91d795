"""The device database (vigil/core/store.py): a commit that fails leaves the connection ready
for the next transaction, and the integrity check."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from vigil.core.store import SCHEMA_VERSION, Store


def test_a_commit_that_fails_rolls_back_and_the_store_goes_on(tmp_path: Path) -> None:
    store = Store(tmp_path / "vigil.db")
    try:
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as db:
            db.execute("PRAGMA defer_foreign_keys=ON")  # the constraint is checked at COMMIT, which fails
            db.execute("INSERT INTO segments(recording, path, start, stop, bytes, init_size) "
                       "VALUES('no such recording', 'x.mp4', 0, 0, 0, 0)")
        assert not store.db.in_transaction
        store.set_kv("after", "yes")  # a new transaction starts
        assert store.get_kv("after") == "yes"
        assert store.query("SELECT COUNT(*) FROM segments") == [(0,)]
        assert store.integrity_problems() == [] and store.schema_version == SCHEMA_VERSION
    finally:
        store.close()
