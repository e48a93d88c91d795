"""Camera sources: where a recorder gets video, and how it keeps it."""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, replace
from urllib.parse import urlsplit

from vigil.core.logs import Logs
from vigil.core.store import Store

MAX_SOURCES = 64
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class SourceError(ValueError):
    pass


@dataclass(frozen=True)
class Source:
    id: str
    name: str
    url: str
    username: str = ""
    password: str = ""
    transport: str = "tcp"  # tcp (RTP interleaved in the RTSP connection) or udp
    enabled: bool = True
    continuous: bool = True  # continuous recording
    retention_days: int = 0  # 0: keep until the volume is full
    volume: str = "default"

    def public(self) -> dict:
        data = asdict(self)
        data["password"] = "******" if self.password else ""
        return data


def check_source(source: Source) -> Source:
    if not _ID.match(source.id):
        raise SourceError("A source id is 1 to 32 letters, digits, - or _")
    if not source.name or len(source.name) > 64:
        raise SourceError("A source needs a name of 1 to 64 characters")
    parts = urlsplit(source.url)
    if parts.scheme != "rtsp" or not parts.hostname:
        raise SourceError("The source URL must be rtsp://host[:port]/path")
    if source.transport not in ("tcp", "udp"):
        raise SourceError("The transport is tcp or udp")
    if not 0 <= source.retention_days <= 3650:
        raise SourceError("Retention is 0 (until full) to 3650 days")
    if len(source.username) > 64 or len(source.password) > 64:
        raise SourceError("User name and password are at most 64 characters")
    return source


class Sources:
    def __init__(self, store: Store, logs: Logs) -> None:
        self.store = store
        self.logs = logs
        self.all: dict[str, Source] = {}
        for sid, body in store.query("SELECT id, body FROM sources ORDER BY id"):
            self.all[sid] = Source(**json.loads(body))

    def put(self, source: Source, actor: str) -> Source:
        check_source(source)
        if source.id not in self.all and len(self.all) >= MAX_SOURCES:
            raise SourceError(f"At most {MAX_SOURCES} sources are allowed")
        if source.password == "******" and source.id in self.all:
            source = replace(source, password=self.all[source.id].password)
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO sources(id, body) VALUES(?, ?)", (source.id, json.dumps(asdict(source))))
        self.all[source.id] = source
        self.logs.audit(actor, f"set camera source {source.id} {source.name!r} {urlsplit(source.url).hostname}",
                        "recording")
        return source

    def remove(self, source_id: str, actor: str) -> None:
        if source_id not in self.all:
            raise SourceError(f"Unknown source {source_id}")
        with self.store.transaction() as db:
            db.execute("DELETE FROM sources WHERE id=?", (source_id,))
        del self.all[source_id]
        self.logs.audit(actor, f"removed camera source {source_id}", "recording")
