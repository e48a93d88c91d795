"""play.cgi: a recording played in a browser (the layout is playback.py's).

    GET /axis-cgi/record/play.cgi?recordingid=ID[&starttime=ISO][&stoptime=ISO][&diskid=D]

Errors are XML, `<root><error code=".." description=".."/></root>`, in the VAPIX export API's
codes, with HTTP status 400, 404 or 503, so that a media element reports a failure instead of
trying to play the error text.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING
from urllib.parse import urlencode
from xml.sax.saxutils import quoteattr

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.recording.api import iso, parse_times
from vigil.features.recording.const import XML
from vigil.features.recording.errors import REFUSALS, ApiError, api_error, footage_args
from vigil.features.recording.playback import playback_layout
from vigil.features.recording.responses import LayoutResponse, etag_for
from vigil.footage.reader import get_recording, recording_extent
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device

PLAY_PATH = "/axis-cgi/record/play.cgi"


def error_response(err: ApiError) -> Response:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<root><error code="{err.code}" '
            f'description={quoteattr(err.message)}/></root>\n')
    return Response(body, status_code=err.status, media_type=XML)


async def play(request: Request, who: Principal) -> Response:
    store = request.app.state.device.store
    try:
        args = await footage_args(request)
        recording_id = next((v for k, v in args if k == "recordingid"), None)
        disk = next((v for k, v in args if k == "diskid"), None)
        start, stop = parse_times(args)
        recording = get_recording(store, recording_id, disk)
        if recording.ongoing:
            extent = recording_extent(store, recording.id)
            if extent is not None and (stop is None or stop > extent[1]):
                # Pin the end (the indexed end, cut to the millisecond) so all requests see one file.
                pinned = [(k, v) for k, v in args if k != "stoptime"] + [("stoptime", iso(extent[1]))]
                return RedirectResponse(f"{PLAY_PATH}?{urlencode(pinned)}", 302,
                                        headers={"Cache-Control": "no-store"})
        layout = await asyncio.to_thread(playback_layout, store, recording.id, start, stop, disk)
    except REFUSALS as err:
        return error_response(api_error(err))
    selection = layout.selection
    assert selection is not None
    headers = {
        "Cache-Control": "private, no-cache",
        "Content-Disposition": f'inline; filename="{recording.id}.mp4"',
        "X-Vigil-Start-Time": iso(selection.start),
        "X-Vigil-Stop-Time": iso(selection.stop),
    }
    tag = etag_for(layout, recording.id, selection.start, selection.stop, len(selection.fragments),
                   selection.fragments[0].segment, selection.fragments[0].offset)
    return LayoutResponse(layout, request, "video/mp4", headers, etag=tag)


ROUTES = (
    # safe_get: the Recordings page plays it in a <video>, which sends no same-origin proof on plain HTTP.
    Endpoint(PLAY_PATH, play, Role.VIEWER, methods=("GET",), kind="xml", safe_get=True),
)


def register(device: Device) -> None:
    device.router.include(ROUTES)
