"""The device database: SQLite in WAL mode with numbered migrations.

This is the only module that opens the database. Configuration commits are durable
(synchronous=FULL): a `kill -9` or power cut leaves the last committed state.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

# Each entry is applied once, in order; the index + 1 is the schema version.
MIGRATIONS: list[str] = [
    # 1: parameters, accounts, logs
    """
    CREATE TABLE params (name TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE param_groups (name TEXT PRIMARY KEY, template TEXT NOT NULL);
    CREATE TABLE accounts (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        ptz INTEGER NOT NULL DEFAULT 0,
        comment TEXT NOT NULL DEFAULT '',
        secret BLOB NOT NULL,
        created REAL NOT NULL
    );
    CREATE TABLE onvif_accounts (
        name TEXT PRIMARY KEY,
        role TEXT NOT NULL,
        secret BLOB NOT NULL
    );
    CREATE TABLE log (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL,
        time REAL NOT NULL,
        severity TEXT NOT NULL,
        source TEXT NOT NULL,
        message TEXT NOT NULL
    );
    CREATE INDEX log_kind_id ON log(kind, id);
    CREATE TABLE kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: events: action configurations, rules, recipients, schedules
    """
    CREATE TABLE actions (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
                          template TEXT NOT NULL, params TEXT NOT NULL);
    CREATE TABLE rules (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
    CREATE TABLE recipients (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,
                             template TEXT NOT NULL, params TEXT NOT NULL);
    CREATE TABLE schedules (id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL,
                            body TEXT NOT NULL);
    """,
    # 3: recordings: the index of footage on the volumes
    """
    CREATE TABLE sources (id TEXT PRIMARY KEY, body TEXT NOT NULL);
    CREATE TABLE recordings (
        id TEXT PRIMARY KEY, source TEXT NOT NULL, volume TEXT NOT NULL, kind TEXT NOT NULL,
        start REAL NOT NULL, stop REAL, event TEXT NOT NULL DEFAULT '', locked INTEGER NOT NULL DEFAULT 0,
        video TEXT NOT NULL DEFAULT '', audio TEXT NOT NULL DEFAULT '', width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX recordings_source_start ON recordings(source, start);
    CREATE TABLE segments (
        id INTEGER PRIMARY KEY AUTOINCREMENT, recording TEXT NOT NULL REFERENCES recordings(id),
        path TEXT NOT NULL, start REAL NOT NULL, stop REAL NOT NULL, bytes INTEGER NOT NULL,
        init_size INTEGER NOT NULL, checksum TEXT, sealed INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX segments_recording_start ON segments(recording, start);
    CREATE TABLE fragments (
        segment INTEGER NOT NULL REFERENCES segments(id), offset INTEGER NOT NULL, size INTEGER NOT NULL,
        start REAL NOT NULL, duration REAL NOT NULL, frames INTEGER NOT NULL, key INTEGER NOT NULL DEFAULT 1,
        PRIMARY KEY (segment, offset)
    ) WITHOUT ROWID;
    CREATE INDEX fragments_start ON fragments(segment, start);
    """,
    # 4: ONVIF accounts are accounts with the ONVIF flag (the separate table was never written)
    """
    ALTER TABLE accounts ADD COLUMN onvif INTEGER NOT NULL DEFAULT 0;
    DROP TABLE onvif_accounts;
    """,
    # 5: the event that started each triggered recording (ONVIF FindEvents finds it), gone with it
    """
    CREATE TABLE recording_triggers (
        recording TEXT PRIMARY KEY REFERENCES recordings(id) ON DELETE CASCADE,
        time REAL NOT NULL, topic TEXT NOT NULL, source TEXT NOT NULL, data TEXT NOT NULL,
        operation TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX recording_triggers_time ON recording_triggers(time);
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)  # the version this program writes and reads


class Store:
    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.execute("PRAGMA foreign_keys=ON")
        self._migrate()

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version={number}")

    @property
    def schema_version(self) -> int:
        return self.db.execute("PRAGMA user_version").fetchone()[0]

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All statements inside commit together or not at all. A failed COMMIT (a full disk)
        rolls back too, so that the connection is ready for the next transaction."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                yield self.db
                self.db.execute("COMMIT")
            except BaseException:
                if self.db.in_transaction:  # SQLite may have rolled back already (SQLITE_FULL)
                    self.db.execute("ROLLBACK")
                raise

    def integrity_problems(self) -> list[str]:
        """SQLite's `PRAGMA integrity_check`, on a connection of its own so that writers are
        not held up meanwhile (WAL); an empty list when the database is sound."""
        check = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            rows = [row[0] for row in check.execute("PRAGMA integrity_check")]
        except sqlite3.DatabaseError as err:
            return [str(err)]
        finally:
            check.close()
        return [] if rows == ["ok"] else rows

    def query(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self._lock:
            return self.db.execute(sql, args).fetchall()

    def get_kv(self, key: str, default: str | None = None) -> str | None:
        rows = self.query("SELECT value FROM kv WHERE key=?", (key,))
        return rows[0][0] if rows else default

    def set_kv(self, key: str, value: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO kv(key, value) VALUES(?, ?)", (key, value))

    def close(self) -> None:
        with self._lock:
            self.db.close()
