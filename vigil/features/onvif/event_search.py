"""The recording events Profile G's FindEvents finds, from what the recorder stores in the
footage index (vigil.footage.index): each camera's recordings give
`tns1:RecordingHistory/Recording/State` (IsRecording) and `tns1:RecordingHistory/Track/State`
(IsDataPresent of its video track) at each start and stop of its recording, overlapping
recordings (continuous and triggered) counted as one; and the event that triggered a triggered
recording (a rule's, kept with the recording) is found at its time under its own topic.

A search covers [StartPoint, EndPoint] forward in time, or backward when EndPoint lies before
StartPoint (results newest first); start state events are virtual events with the state of the
recording events' properties at StartPoint (and EndPoint, searching backward)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from vigil.core.events import Event
from vigil.core.store import Store
from vigil.features.eventstream.metadata import EventFilter, Probe
from vigil.features.onvif.media import Camera
from vigil.footage import index

RECORDING_STATE = "tns1:RecordingHistory/Recording/State"  # the topic the recorder publishes live
TRACK_STATE = "tns1:RecordingHistory/Track/State"
VIDEO_TRACK = "video"  # each recording's one track (the search service's RecordingInformation)


def recording_token(camera: Camera) -> str:
    return f"recording_{camera.number}"


@dataclass(frozen=True)
class Found:
    """One search result: an event of a recording (and track, or "" for the whole recording)."""

    recording: str
    track: str
    event: Event
    virtual: bool = False  # a start state event


@dataclass(frozen=True)
class EventQuery:
    start: float  # StartPoint
    end: float | None  # EndPoint; None: forward, up to now
    chosen: EventFilter
    start_state: bool
    max_matches: int | None

    @property
    def backward(self) -> bool:
        return self.end is not None and self.end < self.start


def merged_spans(rows: list[tuple[str, float, float | None]]) -> dict[str, list[tuple[float, float | None]]]:
    """Per source, its recordings' spans (by start) joined where they overlap or touch; an
    open end (None: recording now) stays open."""
    out: dict[str, list[tuple[float, float | None]]] = {}
    for source, start, stop in rows:
        spans = out.setdefault(source, [])
        if spans:
            first, last = spans[-1]
            if last is None or start <= last:
                spans[-1] = (first, None if last is None or stop is None else max(last, stop))
                continue
        spans.append((start, stop))
    return out


def _states(token: str, on: bool, moment: float, operation: str) -> list[Found]:
    value = "true" if on else "false"
    return [Found(token, "", Event(RECORDING_STATE, {"RecordingToken": token}, {"IsRecording": value},
                                   moment, operation)),
            Found(token, VIDEO_TRACK, Event(TRACK_STATE, {"RecordingToken": token, "Track": VIDEO_TRACK},
                                            {"IsDataPresent": value}, moment, operation))]


def _recording_at(spans: list[tuple[float, float | None]], moment: float) -> bool:
    return any(start <= moment and (stop is None or moment < stop) for start, stop in spans)


def find_events(store: Store, cameras: list[Camera], query: EventQuery, now: float) -> list[Found]:
    """The events of `cameras`' recordings the query asks for, in the order the results go out."""
    end = query.end if query.end is not None else now
    low, high = min(query.start, end), max(query.start, end)
    tokens = {c.source_id: recording_token(c) for c in cameras}
    spans = merged_spans([r for r in index.recording_spans(store, low, high) if r[0] in tokens])
    found: list[Found] = []
    for source, token in tokens.items():
        for start, stop in spans.get(source, []):
            if low <= start <= high:
                found += _states(token, True, start, "Changed")
            if stop is not None and low <= stop <= high:
                found += _states(token, False, stop, "Changed")
    for source, moment, topic, items, data, operation in index.triggers_between(store, low, high):
        if source in tokens:
            found.append(Found(tokens[source], "", Event(topic, json.loads(items), json.loads(data), moment,
                                                         operation or None)))
    found = [f for f in found if query.chosen.matches(f.event, Probe(f.event))]
    found.sort(key=lambda f: f.event.time, reverse=query.backward)
    if query.max_matches is not None:
        found = found[:query.max_matches]
    if not query.start_state:
        return found

    def virtual(moment: float) -> list[Found]:
        out = []
        for source, token in tokens.items():
            for state in _states(token, _recording_at(spans.get(source, []), moment), moment, "Initialized"):
                if query.chosen.matches(state.event, Probe(state.event)):
                    out.append(Found(state.recording, state.track, state.event, virtual=True))
        return out

    return virtual(query.start) + found + (virtual(end) if query.backward else [])
