"""A camera's timeline: where it has footage, where the gaps are, and the events that triggered
its recordings, in one request (two queries, however many recordings), for the Recordings page.

    GET /vigil/timeline?source=ID[&starttime=ISO][&stoptime=ISO]     (viewer)

Without times: the last 24 hours up to now. The window is at most MAX_WINDOW long. The answer:

    {"source": ID, "startTime": ISO, "stopTime": ISO,
     "spans": [{"recordingId", "type", "diskId", "event", "startTime", "stopTime"}, ...],
     "events": [{"recordingId", "time", "topic", "event"}, ...]}

A span is footage without a break: a recording's fragments that follow each other within GAP
seconds (a camera that was away for longer leaves a gap, and the span after it is a new one).
Spans of different recordings may overlap (a triggered recording during a continuous one). The
times are the recording's own; play.cgi plays any instant of a span.

Errors are JSON, `{"error": {"code": C, "message": M}}`: 400 (2110) a bad argument or window,
404 (2111) no such source.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.recording.api import iso, parse_iso
from vigil.features.recording.const import TIMELINE_BAD_ARGUMENT, TIMELINE_NO_SOURCE
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.footage import index
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, form_args

if TYPE_CHECKING:
    from vigil.device import Device

TIMELINE_PATH = "/vigil/timeline"
GAP = 2.0  # seconds between fragments (each about one) that make a gap
DEFAULT_WINDOW = 86400.0
MAX_WINDOW = 31 * 86400.0
ACCEPTED = ("source", "starttime", "stoptime")


class TimelineRefused(Exception):
    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


def _window(values: dict[str, str], now: float) -> tuple[float, float]:
    moments: dict[str, float | None] = {}
    for name in ("starttime", "stoptime"):
        text = values.get(name, "")
        try:
            moments[name] = parse_iso(text) if text else None
        except ValueError as err:
            raise TimelineRefused(400, TIMELINE_BAD_ARGUMENT, f"{name}: {err}") from None
    stop = moments["stoptime"] if moments["stoptime"] is not None else now
    start = moments["starttime"] if moments["starttime"] is not None else stop - DEFAULT_WINDOW
    if start >= stop:
        raise TimelineRefused(400, TIMELINE_BAD_ARGUMENT, "starttime must be before stoptime")
    if stop - start > MAX_WINDOW:
        raise TimelineRefused(400, TIMELINE_BAD_ARGUMENT, f"the window is at most {MAX_WINDOW / 86400:g} days")
    return start, stop


async def timeline(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    service: RecordingService = device.features[RECORDING_SERVICE]
    try:
        try:
            args = await form_args(request)
        except BadArguments as err:
            raise TimelineRefused(400, TIMELINE_BAD_ARGUMENT, str(err)) from None
        values: dict[str, str] = {}
        for key, value in args:
            if key not in ACCEPTED:
                raise TimelineRefused(400, TIMELINE_BAD_ARGUMENT, f"Argument {key[:32]!r} is not supported")
            if key in values:
                raise TimelineRefused(400, TIMELINE_BAD_ARGUMENT, f"Argument {key!r} is given twice")
            values[key] = value
        source = values.get("source", "")
        if not source:
            raise TimelineRefused(400, TIMELINE_BAD_ARGUMENT, "Give source=ID")
        known = set(service.sources.all) | set(index.source_extents(device.store, device.clock.time()))
        if source not in known:
            raise TimelineRefused(404, TIMELINE_NO_SOURCE, f"No source {source[:40]!r}")
        start, stop = _window(values, device.clock.time())
    except TimelineRefused as err:
        return JSONResponse({"error": {"code": err.code, "message": str(err)}}, status_code=err.status)
    spans, events = await asyncio.to_thread(index.timeline, device.store, source, start, stop, GAP)
    return JSONResponse({
        "source": source, "startTime": iso(start), "stopTime": iso(stop),
        "spans": [{"recordingId": rid, "type": kind, "diskId": volume, "event": event,
                   "startTime": iso(first), "stopTime": iso(last)}
                  for rid, kind, volume, event, first, last in spans],
        "events": [{"recordingId": rid, "time": iso(moment), "topic": topic, "event": event}
                   for rid, moment, topic, event in events],
    })


ROUTES = (
    Endpoint(TIMELINE_PATH, timeline, Role.VIEWER, methods=("GET",), kind="json"),
)


def register(device: Device) -> None:
    device.router.include(ROUTES)
