"""/axis-cgi/debug/debug.tgz: the crash report (no `cmd`), and with `cmd=pcapdump&duration=<s>`
(optionally `&interface=<name>`; every interface by default) a network trace of that many
seconds, answered once it is done as a pcap file. Administrator only: a trace may hold
passwords and certificates. Errors are `Error: <why>` in text, as the other legacy CGIs say them.

A trace stops early when the client goes away: nobody waits for it then."""

from __future__ import annotations

import asyncio
import contextlib
import json
import tempfile
from pathlib import Path

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import FileResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.firmware.service import FIRMWARE_SERVICE
from vigil.features.system.report import log_files, server_report
from vigil.features.troubleshoot import crash_report, diagnostics
from vigil.features.troubleshoot.const import DEBUG_PATH, PCAP_TYPE, TRACE_CMD
from vigil.features.troubleshoot.trace import TRACE_SERVICE, TraceError, check_duration, check_interface
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, first, form_args, text


async def until_disconnected(request: Request) -> None:
    while (await request.receive())["type"] != "http.disconnect":
        pass


async def debug_tgz(request: Request, who: Principal) -> Response:
    try:
        pairs = await form_args(request)
    except BadArguments as err:
        return text(f"Error: {err}\n")
    cmd = first(pairs, "cmd")
    if cmd is None:
        return await crash_report_download(request, who)
    if cmd != TRACE_CMD:
        return text(f"Error: unknown cmd; the device knows cmd={TRACE_CMD}, or none for the crash report\n")
    return await network_trace(request, who, pairs)


async def network_trace(request: Request, who: Principal, pairs: list[tuple[str, str]]) -> Response:
    device = request.app.state.device
    tracer = device.features[TRACE_SERVICE]
    try:
        seconds = check_duration(first(pairs, "duration"))
        interface = check_interface(first(pairs, "interface"))
    except TraceError as err:
        return text(f"Error: {err}\n")
    capture = asyncio.create_task(tracer.capture(interface, seconds, who.name))
    gone = asyncio.create_task(until_disconnected(request))
    try:
        await asyncio.wait({capture, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        gone.cancel()
        if not capture.done():  # the client went away
            capture.cancel()
            with contextlib.suppress(asyncio.CancelledError, TraceError):
                await capture
    if capture.cancelled():
        return text("Error: the client went away; the trace stopped\n")
    try:
        trace = capture.result()
    except TraceError as err:
        device.logs.system(f"network trace on {interface} failed: {err}", "warning", "maintenance")
        return text(f"Error: {err}\n")
    name = f"trace_{device.identity.serial}_{interface}.pcap"
    return FileResponse(trace.path, media_type=PCAP_TYPE, filename=name)


async def crash_report_download(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    last = device.features[TRACE_SERVICE].last
    stamp = device.clock.time()
    texts = {f"serverreport_{device.identity.serial}.txt": server_report(device), **log_files(device),
             **diagnostics.configuration(device), "system/state.txt": diagnostics.process_state(device),
             **diagnostics.crash_traces(device)}
    firmware = device.features.get(FIRMWARE_SERVICE)
    if firmware is not None:
        texts["system/software.json"] = json.dumps(firmware.status(), indent=1)
    target = Path(tempfile.mkstemp(suffix=".tgz")[1])
    trace = None
    if last is not None:  # opened now: a new trace may replace (and remove) it meanwhile
        with contextlib.suppress(FileNotFoundError):
            trace = last.path.open("rb")
    try:
        await asyncio.to_thread(crash_report.write, target, texts, trace, stamp)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    finally:
        if trace is not None:
            trace.close()
    device.logs.audit(who.name, "downloaded the crash report" + (" with the last network trace" if trace else ""),
                      "maintenance")
    return FileResponse(target, media_type="application/x-gzip", filename=crash_report.file_name(
        device.identity.serial, stamp), background=BackgroundTask(target.unlink, missing_ok=True))


ROUTES = (Endpoint(DEBUG_PATH, debug_tgz, Role.ADMIN),)
