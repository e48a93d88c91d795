"""Recorder APIs.

- `POST /axis-cgi/recorder.cgi` (JSON, Vigil's own): listSources, setSource, removeSource,
  getStatus, startRecording, stopRecording.
- The VAPIX edge-storage recording CGIs: `record/list.cgi` (XML), `record/record.cgi`,
  `record/stop.cgi`, `record/remove.cgi`.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import asdict, fields
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.recording.recorder import RecordingService
from vigil.features.recording.sources import Source, SourceError
from vigil.footage import index
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, first, form_args

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors()
XML = "text/xml; charset=utf-8"


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def parse_iso(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(f"not an ISO 8601 time: {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def xml_error(code: int, description: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<root><error code="{code}" description={quoteattr(description)}/></root>\n'
    return Response(body, media_type=XML)


def recording_rows(device: Device, source: str | None = None, start: float | None = None,
                   stop: float | None = None, kind: str | None = None, recording_id: str | None = None,
                   event: str | None = None) -> list[tuple]:
    return index.recording_rows(device.store, source=source, start=start, stop=stop, kind=kind,
                                recording_id=recording_id, event=event)


def register(device: Device, service: RecordingService) -> None:

    async def list_sources(call: JsonCall, who: Principal) -> dict[str, Any]:
        connected = {sid for sid, r in service.recorders.items() if r.connected}
        return {"sources": [{**s.public(), "connected": s.id in connected} for s in service.sources.all.values()]}

    async def set_source(call: JsonCall, who: Principal) -> dict[str, Any]:
        body = call.params.get("source")
        if not isinstance(body, dict):
            raise JsonApiError(ERRORS.bad_params, "Parameter 'source' must be an object")
        known = {f.name for f in fields(Source)}
        unknown = set(body) - known
        if unknown:
            raise JsonApiError(ERRORS.bad_params, f"Unknown source fields: {', '.join(sorted(unknown))}")
        current = service.sources.all.get(str(body.get("id", "")))
        merged = {**(asdict(current) if current else {}), **body}
        try:
            source = Source(**merged)
            saved = service.sources.put(source, who.name)
        except (TypeError, SourceError) as err:
            raise JsonApiError(1000, f"Invalid source: {err}") from None
        await service.reconfigure(saved.id)
        return {"source": saved.public()}

    async def remove_source(call: JsonCall, who: Principal) -> dict[str, Any]:
        source_id = call.params.get("id")
        try:
            service.sources.remove(str(source_id), who.name)
        except SourceError as err:
            raise JsonApiError(1000, str(err)) from None
        await service.reconfigure(str(source_id))
        return {}

    async def status(call: JsonCall, who: Principal) -> dict[str, Any]:
        return {"ongoing": [{"source": s, "recordingId": r, "type": k} for s, r, k in service.ongoing()],
                "usedBytes": service.used_bytes(),
                "sources": service.stats(),
                "writtenBytes": service.segments.written_bytes}

    async def start(call: JsonCall, who: Principal) -> dict[str, Any]:
        source_id = call.params.get("source")
        if source_id not in service.recorders:
            raise JsonApiError(1000, f"Unknown or disabled source {source_id!r}")
        recording = service.start_recording(str(source_id), "manual", event=f"manual by {who.name}")
        device.logs.audit(who.name, f"started manual recording {recording}", "recording")
        return {"recordingId": recording}

    async def stop(call: JsonCall, who: Principal) -> dict[str, Any]:
        recording = str(call.params.get("recordingId", ""))
        owner = next((s for s, r, _k in service.ongoing() if r == recording), None)
        if owner is None:
            raise JsonApiError(1000, f"No ongoing recording {recording!r}")
        service.end_recording(owner, recording)
        device.logs.audit(who.name, f"stopped recording {recording}", "recording")
        return {}

    device.router.json_api("/axis-cgi/recorder.cgi", ["1.0"], {
        "listSources": JsonMethod(Role.VIEWER, list_sources),
        "getStatus": JsonMethod(Role.VIEWER, status),
        "setSource": JsonMethod(Role.ADMIN, set_source),
        "removeSource": JsonMethod(Role.ADMIN, remove_source),
        "startRecording": JsonMethod(Role.OPERATOR, start),
        "stopRecording": JsonMethod(Role.OPERATOR, stop),
    }, ERRORS)

    async def list_cgi(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        try:
            start = parse_iso(first(args, "starttime")) if first(args, "starttime") else None
            stop = parse_iso(first(args, "stoptime")) if first(args, "stoptime") else None
            limit = int(first(args, "maxnumberofresults", "0") or 0)
            offset = int(first(args, "startatresultnumber", "0") or 0)
        except ValueError as err:
            return xml_error(1, str(err))
        recording_id = first(args, "recordingid", "all")
        rows = recording_rows(device, source=first(args, "source"), start=start, stop=stop,
                              kind=first(args, "recordingtype"), event=first(args, "event"),
                              recording_id=None if recording_id in (None, "all") else recording_id)
        disk = first(args, "diskid", "all")
        rows = [r for r in rows if disk in ("all", r[2])]
        if first(args, "sortorder", "ascending") == "descending":
            rows.reverse()
        total = len(rows)
        rows = rows[offset:offset + limit] if limit else rows[offset:]
        items = []
        for rid, source, volume, kind, r_start, r_stop, event, locked, width, height, size in rows:
            status = "recording" if r_stop is None else "completed"
            items.append(
                f'<recording diskid={quoteattr(volume)} recordingid={quoteattr(rid)} starttime="{iso(r_start)}" '
                f'stoptime="{iso(r_stop)}" recordingtype={quoteattr(kind)} eventid={quoteattr(event)} '
                f'eventtrigger={quoteattr(event)} recordingstatus="{status}" source={quoteattr(source)} '
                f'locked="{"yes" if locked else "no"}" size="{size}"><video mimetype="video/x-h264" '
                f'width="{width}" height="{height}"/></recording>')
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<root><recordings '
                f'totalnumberofrecordings="{total}" numberofrecordings="{len(items)}">'
                + "".join(items) + "</recordings></root>\n")
        return Response(body, media_type=XML)

    async def record_cgi(request: Request, who: Principal) -> Response:
        args = await form_args(request)
        source = first(args, "source") or first(args, "camera")
        if source not in service.recorders:
            return xml_error(2, f"unknown source {source!r}")
        recording = service.start_recording(source, "manual", event=f"manual by {who.name}")
        device.logs.audit(who.name, f"started manual recording {recording}", "recording")
        return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<root><record result="OK" '
                        f'recordingid={quoteattr(recording)}/></root>\n', media_type=XML)

    async def stop_cgi(request: Request, who: Principal) -> Response:
        recording = first(await form_args(request), "recordingid", "")
        owner = next((s for s, r, _k in service.ongoing() if r == recording), None)
        if owner is None:
            return xml_error(3, f"no ongoing recording {recording!r}")
        service.end_recording(owner, recording)
        device.logs.audit(who.name, f"stopped recording {recording}", "recording")
        return Response('<?xml version="1.0" encoding="UTF-8"?>\n<root><stop result="OK"/></root>\n',
                        media_type=XML)

    async def remove_cgi(request: Request, who: Principal) -> Response:
        wanted = [r for r in (first(await form_args(request), "recordingid", "") or "").split(",") if r]
        ongoing = {r for _s, r, _k in service.ongoing()}
        for recording in wanted:
            if recording in ongoing:
                return xml_error(4, f"recording {recording} is ongoing; stop it first")
            if not device.store.query("SELECT 1 FROM recordings WHERE id=?", (recording,)):
                return xml_error(5, f"no recording {recording!r}")
        for recording in wanted:
            await asyncio.to_thread(delete_recording, service, recording)
            device.logs.audit(who.name, f"removed recording {recording}", "recording")
        return Response('<?xml version="1.0" encoding="UTF-8"?>\n<root><remove result="OK"/></root>\n',
                        media_type=XML)

    router = device.router
    router.add("/axis-cgi/record/list.cgi", list_cgi, Role.VIEWER, kind="xml")
    router.add("/axis-cgi/record/record.cgi", record_cgi, Role.OPERATOR, kind="xml")
    router.add("/axis-cgi/record/stop.cgi", stop_cgi, Role.OPERATOR, kind="xml")
    router.add("/axis-cgi/record/remove.cgi", remove_cgi, Role.ADMIN, kind="xml")
    device.apis.append(Api("recorder", "1.0", "Recorder sources and recordings"))


def delete_recording(service: RecordingService, recording: str) -> None:
    service.delete_recording(recording)  # vigil.footage.index.delete_recording, where the volume allows it
