"""recorder.cgi, Vigil's JSON API of the recorder: camera sources and manual recordings.

    POST /axis-cgi/recorder.cgi   listSources, getStatus (viewer); startRecording,
                                  stopRecording (operator); setSource, removeSource,
                                  testSource, findCameras, getCameraStreams (admin)

testSource tries a camera as setSource would record it, without storing anything: the fields
given over the stored source of the same id (so "******" tests with the stored password).
findCameras probes for ONVIF devices (WS-Discovery); getCameraStreams reads a device's media
profiles and their stream addresses (GetProfiles, GetStreamUri) with the credentials given.

Errors are the JSON API's: 4002 for a parameter of the wrong type, 1000 for a refused source
or an unknown source or recording, 1001 when the source's volume cannot be written, 1002 when
the tested camera refuses, cannot be reached or sends other than its SDP announces, 1003 when
the ONVIF search or device fails.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.recording.const import (
    RECORDER_CAMERA_FAILED,
    RECORDER_ONVIF_FAILED,
    RECORDER_REFUSED,
    RECORDER_VOLUME_UNAVAILABLE,
)
from vigil.features.recording.finder import CAMERA_FINDER, CameraFinder, FinderError
from vigil.features.recording.probe import probe
from vigil.features.recording.recorder import RecordingService, VolumeUnavailable
from vigil.features.recording.rtsp_client import RtspError
from vigil.features.recording.sources import FIELDS, HIDDEN, Source, SourceError, source_from_json
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

PATH = "/axis-cgi/recorder.cgi"
DISCOVERY_SECONDS = 3.0  # how long findCameras gathers answers (devices answer within 0.5 s, more on busy networks)
MAX_ADDRESS = 256
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

    def _stored(self, body: Any) -> Source | None:
        """Check a call's `source` object; the stored source of its id, if any."""
        if not isinstance(body, dict):
            raise JsonApiError(ERRORS.bad_params, "Parameter 'source' must be an object")
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise JsonApiError(ERRORS.bad_params, f"Unknown source fields: {', '.join(k[:40] for k in unknown)}")
        return self.service.sources.all.get(body["id"]) if isinstance(body.get("id"), str) else None

    async def set_source(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        body = call.params.get("source")
        current = self._stored(body)
        try:
            saved = self.service.sources.put(source_from_json(body, current), who.name)
        except SourceError as err:
            raise JsonApiError(RECORDER_REFUSED, f"Invalid source: {err}") from None
        await self.service.reconfigure(saved.id)
        return {"source": saved.public()}

    async def test_source(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        body = call.params.get("source")
        current = self._stored(body)
        # A camera not stored yet needs no id or name to be tried.
        defaults = {} if current else {"id": "test", "name": "Camera test"}
        try:
            source = source_from_json({**defaults, **body}, current)
        except SourceError as err:
            raise JsonApiError(RECORDER_REFUSED, f"Invalid source: {err}") from None
        if source.password == HIDDEN:
            source = replace(source, password=current.password if current else "")
        try:
            report = await asyncio.to_thread(probe, source.url, source.username, source.password, source.transport)
        except RtspError as err:
            self.device.logs.system(f"camera test of {source.url} by {who.name} failed: {err}", "warning")
            raise JsonApiError(RECORDER_CAMERA_FAILED, f"Camera test failed: {err}") from None
        return {"camera": report.public()}

    def _finder(self) -> CameraFinder:
        finder = self.device.features.get(CAMERA_FINDER)
        if finder is None:
            raise JsonApiError(RECORDER_ONVIF_FAILED, "This device has no ONVIF client")
        return finder

    async def find_cameras(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        timeout = call.params.get("timeout", DISCOVERY_SECONDS)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0.5 <= timeout <= 10:
            raise JsonApiError(ERRORS.bad_params, "Parameter 'timeout' must be a number of seconds from 0.5 to 10")
        try:
            found = await self._finder().discover(float(timeout))
        except FinderError as err:
            raise JsonApiError(RECORDER_ONVIF_FAILED, f"Cannot search for cameras: {err}") from None
        return {"cameras": [c.public() for c in found]}

    async def get_camera_streams(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        address, username, password = (_text(call, key) for key in ("address", "username", "password"))
        if not 0 < len(address) <= MAX_ADDRESS or len(username) > 64 or len(password) > 64:
            raise JsonApiError(ERRORS.bad_params, f"The address is 1 to {MAX_ADDRESS} characters; user name and "
                                                  "password at most 64")
        try:
            offers = await self._finder().streams(address, username, password)
        except FinderError as err:
            self.device.logs.system(f"ONVIF camera {address[:80]} for {who.name}: {err}", "warning")
            raise JsonApiError(RECORDER_ONVIF_FAILED, f"ONVIF camera {address[:80]}: {err}") from None
        return {"streams": [o.public() for o in offers]}

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
    "testSource": (Role.ADMIN, RecorderApi.test_source),
    "findCameras": (Role.ADMIN, RecorderApi.find_cameras),
    "getCameraStreams": (Role.ADMIN, RecorderApi.get_camera_streams),
    "startRecording": (Role.OPERATOR, RecorderApi.start_recording),
    "stopRecording": (Role.OPERATOR, RecorderApi.stop_recording),
}


def register(device: Device, service: RecordingService) -> None:
    api = RecorderApi(device, service)
    device.router.json_api(PATH, ["1.0"], {name: JsonMethod(role, partial(handler, api))
                                           for name, (role, handler) in METHODS.items()}, ERRORS)
    device.apis.append(Api("recorder", "1.0", "Recorder sources and recordings"))
