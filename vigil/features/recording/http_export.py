"""The export API family (the files are export.py's, background jobs export_jobs.py's).

    GET /axis-cgi/record/export/exportrecording.cgi   the VAPIX call; streams the file
        (operator). It answers Range requests (unless CBC-encrypted), so downloads resume.
    GET /axis-cgi/record/export/properties.cgi         proper start, stop, exact size
    GET /axis-cgi/record/export/capabilities.cgi, schemaversions.cgi
    GET /axis-cgi/record/export/getjobstatus.cgi       the VAPIX job status of a background export
    GET /axis-cgi/record/export/download.cgi?jobid=N   a finished job's file (Range too)
    POST /axis-cgi/record/export/jobs.cgi              JSON: startExport (destination "device"
        or "usb"), getExport, listExports, removeExport, getUsbDrive, ejectUsbDrive

exportrecording.cgi with `destination=usb` writes the export to the USB drive as a background
job instead of sending it, and answers with the job (follow it with getjobstatus.cgi).

Errors use the VAPIX export API's XML (`GeneralError`, codes 10-280, HTTP 200) on the CGIs
and the same codes on the JSON API.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape, quoteattr

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.recording import crypto
from vigil.features.recording.api import iso, parse_times
from vigil.features.recording.const import (
    BAD_ENCRYPTION,
    BAD_FORMAT,
    BAD_SCHEMA,
    INVALID_REQUEST,
    JOB_NOT_FOUND,
    NO_USB_DRIVE,
    PROCESSING,
    USB_BUSY,
    XML,
)
from vigil.features.recording.errors import REFUSALS, ApiError, api_error, footage_args
from vigil.features.recording.export import FORMATS, encryption_check, plan_export
from vigil.features.recording.export_jobs import EXPORT_JOBS, ExportJobs
from vigil.features.recording.responses import LayoutResponse
from vigil.features.recording.usb import UsbPort
from vigil.footage.reader import Layout
from vigil.hal.usb import UsbError
from vigil.http.routing import Endpoint
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

SCHEMA = "1.2"
JOBS_PATH = "/axis-cgi/record/export/jobs.cgi"
JOB_ERRORS = JsonErrors()


# -- replies --------------------------------------------------------------------------------------
def xml_reply(body: str) -> Response:
    return Response(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<ExportRecordingResponse SchemaVersion="{SCHEMA}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="http://www.axis.com/vapix/http_cgi/exportrecording1.xsd">'
        f"{body}</ExportRecordingResponse>\n", media_type=XML)


def general_error(code: int, description: str) -> str:
    return f"<GeneralError><ErrorCode>{code}</ErrorCode><ErrorDescription>{escape(description)}</ErrorDescription>" \
           "</GeneralError>"


def xml_error(err: ApiError) -> Response:
    return xml_reply(general_error(err.code, err.message))


def _content_disposition(name: str) -> str:
    return f'attachment; filename="{name}"'


# -- arguments ------------------------------------------------------------------------------------
def _arg(args: list[tuple[str, str]], key: str) -> str | None:
    return next((v for k, v in args if k == key), None)


def _schema(args: list[tuple[str, str]]) -> None:
    version = _arg(args, "schemaversion")
    if version is None or version == "":
        raise ApiError(INVALID_REQUEST, "schemaversion is required")
    if version.split(".")[0].strip() != "1":
        raise ApiError(BAD_SCHEMA, f"schema version {version[:40]!r} is not supported; use 1")


def _jobs(request: Request) -> ExportJobs:
    return request.app.state.device.features[EXPORT_JOBS]


# -- the VAPIX export CGIs ------------------------------------------------------------------------
async def export_recording(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    try:
        args = await footage_args(request)
        _schema(args)
        start, stop = parse_times(args)
        fmt = _arg(args, "exportformat")
        if not fmt:
            raise ApiError(BAD_FORMAT, f"exportformat is required ({' or '.join(FORMATS)})")
        encryption_check(_arg(args, "password"), _arg(args, "encryptionformat"))
        destination = _arg(args, "destination")
        if destination not in (None, "", "client"):
            job = await _jobs(request).start(who, _arg(args, "recordingid"), start, stop, fmt, _arg(args, "password"),
                                             _arg(args, "encryptionformat"), _arg(args, "filename"), destination)
            return xml_reply(f'<ExportRecordingSuccess><ExportJob JobId="{job.id}" Destination="{job.destination}" '
                             f'FileName={quoteattr(job.filename)} FileSize="{job.size}"/></ExportRecordingSuccess>')
        plan = await asyncio.to_thread(plan_export, device.store, _arg(args, "recordingid"), start, stop, fmt,
                                       _arg(args, "diskid"))
    except REFUSALS as err:
        return xml_error(api_error(err))
    # (deriving the key takes PBKDF2's 100 000 rounds: not on the event loop)
    transform = await asyncio.to_thread(plan.encrypted, _arg(args, "password"), _arg(args, "encryptionformat"))
    name = plan.filename(_arg(args, "filename"))
    headers = {"Cache-Control": "no-store", "X-Vigil-Start-Time": iso(plan.shown_start),
               "X-Vigil-First-Frame-Time": iso(plan.first_frame), "X-Vigil-Stop-Time": iso(plan.stop)}
    media_type = plan.media_type
    if transform is not None:
        name += ".enc"
        media_type = "application/octet-stream"
    headers["Content-Disposition"] = _content_disposition(name)
    what = (f"recording {plan.recording} {iso(plan.shown_start)} to {iso(plan.stop)} as {fmt}"
            + (" (encrypted)" if transform else ""))

    def done(sent: int, complete: bool) -> None:
        if request.method != "HEAD":
            device.logs.audit(who.name, f"exported {what}" + ("" if complete else f", stopped after {sent} bytes"),
                              "recording")

    tag = None if transform else plan.identity
    return LayoutResponse(plan.layout, request, media_type, headers, transform, tag, done)


async def properties(request: Request, who: Principal) -> Response:
    try:
        args = await footage_args(request)
        _schema(args)
        start, stop = parse_times(args)
        fmt = _arg(args, "exportformat") or "matroska"
        encryption = _arg(args, "encryptionformat")
        if encryption and encryption not in crypto.FORMATS:
            raise ApiError(BAD_ENCRYPTION, f"unsupported encryption format {encryption[:40]!r}")
        plan = await asyncio.to_thread(plan_export, request.app.state.device.store, _arg(args, "recordingid"),
                                       start, stop, fmt, _arg(args, "diskid"))
    except REFUSALS as err:
        return xml_error(api_error(err))
    plan.layout.close()
    size = plan.layout.size
    if encryption == crypto.OPENSSL_AES256_CTR:
        size += 16
    elif encryption:
        size = 16 + (size // 16 + 1) * 16
    begin = plan.first_frame if fmt == "matroska" else plan.shown_start
    extra = f" EncryptionFormat={quoteattr(encryption)}" if encryption else ""
    return xml_reply(
        f"<PropertiesSuccess><ExportProperties RecordingId={quoteattr(plan.recording)} "
        f'ExportFormat="{fmt}"{extra} EstimatedFileSize="{-(-size // 1024)}" Starttime="{iso(begin)}" '
        f'Stoptime="{iso(plan.stop)}" FileSize="{size}" Frames="{plan.frames}"/></PropertiesSuccess>')


async def capabilities(request: Request, who: Principal) -> Response:
    return xml_reply("<CapabilitiesSuccess>" + "".join(f'<ExportCapabilities ExportFormat="{f}"/>'
                                                      for f in FORMATS) + "</CapabilitiesSuccess>")


async def schema_versions(request: Request, who: Principal) -> Response:
    return xml_reply(f"<SchemaVersionsSuccess><SchemaVersion><VersionNumber>{SCHEMA}</VersionNumber>"
                     "<Deprecated>false</Deprecated></SchemaVersion></SchemaVersionsSuccess>")


async def job_status(request: Request, who: Principal) -> Response:
    try:
        args = await footage_args(request)
        _schema(args)
        job = _jobs(request).get(_arg(args, "jobid"), who)
    except ApiError as err:
        return xml_error(err)
    if job.status in ("failed", "cancelled"):
        err = job.error or ApiError(PROCESSING, "the export was cancelled")
        return xml_reply(f"<GetJobStatusSuccess>{general_error(err.code, err.message)}</GetJobStatusSuccess>")
    status = "Done" if job.status == "done" else "In Progress"
    return xml_reply(f'<GetJobStatusSuccess><JobStatus Status="{status}" Progress="{job.progress}"/>'
                     "</GetJobStatusSuccess>")


async def download(request: Request, who: Principal) -> Response:
    try:
        job = _jobs(request).get(_arg(await footage_args(request), "jobid"), who)
        if job.status != "done":
            raise ApiError(PROCESSING, f"export job {job.id} is {job.status}, not done")
        if job.destination != "device":
            raise ApiError(PROCESSING, f"export job {job.id} was written to the USB drive, not kept on the device")
        fd = os.open(job.path, os.O_RDONLY)
    except ApiError as err:
        return xml_error(err)
    except FileNotFoundError:
        return xml_error(ApiError(JOB_NOT_FOUND, "the export file is gone"))
    layout = Layout()
    layout.add_span(fd, 0, os.fstat(fd).st_size)
    layout.close = lambda: os.close(fd)  # type: ignore[method-assign]
    media_type = "application/octet-stream" if job.encrypted else FORMATS[job.fmt].media_type
    return LayoutResponse(layout, request, media_type,
                          {"Content-Disposition": _content_disposition(job.filename), "Cache-Control": "no-store"},
                          etag=f'"job-{job.id}-{job.size}"')


# -- jobs.cgi (JSON) ------------------------------------------------------------------------------
def _text_param(call: JsonCall, key: str, required: bool = False) -> str | None:
    value = call.params.get(key)
    if value is None:
        if required:
            raise JsonApiError(JOB_ERRORS.bad_params, f"Required parameter '{key}' missing")
        return None
    if not isinstance(value, str):
        raise JsonApiError(JOB_ERRORS.bad_params, f"Parameter '{key}' must be a string")
    return value


def _json_error(err: ApiError) -> JsonApiError:
    return JsonApiError(err.code, err.message)


class ExportJobsApi:
    """record/export/jobs.cgi: background exports, each visible to its owner (and administrators)."""

    def __init__(self, jobs: ExportJobs) -> None:
        self.jobs = jobs

    async def start_export(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        args = []
        for key, name in (("startTime", "starttime"), ("stopTime", "stoptime")):
            value = _text_param(call, key)
            if value is not None:
                args.append((name, value))
        try:
            begin, end = parse_times(args)
            job = await self.jobs.start(who, _text_param(call, "recordingId", True), begin, end,
                                        _text_param(call, "format") or "mp4", _text_param(call, "password"),
                                        _text_param(call, "encryptionFormat"), _text_param(call, "fileName"),
                                        _text_param(call, "destination") or "device")
        except REFUSALS as err:
            raise _json_error(api_error(err)) from None
        return {"job": job.public()}

    async def get_export(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        try:
            return {"job": self.jobs.get(call.params.get("jobId"), who).public()}
        except ApiError as err:
            raise _json_error(err) from None

    async def list_exports(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        return {"jobs": [j.public() for j in self.jobs.visible(who)]}

    async def remove_export(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        try:
            job = self.jobs.get(call.params.get("jobId"), who)
        except ApiError as err:
            raise _json_error(err) from None
        await self.jobs.remove(job)
        return {}

    async def get_usb_drive(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        usb = self._usb()
        status = await asyncio.to_thread(usb.status)
        status["exporting"] = bool(self.jobs.writing_to_usb())
        return status

    async def eject_usb_drive(self, call: JsonCall, who: Principal) -> dict[str, Any]:
        usb = self._usb()
        writing = self.jobs.writing_to_usb()
        if writing:
            raise JsonApiError(USB_BUSY, f"export job {writing[0].id} is being written to the USB drive: wait for "
                               "it or cancel it first")
        try:
            drive = await asyncio.to_thread(usb.eject)
        except UsbError as err:
            self.jobs.logs.system(f"the USB drive was not ejected: {err}", "warning")
            raise JsonApiError(NO_USB_DRIVE, str(err)) from None
        self.jobs.logs.audit(who.name, f"ejected the USB drive {drive.label}", "recording")
        return await self.get_usb_drive(call, who)

    def _usb(self) -> UsbPort:
        if self.jobs.usb is None:
            raise JsonApiError(NO_USB_DRIVE, "this device has no USB port")
        return self.jobs.usb


# -- routes -----------------------------------------------------------------------------------
ROUTES = (
    Endpoint("/axis-cgi/record/export/exportrecording.cgi", export_recording, Role.OPERATOR, kind="xml"),
    Endpoint("/axis-cgi/record/export/properties.cgi", properties, Role.VIEWER, kind="xml"),
    Endpoint("/axis-cgi/record/export/capabilities.cgi", capabilities, Role.VIEWER, kind="xml"),
    Endpoint("/axis-cgi/record/export/schemaversions.cgi", schema_versions, Role.VIEWER, kind="xml"),
    Endpoint("/axis-cgi/record/export/getjobstatus.cgi", job_status, Role.OPERATOR, kind="xml"),
    # safe_get: the Recordings page offers it as a download link, which sends no same-origin proof.
    Endpoint("/axis-cgi/record/export/download.cgi", download, Role.OPERATOR, methods=("GET",), kind="xml",
             safe_get=True),
)

JOB_METHODS: dict[str, tuple[Role, Callable[[ExportJobsApi, JsonCall, Principal], Awaitable[dict[str, Any]]]]] = {
    "startExport": (Role.OPERATOR, ExportJobsApi.start_export),
    "getExport": (Role.OPERATOR, ExportJobsApi.get_export),
    "listExports": (Role.OPERATOR, ExportJobsApi.list_exports),
    "removeExport": (Role.OPERATOR, ExportJobsApi.remove_export),
    "getUsbDrive": (Role.OPERATOR, ExportJobsApi.get_usb_drive),
    "ejectUsbDrive": (Role.OPERATOR, ExportJobsApi.eject_usb_drive),
}


def register(device: Device, usb: UsbPort | None = None) -> ExportJobs:
    jobs = ExportJobs(device.store, device.params, device.logs, device.clock, device.data / "exports", usb)
    device.features[EXPORT_JOBS] = jobs
    device.router.include(ROUTES)
    api = ExportJobsApi(jobs)
    device.router.json_api(JOBS_PATH, ["1.0"], {name: JsonMethod(role, partial(handler, api))
                                                for name, (role, handler) in JOB_METHODS.items()}, JOB_ERRORS)
    return jobs
