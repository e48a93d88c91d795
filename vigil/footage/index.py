"""The footage index: every SQL statement over the `recordings`, `segments` and `fragments`
tables, named, with the small functions that run them.

The tables (created by migrations 3 and 5 in vigil/core/store.py):
- `recordings`: one row per recording: its camera source, the volume it was recorded to (as
  the source named it: "default" or a disk id, so a volume is found by its *aliases*), kind,
  start, and stop (NULL while it is being written).
- `segments`: one row per segment file: its path, time span, the bytes the index vouches for,
  the size of its init segment, and once sealed (fsynced and closed) its checksum.
- `fragments`: one row per moof + mdat pair in a segment file: offset, size, start, duration,
  frame count and whether it starts with a key frame.
- `recording_triggers`: the event that started a triggered recording (time, topic, Source and
  Data items as JSON, property operation), written in the recording's own transaction and deleted with it.

The invariant every function keeps: an index entry never points at footage that is not on disk.
Rows are written only after their bytes are fsynced (vigil.footage.writer), and a segment's
rows go before its file (`delete_segment`), except when the disk is full: then the file goes
first, being the only way to make room for the index to change, and its rows follow at once or
at the next retention round (a reader meets a missing file as footage retention removed).

`{on}` in a statement is the volume filter `_on(aliases)` fills in: the recordings (`r`) on
any of the aliases, or on every volume when the aliases are None.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from vigil.core.store import Store

TABLES = ("recordings", "segments", "fragments", "recording_triggers")  # in the order their rows refer to each other

# -- recordings ----------------------------------------------------------------------------------
INSERT_RECORDING = ("INSERT INTO recordings(id, source, volume, kind, start, stop, event, width, height, video) "
                    "VALUES(?,?,?,?,?,NULL,?,?,?,?)")
DESCRIBE_OPEN_RECORDINGS = "UPDATE recordings SET video=?, width=?, height=?, audio=? WHERE source=? AND stop IS NULL"
STOP_RECORDING = "UPDATE recordings SET stop=? WHERE id=?"
GET_RECORDING = "SELECT id, source, volume, kind, start, stop FROM recordings WHERE id=?"
RECORDING_EXISTS = "SELECT 1 FROM recordings WHERE id=?"
RECORDING_VOLUME = "SELECT volume FROM recordings WHERE id=?"
LIST_RECORDINGS = ("SELECT r.id, r.source, r.volume, r.kind, r.start, r.stop, r.event, r.locked, r.width, r.height, "
                   "(SELECT COALESCE(SUM(bytes),0) FROM segments s WHERE s.recording=r.id) FROM recordings r WHERE 1=1")
LIST_FILTERS = {"source": "r.source=?", "kind": "r.kind=?", "recording_id": "r.id=?",
                "event": "instr(lower(r.event), lower(?)) > 0", "start": "(r.stop IS NULL OR r.stop >= ?)",
                "stop": "r.start <= ?"}
LIST_ORDER = " ORDER BY r.start"
RECORDINGS_ON = "SELECT r.id FROM recordings r WHERE {on}"
# Per source: the first footage, the last (an ongoing recording: now), and whether it records now.
SOURCE_EXTENTS = ("SELECT source, MIN(start), MAX(COALESCE(stop, ?)), MAX(stop IS NULL) FROM recordings "
                  "GROUP BY source")
OPEN_RECORDINGS = "SELECT id FROM recordings WHERE stop IS NULL"
DELETE_RECORDING = "DELETE FROM recordings WHERE id=?"
DELETE_ENDED_RECORDING_IF_EMPTY = ("DELETE FROM recordings WHERE id=? AND stop IS NOT NULL "
                                   "AND NOT EXISTS (SELECT 1 FROM segments WHERE recording=?)")
RENEW_RECORDING_START = ("UPDATE recordings SET start=(SELECT MIN(start) FROM segments WHERE recording=?) "
                         "WHERE id=? AND EXISTS (SELECT 1 FROM segments WHERE recording=?)")
DELETE_RECORDINGS_IN = "DELETE FROM recordings WHERE id IN ({marks})"
DELETE_RECORDINGS_WITHOUT_FOOTAGE = ("DELETE FROM recordings WHERE stop IS NOT NULL AND id IN (SELECT r.id FROM "
                                     "recordings r WHERE {on}) AND id NOT IN (SELECT DISTINCT recording FROM segments)")
# Per source, the recordings that overlap [start, stop] (a search's window), by start.
RECORDING_SPANS = ("SELECT source, start, stop FROM recordings WHERE start <= ? AND (stop IS NULL OR stop >= ?) "
                   "ORDER BY source, start")
EXTEND_ENDED_RECORDING = ("UPDATE recordings SET stop=MAX(stop, ?) WHERE stop IS NOT NULL AND "
                          "id=(SELECT recording FROM segments WHERE id=?)")

# -- the events that triggered recordings -----------------------------------------------------
INSERT_TRIGGER = ("INSERT INTO recording_triggers(recording, time, topic, source, data, operation) "
                  "VALUES(?,?,?,?,?,?)")
TRIGGERS_BETWEEN = ("SELECT r.source, t.time, t.topic, t.source, t.data, t.operation FROM recording_triggers t "
                    "JOIN recordings r ON r.id = t.recording WHERE t.time >= ? AND t.time <= ? ORDER BY t.time")

# -- a camera's timeline: its footage as spans (fragments closer than a gap joined), and events --
# Gaps and islands in one pass: a fragment starts a new span where it begins more than `gap`
# seconds after the one before it in the same recording ended.
TIMELINE_SPANS = """
WITH f AS (
  SELECT r.id AS recording, f.start AS start, f.start + f.duration AS stop
  FROM recordings r JOIN segments s ON s.recording = r.id JOIN fragments f ON f.segment = s.id
  WHERE r.source = ? AND r.start <= ? AND (r.stop IS NULL OR r.stop >= ?) AND f.start <= ? AND f.start + f.duration >= ?
), marked AS (
  SELECT recording, start, stop,
         CASE WHEN start - LAG(stop) OVER (PARTITION BY recording ORDER BY start) <= ? THEN 0 ELSE 1 END AS fresh
  FROM f
), islands AS (
  SELECT recording, start, stop, SUM(fresh) OVER (PARTITION BY recording ORDER BY start) AS island FROM marked
)
SELECT i.recording, r.kind, r.volume, r.event, MIN(i.start), MAX(i.stop) FROM islands i
JOIN recordings r ON r.id = i.recording GROUP BY i.recording, i.island ORDER BY MIN(i.start)
"""
TIMELINE_EVENTS = ("SELECT t.recording, t.time, t.topic, r.event FROM recording_triggers t "
                   "JOIN recordings r ON r.id = t.recording WHERE r.source = ? AND t.time >= ? AND t.time <= ? "
                   "ORDER BY t.time")

# -- segments ------------------------------------------------------------------------------------
INSERT_SEGMENT = ("INSERT INTO segments(recording, path, start, stop, bytes, init_size, sealed) "
                  "VALUES(?,?,?,?,?,?,0)")
SEGMENT_PROGRESS = "UPDATE segments SET stop=?, bytes=? WHERE id=?"
SEAL_SEGMENT = "UPDATE segments SET stop=?, bytes=?, checksum=?, sealed=1 WHERE id=?"
SEAL_RECOVERED_SEGMENT = "UPDATE segments SET bytes=?, checksum=?, sealed=1, stop=COALESCE(?, stop) WHERE id=?"
CUT_SEGMENT = ("UPDATE segments SET bytes=?, checksum=?, stop=(SELECT MAX(start + duration) FROM fragments "
               "WHERE segment=?) WHERE id=?")
SEGMENT_FILE = "SELECT path, recording FROM segments WHERE id=?"
SEGMENT_STOP = "SELECT stop FROM segments WHERE id=?"
SEGMENTS_OF_RECORDING = "SELECT id FROM segments WHERE recording=?"
LAST_SEGMENT_STOP = "SELECT MAX(stop) FROM segments WHERE recording=?"
UNSEALED_SEGMENTS = "SELECT id, path, init_size FROM segments WHERE sealed=0"
SEGMENTS_TO_CHECK = ("SELECT s.id, s.path, s.bytes, s.checksum, s.sealed FROM segments s "
                     "JOIN recordings r ON r.id = s.recording WHERE {on} ORDER BY s.id")
SEGMENT_PATHS = "SELECT s.path FROM segments s JOIN recordings r ON r.id = s.recording WHERE {on}"
SEGMENTS_ON = "SELECT s.id, s.path, s.bytes FROM segments s JOIN recordings r ON r.id = s.recording WHERE {on}"
SEALED_SEGMENTS_ON = SEGMENTS_ON + " AND s.sealed=1"
USED_BYTES = "SELECT COALESCE(SUM(s.bytes), 0) FROM segments s JOIN recordings r ON r.id = s.recording WHERE {on}"
DELETE_SEGMENT = "DELETE FROM segments WHERE id=?"
DELETE_SEGMENTS_OF = "DELETE FROM segments WHERE recording IN ({marks})"

# Retention: only sealed segments of unlocked recordings, so that rotation never touches the
# segment being written nor footage a user locked.
EXPIRED_SEGMENTS = ("SELECT s.id FROM segments s JOIN recordings r ON r.id = s.recording "
                    "WHERE {on} AND s.stop < ? AND s.sealed=1 AND r.locked=0")
EXPIRED_SEGMENTS_OF_SOURCE = EXPIRED_SEGMENTS + " AND r.source=?"
OLDEST_SEGMENTS = ("SELECT s.id, s.bytes FROM segments s JOIN recordings r ON r.id = s.recording "
                   "WHERE {on} AND s.sealed=1 AND r.locked=0 ORDER BY s.start LIMIT ?")

# -- fragments -----------------------------------------------------------------------------------
INSERT_FRAGMENT = ("INSERT OR REPLACE INTO fragments(segment, offset, size, start, duration, frames, key) "
                   "VALUES(?,?,?,?,?,?,?)")
FRAGMENT_SPANS = "SELECT offset, size FROM fragments WHERE segment=? ORDER BY offset"
FRAGMENT_TIMES = "SELECT offset, size, start, duration FROM fragments WHERE segment=? ORDER BY offset"
DELETE_FRAGMENTS = "DELETE FROM fragments WHERE segment=?"
DELETE_FRAGMENTS_FROM = "DELETE FROM fragments WHERE segment=? AND offset >= ?"
DELETE_FRAGMENTS_OF = "DELETE FROM fragments WHERE segment IN (SELECT id FROM segments WHERE recording IN ({marks}))"
RECORDING_EXTENT = ("SELECT MIN(f.start), MAX(f.start + f.duration) FROM fragments f "
                    "JOIN segments s ON s.id = f.segment WHERE s.recording=?")
KEY_FRAGMENT_START = ("SELECT MAX(f.start) FROM fragments f JOIN segments s ON s.id = f.segment "
                      "WHERE s.recording=? AND f.key=1 AND f.start <= ?")
FRAGMENTS_BETWEEN = ("SELECT f.segment, s.path, s.init_size, f.offset, f.size, f.start, f.duration, f.frames, f.key "
                     "FROM fragments f JOIN segments s ON s.id = f.segment "
                     "WHERE s.recording=? AND f.start >= ? AND f.start < ? ORDER BY s.id, f.offset")

FragmentRow = tuple[int, int, int, float, float, int, int]  # segment, offset, size, start, duration, frames, key


def _on(aliases: Sequence[str] | None) -> tuple[str, tuple[str, ...]]:
    """The volume filter: SQL on `r` (recordings) and its arguments."""
    if aliases is None:
        return "1=1", ()
    return f"r.volume IN ({','.join('?' * len(aliases))})", tuple(aliases)


def _query_on(store: Store, statement: str, aliases: Sequence[str] | None, *args: Any) -> list[tuple]:
    on, volume_args = _on(aliases)
    return store.query(statement.format(on=on), (*volume_args, *args))


def disk_full(err: BaseException) -> bool:
    """SQLite's "database or disk is full" (SQLITE_FULL), or ENOSPC/EDQUOT from a file."""
    if isinstance(err, sqlite3.Error):
        return getattr(err, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
    return isinstance(err, OSError) and err.errno in (28, 122)  # ENOSPC, EDQUOT


# -- recordings ----------------------------------------------------------------------------------
# time, topic, Source items (JSON), Data items (JSON), property operation ("" for a stateless event)
Trigger = tuple[float, str, str, str, str]


def start_recording(store: Store, recording_id: str, source: str, volume: str, kind: str, start: float,
                    event: str, width: int, height: int, video: str, trigger: Trigger | None = None) -> None:
    """A new recording, with the event that triggered it (if any) in the same transaction."""
    with store.transaction() as db:
        db.execute(INSERT_RECORDING, (recording_id, source, volume, kind, start, event, width, height, video))
        if trigger is not None:
            db.execute(INSERT_TRIGGER, (recording_id, *trigger))


def describe_open_recordings(store: Store, source: str, video: str, width: int, height: int, audio: str) -> None:
    """What the camera sends, on its recordings being written (known after the first key frame)."""
    with store.transaction() as db:
        db.execute(DESCRIBE_OPEN_RECORDINGS, (video.lower(), width, height, audio.lower(), source))


def recording_exists(store: Store, recording_id: str) -> bool:
    return bool(store.query(RECORDING_EXISTS, (recording_id,)))


def get_recording(store: Store, recording_id: str) -> tuple | None:
    """(id, source, volume, kind, start, stop) of one recording."""
    rows = store.query(GET_RECORDING, (recording_id,))
    return rows[0] if rows else None


def recording_rows(store: Store, source: str | None = None, start: float | None = None, stop: float | None = None,
                   kind: str | None = None, recording_id: str | None = None,
                   event: str | None = None) -> list[tuple]:
    """Recordings, oldest first: (id, source, volume, kind, start, stop, event, locked, width,
    height, bytes). Empty text filters are no filter; `start`/`stop` keep those that overlap."""
    wanted = {"source": source, "kind": kind, "recording_id": recording_id, "event": event}
    sql, args = LIST_RECORDINGS, []
    for name, value in wanted.items():
        if value:
            sql += " AND " + LIST_FILTERS[name]
            args.append(value)
    for name, moment in (("start", start), ("stop", stop)):
        if moment is not None:
            sql += " AND " + LIST_FILTERS[name]
            args.append(moment)
    return store.query(sql + LIST_ORDER, tuple(args))


def timeline(store: Store, source: str, start: float, stop: float, gap: float
             ) -> tuple[list[tuple[str, str, str, str, float, float]], list[tuple[str, float, str, str]]]:
    """A camera's footage in [start, stop]: spans (recording, kind, volume, event, start, stop),
    a new one wherever a recording's fragments are more than `gap` seconds apart, by start, made of
    the fragments that reach into the window; and
    the events that triggered its recordings (recording, time, topic, the recording's event text)."""
    spans = store.query(TIMELINE_SPANS, (source, stop, start, stop, start, gap))
    events = store.query(TIMELINE_EVENTS, (source, start, stop))
    return spans, events


def source_extents(store: Store, now: float) -> dict[str, tuple[float, float, bool]]:
    """Per source with footage: (first start, last stop or `now` while recording, recording now)."""
    return {source: (start, stop, bool(ongoing)) for source, start, stop, ongoing in store.query(SOURCE_EXTENTS, (now,))}


def recording_spans(store: Store, start: float, stop: float) -> list[tuple[str, float, float | None]]:
    """(source, start, stop or None while recording) of the recordings overlapping [start, stop],
    per source by start."""
    return store.query(RECORDING_SPANS, (stop, start))


def triggers_between(store: Store, start: float, stop: float) -> list[tuple[str, float, str, str, str, str]]:
    """(camera source, time, topic, Source JSON, Data JSON, property operation) of the events that triggered
    recordings within [start, stop], by time."""
    return store.query(TRIGGERS_BETWEEN, (start, stop))


def recordings_on(store: Store, aliases: Sequence[str]) -> list[str]:
    return [r for (r,) in _query_on(store, RECORDINGS_ON, aliases)]


def recording_volume(store: Store, recording_id: str) -> str | None:
    rows = store.query(RECORDING_VOLUME, (recording_id,))
    return rows[0][0] if rows else None


# -- usage and retention -------------------------------------------------------------------------
def used_bytes(store: Store, aliases: Sequence[str] | None = None) -> int:
    """Bytes of indexed footage on the volume with these aliases (None: on all)."""
    return _query_on(store, USED_BYTES, aliases)[0][0]


def expired_segments(store: Store, aliases: Sequence[str] | None, before: float,
                     source: str | None = None) -> list[int]:
    """Sealed, unlocked segments that ended before `before` (of one camera source, or any)."""
    if source is None:
        return [s for (s,) in _query_on(store, EXPIRED_SEGMENTS, aliases, before)]
    return [s for (s,) in _query_on(store, EXPIRED_SEGMENTS_OF_SOURCE, aliases, before, source)]


def oldest_segments(store: Store, aliases: Sequence[str] | None, limit: int = 1000) -> list[tuple[int, int]]:
    """(segment id, bytes) of the oldest sealed, unlocked segments."""
    return _query_on(store, OLDEST_SEGMENTS, aliases, limit)


def segments_on(store: Store, aliases: Sequence[str], sealed_only: bool = False) -> list[tuple[int, str, int]]:
    """(id, path, bytes) of the segments on a volume, by id."""
    return _query_on(store, (SEALED_SEGMENTS_ON if sealed_only else SEGMENTS_ON) + " ORDER BY s.id", aliases)


def segment_stop(store: Store, seg_id: int) -> float | None:
    rows = store.query(SEGMENT_STOP, (seg_id,))
    return rows[0][0] if rows else None


# -- deletion: the one path ----------------------------------------------------------------------
def segment_file(store: Store, seg_id: int) -> tuple[str, str] | None:
    """(path, recording) of a segment."""
    rows = store.query(SEGMENT_FILE, (seg_id,))
    return rows[0] if rows else None


def _delete_segment_rows(store: Store, seg_id: int, recording: str) -> None:
    with store.transaction() as db:
        db.execute(DELETE_FRAGMENTS, (seg_id,))
        db.execute(DELETE_SEGMENT, (seg_id,))
        # An ended recording goes with its last segment; one still being written keeps its row.
        db.execute(DELETE_ENDED_RECORDING_IF_EMPTY, (recording, recording))
        db.execute(RENEW_RECORDING_START, (recording, recording, recording))


def delete_segment(store: Store, seg_id: int) -> bool:
    """Remove a segment: its index rows, then its file. False if there was no such segment."""
    found = segment_file(store, seg_id)
    if found is None:
        return False
    path, recording = found
    try:
        _delete_segment_rows(store, seg_id, recording)
    except sqlite3.Error as err:
        if not disk_full(err):
            raise
        Path(path).unlink(missing_ok=True)  # the only way to make room; the rows follow
        _delete_segment_rows(store, seg_id, recording)
        return True
    Path(path).unlink(missing_ok=True)
    return True


def delete_recording(store: Store, recording_id: str) -> None:
    """Remove a recording: each segment as `delete_segment` does, then the recording itself."""
    for (seg_id,) in store.query(SEGMENTS_OF_RECORDING, (recording_id,)):
        delete_segment(store, seg_id)
    with store.transaction() as db:
        db.execute(DELETE_RECORDING, (recording_id,))


def erase_volume(store: Store, aliases: Sequence[str]) -> int:
    """Remove every recording on a volume from the index in one transaction (its files are
    removed next by the caller: format, RAID change). Returns how many there were."""
    recordings = recordings_on(store, aliases)
    with store.transaction() as db:
        for n in range(0, len(recordings), 500):
            chunk = recordings[n:n + 500]
            marks = ",".join("?" * len(chunk))
            db.execute(DELETE_FRAGMENTS_OF.format(marks=marks), chunk)
            db.execute(DELETE_SEGMENTS_OF.format(marks=marks), chunk)
            db.execute(DELETE_RECORDINGS_IN.format(marks=marks), chunk)
    return len(recordings)


# -- the writer ----------------------------------------------------------------------------------
def add_segment(store: Store, recording: str, path: Path, start: float, init_size: int) -> int:
    """Index a new segment file holding only its init segment; returns its id."""
    with store.transaction() as db:
        cur = db.execute(INSERT_SEGMENT, (recording, str(path), start, start, init_size, init_size))
    assert cur.lastrowid is not None
    return cur.lastrowid


def commit_written(store: Store, fragments: Sequence[FragmentRow], progress: Iterable[tuple[float, int, int]],
                   seals: Iterable[tuple[float, int, str, int]], stops: Iterable[tuple[float, str]]) -> None:
    """One transaction for what the writer made durable since its last commit: fragment rows,
    segment progress (stop, bytes, id), seals (stop, bytes, checksum, id) and recording stops
    (stop, id)."""
    with store.transaction() as db:
        db.executemany(INSERT_FRAGMENT, fragments)
        db.executemany(SEGMENT_PROGRESS, progress)
        db.executemany(SEAL_SEGMENT, seals)
        db.executemany(STOP_RECORDING, stops)


# -- recovery after an unclean stop --------------------------------------------------------------
def unsealed_segments(store: Store) -> list[tuple[int, str, int]]:
    """(id, path, init size) of segments not sealed: written when the device stopped."""
    return store.query(UNSEALED_SEGMENTS)


def fragment_times(store: Store, seg_id: int) -> list[tuple[int, int, float, float]]:
    """(offset, size, start, duration) of a segment's indexed fragments, in file order."""
    return store.query(FRAGMENT_TIMES, (seg_id,))


def seal_recovered(store: Store, seg_id: int, fragments: Sequence[FragmentRow], size: int, checksum: str,
                   stop: float | None) -> None:
    """Index the fragments found after the last commit and seal the segment at `size`; an
    ended recording whose last segment waited (a locked volume) ends where that segment does."""
    with store.transaction() as db:
        db.executemany(INSERT_FRAGMENT, fragments)
        db.execute(SEAL_RECOVERED_SEGMENT, (size, checksum, stop, seg_id))
        db.execute(EXTEND_ENDED_RECORDING, (stop or 0, seg_id))


def close_open_recordings(store: Store, now: float) -> list[str]:
    """End the recordings left open, where their footage ends (or `now` without footage)."""
    closed = []
    for (recording,) in store.query(OPEN_RECORDINGS):
        last = store.query(LAST_SEGMENT_STOP, (recording,))[0][0]
        with store.transaction() as db:
            db.execute(STOP_RECORDING, (last if last is not None else now, recording))
        closed.append(recording)
    return closed


# -- reading -------------------------------------------------------------------------------------
def recording_extent(store: Store, recording_id: str) -> tuple[float, float] | None:
    """First and last indexed instants of a recording, or None before its first fragment."""
    row = store.query(RECORDING_EXTENT, (recording_id,))[0]
    return None if row[0] is None else (row[0], row[1])


def key_fragment_start(store: Store, recording_id: str, at: float) -> float | None:
    """Start of the last fragment that begins with a key frame at or before `at`."""
    return store.query(KEY_FRAGMENT_START, (recording_id, at))[0][0]


def fragments_between(store: Store, recording_id: str, start: float, stop: float) -> list[tuple]:
    """(segment, path, init size, offset, size, start, duration, frames, key) of the fragments
    starting in [start, stop), in file order."""
    return store.query(FRAGMENTS_BETWEEN, (recording_id, start, stop))


# -- the checker ---------------------------------------------------------------------------------
def segments_to_check(store: Store, aliases: Sequence[str] | None) -> list[tuple[int, str, int, str | None, int]]:
    """(id, path, bytes, checksum, sealed) of the segments on a volume (None: all), by id."""
    return _query_on(store, SEGMENTS_TO_CHECK, aliases)


def segment_paths(store: Store, aliases: Sequence[str] | None) -> set[str]:
    return {p for (p,) in _query_on(store, SEGMENT_PATHS, aliases)}


def fragment_spans(store: Store, seg_id: int) -> list[tuple[int, int]]:
    """(offset, size) of a segment's indexed fragments, in file order."""
    return store.query(FRAGMENT_SPANS, (seg_id,))


def cut_segment(store: Store, seg_id: int, end: int, checksum: str) -> None:
    """The file was cut back to `end` bytes: forget the fragments past it."""
    with store.transaction() as db:
        db.execute(DELETE_FRAGMENTS_FROM, (seg_id, end))
        db.execute(CUT_SEGMENT, (end, checksum, seg_id, seg_id))


def drop_recordings_without_footage(store: Store, aliases: Sequence[str] | None) -> int:
    """Remove ended recordings that have no segment left; returns how many."""
    on, args = _on(aliases)
    with store.transaction() as db:
        return db.execute(DELETE_RECORDINGS_WITHOUT_FOOTAGE.format(on=on), args).rowcount
