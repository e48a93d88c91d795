"""The VAPIX edge-storage recording CGIs: list recordings, start, stop and remove them.

    GET /axis-cgi/record/list.cgi     (viewer) the recordings, filtered, sorted and paged, as XML
    GET /axis-cgi/record/record.cgi   (operator) start a manual recording of a source
    GET /axis-cgi/record/stop.cgi     (operator) stop one
    GET /axis-cgi/record/remove.cgi   (admin) remove recordings

Errors are `<root><error code=".." description=".."/></root>` (HTTP 200): 1 bad argument,
2 unknown source, 3 not ongoing, 4 ongoing, 5 no such recording, 6 the volume cannot be written.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.recording.api import delete_recording, iso, parse_iso, recording_rows, whole_number
from vigil.features.recording.const import (
    RECORD_BAD_ARGUMENT,
    RECORD_NOT_FOUND,
    RECORD_NOT_ONGOING,
    RECORD_ONGOING,
    RECORD_UNKNOWN_SOURCE,
    RECORD_VOLUME_UNAVAILABLE,
    XML,
)
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService, VolumeUnavailable
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, first, form_args

if TYPE_CHECKING:
    from vigil.device import Device


def xml_error(code: int, description: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<root><error code="{code}" description={quoteattr(description)}/></root>\n'
    return Response(body, media_type=XML)


def xml_result(element: str, attributes: str = "") -> Response:
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<root><{element} result="OK"{attributes}/></root>\n',
                    media_type=XML)


class Refused(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code = code


async def _args(request: Request) -> list[tuple[str, str]]:
    try:
        return await form_args(request)
    except BadArguments as err:
        raise Refused(RECORD_BAD_ARGUMENT, str(err)) from None


def _count(args: list[tuple[str, str]], key: str) -> int:
    value = first(args, key) or "0"
    number = whole_number(value)
    if number is None:
        raise Refused(RECORD_BAD_ARGUMENT, f"{key} must be a whole number, not {value[:40]!r}")
    return number


def _time(args: list[tuple[str, str]], key: str) -> float | None:
    value = first(args, key)
    if not value:
        return None
    try:
        return parse_iso(value)
    except ValueError as err:
        raise Refused(RECORD_BAD_ARGUMENT, f"{key}: {err}") from None


def _service(request: Request) -> RecordingService:
    return request.app.state.device.features[RECORDING_SERVICE]


def _recording_xml(row: tuple) -> str:
    rid, source, volume, kind, start, stop, event, locked, width, height, size = row
    status = "recording" if stop is None else "completed"
    return (f'<recording diskid={quoteattr(volume)} recordingid={quoteattr(rid)} starttime="{iso(start)}" '
            f'stoptime="{iso(stop)}" recordingtype={quoteattr(kind)} eventid={quoteattr(event)} '
            f'eventtrigger={quoteattr(event)} recordingstatus="{status}" source={quoteattr(source)} '
            f'locked="{"yes" if locked else "no"}" size="{size}"><video mimetype="video/x-h264" '
            f'width="{width}" height="{height}"/></recording>')


async def list_recordings(request: Request, who: Principal) -> Response:
    try:
        args = await _args(request)
        start, stop = _time(args, "starttime"), _time(args, "stoptime")
        limit, offset = _count(args, "maxnumberofresults"), _count(args, "startatresultnumber")
    except Refused as err:
        return xml_error(err.code, str(err))
    recording_id = first(args, "recordingid", "all")
    rows = recording_rows(request.app.state.device, source=first(args, "source"), start=start, stop=stop,
                          kind=first(args, "recordingtype"), event=first(args, "event"),
                          recording_id=None if recording_id in (None, "all") else recording_id)
    disk = first(args, "diskid", "all")
    rows = [r for r in rows if disk in ("all", r[2])]
    if first(args, "sortorder", "ascending") == "descending":
        rows.reverse()
    total = len(rows)
    rows = rows[offset:offset + limit] if limit else rows[offset:]
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<root><recordings '
            f'totalnumberofrecordings="{total}" numberofrecordings="{len(rows)}">'
            + "".join(_recording_xml(r) for r in rows) + "</recordings></root>\n")
    return Response(body, media_type=XML)


async def record(request: Request, who: Principal) -> Response:
    service = _service(request)
    try:
        args = await _args(request)
        source = first(args, "source") or first(args, "camera") or ""
        if source not in service.recorders:
            raise Refused(RECORD_UNKNOWN_SOURCE, f"unknown source {source[:40]!r}")
        try:
            recording = service.start_recording(source, "manual", event=f"manual by {who.name}")
        except VolumeUnavailable as err:
            raise Refused(RECORD_VOLUME_UNAVAILABLE, f"cannot record {source}: {err}") from None
    except Refused as err:
        return xml_error(err.code, str(err))
    request.app.state.device.logs.audit(who.name, f"started manual recording {recording}", "recording")
    return xml_result("record", f" recordingid={quoteattr(recording)}")


async def stop(request: Request, who: Principal) -> Response:
    service = _service(request)
    try:
        recording = first(await _args(request), "recordingid", "") or ""
        owner = next((s for s, r, _k in service.ongoing() if r == recording), None)
        if owner is None:
            raise Refused(RECORD_NOT_ONGOING, f"no ongoing recording {recording[:60]!r}")
    except Refused as err:
        return xml_error(err.code, str(err))
    service.end_recording(owner, recording)
    request.app.state.device.logs.audit(who.name, f"stopped recording {recording}", "recording")
    return xml_result("stop")


async def remove(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    service = _service(request)
    try:
        wanted = [r for r in (first(await _args(request), "recordingid", "") or "").split(",") if r]
        ongoing = {r for _s, r, _k in service.ongoing()}
        for recording in wanted:
            if recording in ongoing:
                raise Refused(RECORD_ONGOING, f"recording {recording} is ongoing; stop it first")
            if not recording_rows(device, recording_id=recording):
                raise Refused(RECORD_NOT_FOUND, f"no recording {recording[:60]!r}")
        for recording in wanted:
            try:
                await asyncio.to_thread(delete_recording, service, recording)
            except VolumeUnavailable as err:
                raise Refused(RECORD_VOLUME_UNAVAILABLE, f"recording {recording} was not removed: {err}") from None
            device.logs.audit(who.name, f"removed recording {recording}", "recording")
    except Refused as err:
        return xml_error(err.code, str(err))
    return xml_result("remove")


ROUTES = (
    Endpoint("/axis-cgi/record/list.cgi", list_recordings, Role.VIEWER, kind="xml"),
    Endpoint("/axis-cgi/record/record.cgi", record, Role.OPERATOR, kind="xml"),
    Endpoint("/axis-cgi/record/stop.cgi", stop, Role.OPERATOR, kind="xml"),
    Endpoint("/axis-cgi/record/remove.cgi", remove, Role.ADMIN, kind="xml"),
)


def register(device: Device) -> None:
    device.router.include(ROUTES)
