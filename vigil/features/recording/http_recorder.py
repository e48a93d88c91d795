"""recorder.cgi, Vigil's JSON API of the recorder: camera sources and manual recordings.

    POST /axis-cgi/recorder.cgi   listSources, getStatus (viewer); startRecording,
                                  stopRecording (operator); setSource, removeSource (admin)

Errors are the JSON API's: 4002 for a parameter of the wrong type, 1000 for a refused source
or an unknown source or recording, 1001 when the source's volume cannot be written.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.recording.const import RECORDER_REFUSED, RECORDER_VOLUME_UNAVAILABLE
from vigil.features.recording.recorder import RecordingService, VolumeUnavailable
from vigil.features.recording.sources import FIELDS, SourceError, source_from_json
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

PATH = "/axis-cgi/recorder.cgi"
ERRORS = JsonErrors()


def _text(call: JsonCall, key: str) -> str:
    value = call.params.get(key)
    if not isinstance(value, str):
        raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be a string")
    return value


class RecorderApi:
    def __init__(self, device: Device, service: RecordingService) -> None:
        self.device = device
        self.service = service

    async def list_sources(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        connected = {sid for sid, r in self.service.recorders.items() if r.connected}
        # camera: the number the live view, the RTSP relay and image.cgi call it by
        return {"sources": [{**s.public(), "connected": s.id in connected, "camera": n}
                            for n, s in enumerate(self.service.sources.numbered(), start=1)]}

    async def get_status(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        service = self.service
        return {"ongoing": [{"source": s, "recordingId": r, "type": k} for s, r, k in service.ongoing()],
                "usedBytes": service.used_bytes(),
                "sources": service.stats(),
                "writtenBytes": service.segments.written_bytes,
                "liveViewers": service.relays.streams.viewers}

    async def set_source(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        body = call.params.get("source")
        if not isinstance(body, dict):
            raise JsonApiError(ERRORS.bad_params, "Parameter 'source' must be an object")
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise JsonApiError(ERRORS.bad_params, f"Unknown source fields: {', '.join(k[:40] for k in unknown)}")
        sources = self.service.sources
        current = sources.all.get(body["id"]) if isinstance(body.get("id"), str) else None
        try:
            saved = sources.put(source_from_json(body, current), who.name)
        except SourceError as err:
            raise JsonApiError(RECORDER_REFUSED, f"Invalid source: {err}") from None
        await self.service.reconfigure(saved.id)
        return {"source": saved.public()}

    async def remove_source(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        source_id = _text(call, "id")
        try:
            self.service.sources.remove(source_id, who.name)
        except SourceError as err:
            raise JsonApiError(RECORDER_REFUSED, str(err)) from None
        await self.service.reconfigure(source_id)
        return {}

    async def start_recording(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        source_id = _text(call, "source")
        if source_id not in self.service.recorders:
            raise JsonApiError(RECORDER_REFUSED, f"Unknown or disabled source {source_id[:40]!r}")
        try:
            recording = self.service.start_recording(source_id, "manual", event=f"manual by {who.name}")
        except VolumeUnavailable as err:
            raise JsonApiError(RECORDER_VOLUME_UNAVAILABLE, f"Cannot record {source_id}: {err}") from None
        self.device.logs.audit(who.name, f"started manual recording {recording}", "recording")
        return {"recordingId": recording}

    async def stop_recording(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        recording = _text(call, "recordingId")
        owner = next((s for s, r, _k in self.service.ongoing() if r == recording), None)
        if owner is None:
            raise JsonApiError(RECORDER_REFUSED, f"No ongoing recording {recording[:60]!r}")
        self.service.end_recording(owner, recording)
        self.device.logs.audit(who.name, f"stopped recording {recording}", "recording")
        return {}


METHODS: dict[str, tuple[Role, Callable[[RecorderApi, JsonCall, Principal], Awaitable[dict[str, Any]]]]] = {
    "listSources": (Role.VIEWER, RecorderApi.list_sources),
    "getStatus": (Role.VIEWER, RecorderApi.get_status),
    "setSource": (Role.ADMIN, RecorderApi.set_source),
    "removeSource": (Role.ADMIN, RecorderApi.remove_source),
    "startRecording": (Role.OPERATOR, RecorderApi.start_recording),
    "stopRecording": (Role.OPERATOR, RecorderApi.stop_recording),
}


def register(device: Device, service: RecordingService) -> None:
    api = RecorderApi(device, service)
    device.router.json_api(PATH, ["1.0"], {name: JsonMethod(role, partial(handler, api))
                                           for name, (role, handler) in METHODS.items()}, ERRORS)
    device.apis.append(Api("recorder", "1.0", "Recorder sources and recordings"))
