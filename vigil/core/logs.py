"""System, access and audit logs, kept in the device database.

Entries are buffered and written in one transaction a few times a second, so that a busy
device does not pay one fsync per log line. Subscribers (`Logs.subscribe`: remote syslog) see
each entry as it is added.
"""

from __future__ import annotations

import logging
import sqlite3
import time as _time
from collections.abc import Callable
from dataclasses import dataclass

from vigil.core.clock import Clock
from vigil.core.store import Store

KINDS = ("system", "access", "audit")
MAX_ROWS = 20_000  # per kind; oldest go first
MAX_PENDING = 10_000  # entries kept in memory while the database cannot be written (a full disk)
log = logging.getLogger("vigil.logs")


@dataclass(frozen=True)
class LogEntry:
    kind: str
    time: float
    severity: str
    source: str
    message: str

    def line(self, host: str) -> str:
        stamp = _time.strftime("%Y-%m-%dT%H:%M:%S", _time.gmtime(self.time))
        millis = int((self.time % 1) * 1000)
        return f"{stamp}.{millis:03d}+00:00 {host} [ {self.severity.upper():<7} ] {self.source}: {self.message}"

    @property
    def actor(self) -> str:
        """The account an audit entry names (`Logs.audit` writes `user=<name> ` first); else ""."""
        if self.kind != "audit" or not self.message.startswith("user="):
            return ""
        return self.message[5:].split(" ", 1)[0]


class Logs:
    def __init__(self, store: Store, clock: Clock, host: str = "vigil") -> None:
        self.store = store
        self.clock = clock
        self.host = host
        self._pending: list[LogEntry] = []
        self._failing = False  # the last flush could not write: entries wait in memory
        self._subscribers: list[Callable[[LogEntry], None]] = []

    def subscribe(self, subscriber: Callable[[LogEntry], None]) -> None:
        """Have `subscriber` called with each new entry, on the thread that adds it. It is on the
        path of every log line: it must return at once (queue the entry, never wait) and never raise."""
        self._subscribers.append(subscriber)

    def _add(self, kind: str, severity: str, source: str, message: str) -> None:
        entry = LogEntry(kind, self.clock.time(), severity, source, message)
        self._pending.append(entry)
        for subscriber in self._subscribers:
            subscriber(entry)
        if len(self._pending) >= 500 and not self._failing:
            self.flush()

    def system(self, message: str, severity: str = "info", source: str = "vigil") -> None:
        self._add("system", severity, source, message)

    def access(self, message: str, severity: str = "warning", source: str = "http") -> None:
        self._add("access", severity, source, message)

    def audit(self, actor: str, message: str, source: str = "config") -> None:
        self._add("audit", "notice", source, f"user={actor} {message}")

    def flush(self) -> None:
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        try:
            with self.store.transaction() as db:
                db.executemany(
                    "INSERT INTO log(kind, time, severity, source, message) VALUES(?,?,?,?,?)",
                    [(e.kind, e.time, e.severity, e.source, e.message) for e in batch],
                )
                for kind in {e.kind for e in batch}:
                    db.execute(
                        "DELETE FROM log WHERE kind=? AND id <= "
                        "(SELECT id FROM log WHERE kind=? ORDER BY id DESC LIMIT 1 OFFSET ?)",
                        (kind, kind, MAX_ROWS),
                    )
        except sqlite3.Error as err:  # a full disk: the entries wait (the newest of them) for the next flush
            self._pending = (batch + self._pending)[-MAX_PENDING:]
            if not self._failing:
                self._failing = True
                log.warning("the logs cannot be written (%s); they are kept until they can", err)
            return
        self._failing = False

    def entries(self, kind: str, contains: str = "", limit: int = 5000) -> list[LogEntry]:
        self.flush()
        rows = self.store.query(
            "SELECT kind, time, severity, source, message FROM log WHERE kind=? "
            "AND instr(lower(message), lower(?)) > 0 ORDER BY id DESC LIMIT ?",
            (kind, contains, limit),
        )
        return [LogEntry(*r) for r in reversed(rows)]

    def text(self, kind: str, contains: str = "") -> str:
        return "".join(e.line(self.host) + "\n" for e in self.entries(kind, contains))

    def clear(self) -> None:
        self._pending.clear()
        with self.store.transaction() as db:
            db.execute("DELETE FROM log")


class SystemLogHandler(logging.Handler):
    """Sends the program's own `logging` records (warnings and up) to the system log."""

    def __init__(self, logs: Logs) -> None:
        super().__init__(level=logging.INFO)
        self.logs = logs

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.logs.system(record.getMessage(), record.levelname.lower(), record.name)
        except Exception:  # noqa: BLE001 - logging must never raise
            self.handleError(record)
