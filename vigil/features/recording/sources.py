"""Camera sources: where a recorder gets video, and how it keeps it.

A source's password is stored sealed with the device key (vigil/core/vault.py) and shown to
no one ("******"). Credentials go in their own fields: a URL with user info
(`rtsp://user:password@host/...`) is refused, because every account that may list sources
would read it. Sources stored before these rules are brought in line when the device starts:
a clear password is sealed, and credentials in a URL move to the fields.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any
from urllib.parse import unquote, urlsplit, urlunsplit

from vigil.core.logs import Logs
from vigil.core.store import Store
from vigil.core.vault import Vault

MAX_SOURCES = 64
MAX_URL = 1024
MAX_EVENTS_URL = 256
HIDDEN = "******"  # the password as the API shows it; given back, it keeps the stored one
_ID = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_VOLUME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")  # a disk id (RAID_DISK, NetworkShare ...) or "default"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")  # control characters and spaces


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
    # The camera's HTTP address whose events rules may use (the cameraevents feature): "" for
    # none; http://host[:port] (VAPIX event stream, else ONVIF PullPoint) or the ONVIF device
    # service's address (PullPoint). The user name and password above log in there too.
    events: str = ""

    def public(self) -> dict:
        data = asdict(self)
        data["password"] = HIDDEN if self.password else ""
        return data


FIELDS = tuple(f.name for f in fields(Source))
# What each field holds, from the annotations, so that a new field cannot be left unchecked.
_KINDS: dict[str, tuple[type, str]] = {"str": (str, "a string"), "bool": (bool, "true or false"),
                                       "int": (int, "a whole number")}
_TYPES = {f.name: _KINDS[str(f.type)] for f in fields(Source)}


def _typed(name: str, value: Any) -> None:
    kind, words = _TYPES[name]
    ok = type(value) is bool if kind is bool else isinstance(value, kind) and not isinstance(value, bool)
    if not ok:
        raise SourceError(f"{name} must be {words}")


def check_url(url: str) -> None:
    if len(url) > MAX_URL or _URL_FORBIDDEN.search(url):
        raise SourceError(f"The source URL must be at most {MAX_URL} characters, without spaces or control "
                          "characters")
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when not a number from 0 to 65535
    except ValueError:
        raise SourceError("The source URL must be rtsp://host[:port]/path") from None
    if parts.scheme != "rtsp" or not parts.hostname or port == 0:
        raise SourceError("The source URL must be rtsp://host[:port]/path")
    if "@" in parts.netloc:
        raise SourceError("The source URL must not hold credentials: put the user name and password in "
                          "their own fields")


def check_events_url(url: str) -> None:
    if not url:
        return
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - ValueError when not a number from 0 to 65535
    except ValueError:
        parts = None
    if (parts is None or len(url) > MAX_EVENTS_URL or _URL_FORBIDDEN.search(url) or parts.scheme not in ("http", "https")
            or not parts.hostname or "@" in parts.netloc or parts.query or parts.fragment):
        raise SourceError("The events address is empty, http(s)://host[:port] or the camera's ONVIF device service "
                          f"address, without credentials, at most {MAX_EVENTS_URL} characters")


def check_source(source: Source) -> Source:
    for name in FIELDS:
        _typed(name, getattr(source, name))
    if not _ID.match(source.id):
        raise SourceError("A source id is 1 to 32 letters, digits, - or _")
    if not source.name or len(source.name) > 64 or _CONTROL.search(source.name):
        raise SourceError("A source needs a name of 1 to 64 characters, without control characters")
    check_url(source.url)
    if source.transport not in ("tcp", "udp"):
        raise SourceError("The transport is tcp or udp")
    if not 0 <= source.retention_days <= 3650:
        raise SourceError("Retention is 0 (until full) to 3650 days")
    if len(source.username) > 64 or len(source.password) > 64:
        raise SourceError("User name and password are at most 64 characters")
    if _CONTROL.search(source.username) or _CONTROL.search(source.password):
        raise SourceError("User name and password must not contain control characters")
    if not _VOLUME.match(source.volume):
        raise SourceError("The volume is a disk id (such as RAID_DISK or NetworkShare) or default")
    check_events_url(source.events)
    return source


def source_from_json(body: dict[str, Any], current: Source | None) -> Source:
    """A source from an API's JSON object: the fields given, over `current` (the stored source
    of the same id, if any), checked."""
    unknown = sorted(set(body) - set(FIELDS), key=str)
    if unknown:
        raise SourceError(f"Unknown source fields: {', '.join(str(k)[:40] for k in unknown)}")
    for name, value in body.items():
        _typed(name, value)
    merged = {**(asdict(current) if current else {}), **body}
    missing = [name for name in ("id", "name", "url") if name not in merged]
    if missing:
        raise SourceError(f"A new source needs {', '.join(missing)}")
    return check_source(Source(**merged))


class Sources:
    def __init__(self, store: Store, logs: Logs, vault: Vault) -> None:
        self.store = store
        self.logs = logs
        self.vault = vault
        self.all: dict[str, Source] = {}
        for sid, body in store.query("SELECT id, body FROM sources ORDER BY id"):
            source = self._load(sid, json.loads(body))
            if source is not None:
                self.all[sid] = source

    # -- at rest -------------------------------------------------------------------------
    def _seal(self, source: Source) -> str:
        body: dict[str, Any] = asdict(source)
        password = body.pop("password")
        body["secret"] = self.vault.encrypt(password).hex() if password else ""
        return json.dumps(body)

    def _unseal(self, sid: str, secret: str) -> str:
        try:
            return self.vault.decrypt(bytes.fromhex(secret)) if secret else ""
        except Exception:  # noqa: BLE001 - InvalidTag, bad hex: the password is lost, not the source
            self.logs.system(f"camera source {sid}: the stored password cannot be decrypted (the device key "
                             "changed); enter it again", "warning")
            return ""

    def _load(self, sid: str, body: dict[str, Any]) -> Source | None:
        """A stored source, brought in line with the rules of this version (saved again if so)."""
        changes = []
        stored_in_clear = "secret" not in body  # as versions before sealing stored it
        if stored_in_clear:
            if body.get("password"):
                changes.append("its password is now stored encrypted")
        else:
            body["password"] = self._unseal(sid, body.pop("secret"))
        url = body.get("url")
        if isinstance(url, str):
            try:
                parts = urlsplit(url)
            except ValueError:
                parts = None  # refused below
            if parts is not None and "@" in parts.netloc:
                userinfo, _, hostport = parts.netloc.rpartition("@")
                user, _, password = userinfo.partition(":")
                body["username"] = body.get("username") or unquote(user)
                body["password"] = body.get("password") or unquote(password)
                body["url"] = urlunsplit(parts._replace(netloc=hostport))
                changes.append("the user name and password in its URL moved to their own fields")
        try:
            source = check_source(Source(**body))
        except (TypeError, SourceError) as err:
            self.logs.system(f"camera source {sid} is not valid ({err}) and is not recorded; set it again",
                             "error")
            return None
        if changes or stored_in_clear:
            with self.store.transaction() as db:
                db.execute("UPDATE sources SET body=? WHERE id=?", (self._seal(source), sid))
            if changes:
                self.logs.system(f"camera source {sid}: {'; '.join(changes)}", "warning")
        return source

    def numbered(self) -> list[Source]:
        """The sources as VAPIX numbers cameras (`camera=1` is the first; the live relay and the ONVIF media profiles use these numbers): in the order of
        their ids, with the digits in ids compared as numbers (testcam2 before testcam10)."""
        def key(source: Source) -> list[tuple[int, int | str]]:
            return [(0, int(part)) if part.isdigit() else (1, part) for part in re.split(r"(\d+)", source.id) if part]

        return sorted(self.all.values(), key=key)

    def by_number(self, camera: str) -> Source | None:
        """The source that `camera=N` names (1-based, as `numbered` orders them), or None."""
        numbered = self.numbered()
        if camera.isascii() and camera.isdigit() and len(camera) <= 4 and 1 <= int(camera) <= len(numbered):
            return numbered[int(camera) - 1]
        return None

    # -- changes -------------------------------------------------------------------------
    def put(self, source: Source, actor: str) -> Source:
        check_source(source)
        if source.id not in self.all and len(self.all) >= MAX_SOURCES:
            raise SourceError(f"At most {MAX_SOURCES} sources are allowed")
        if source.password == HIDDEN and source.id in self.all:
            source = replace(source, password=self.all[source.id].password)
        with self.store.transaction() as db:
            db.execute("INSERT OR REPLACE INTO sources(id, body) VALUES(?, ?)", (source.id, self._seal(source)))
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
