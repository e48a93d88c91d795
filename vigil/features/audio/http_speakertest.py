"""VAPIX Auto speaker test service API, `/vapix/axast` (administrators): CalibrateSpeakerTest,
PerformSpeakerTest (both start the work and answer at once; the report says Pending meanwhile)
and GetSpeakerTestReport, as JSON (`{"axast:GetSpeakerTestReport": {}}` posted) or in the
simplified key-value form (`?format=simple&action=axast:GetSpeakerTestReport`). Faults are the
API's: HTTP 400 with Fault, FaultCode, FaultSubCode, FaultReason and FaultMsg."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.audio.const import SPEAKER_TEST_PATH
from vigil.features.audio.speakertest import SPEAKER_TEST, SpeakerTest, SpeakerTestError
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device

MAX_BODY = 4096


class Fault(Exception):
    def __init__(self, fault: str, code: str, subcode: str, reason: str) -> None:
        super().__init__(reason)
        self.body = {"Fault": fault, "FaultCode": code, "FaultSubCode": subcode, "FaultReason": reason,
                     "FaultMsg": None}


def flatten(value: Any, prefix: str = "") -> list[str]:
    """The simplified key-value form: levels joined by underscores, one `key=value` a line."""
    if isinstance(value, dict):
        return [line for key, item in value.items() for line in flatten(item, f"{prefix}_{key}" if prefix else key)]
    if isinstance(value, bool):
        return [f"{prefix}={'true' if value else 'false'}"]
    return [f"{prefix}={'null' if value is None else value}"]


async def parse(request: Request) -> tuple[str, bool]:
    """(command without its prefix, simplified form?) of a request."""
    query = dict(request.query_params)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise Fault("env:Sender", "ter:InvalidArgVal", "ter:InvalidArgVal", "The request is too large")
    form = dict(parse_qsl(body.decode("utf-8", "replace"))) if body and body.lstrip()[:1] != b"{" else {}
    simple = {**form, **query}
    if simple.get("format") == "simple" or "action" in simple:
        action = simple.get("action", "")
        if simple.get("format", "simple") != "simple":
            raise Fault("env:Sender", "ter:InvalidArgVal", "ter:InvalidArgVal", "format is simple or left out")
        return action, True
    try:
        call = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise Fault("env:Sender", "ter:InvalidArgVal", "ter:InvalidArgVal",
                    'Send a JSON object such as {"axast:GetSpeakerTestReport": {}}, or '
                    "format=simple&action=axast:GetSpeakerTestReport") from None
    if not isinstance(call, dict) or len(call) != 1 or not isinstance(next(iter(call.values())), dict):
        raise Fault("env:Sender", "ter:InvalidArgVal", "ter:InvalidArgVal",
                    "The request is one command with an object of arguments")
    return next(iter(call)), False


def get_report(test: SpeakerTest, who: Principal) -> dict[str, Any]:
    return {"SpeakerTestReport": test.as_api()}


def calibrate(test: SpeakerTest, who: Principal) -> dict[str, Any]:
    test.calibrate(who.name)
    return {}


def perform(test: SpeakerTest, who: Principal) -> dict[str, Any]:
    test.perform(who.name)
    return {}


COMMANDS: dict[str, Callable[[SpeakerTest, Principal], dict[str, Any]]] = {
    "axast:GetSpeakerTestReport": get_report,
    "axast:CalibrateSpeakerTest": calibrate,
    "axast:PerformSpeakerTest": perform,
}


async def axast(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    simple = request.query_params.get("format") == "simple"
    try:
        command, simple = await parse(request)
        handler = COMMANDS.get(command)
        if handler is None:
            raise Fault("env:Sender", "ter:ActionNotSupported", "ter:ActionNotSupported",
                        f"Unknown command {printable(command)[:64]!r}: " + ", ".join(COMMANDS))
        try:
            result = handler(device.features[SPEAKER_TEST], who)
        except SpeakerTestError as err:
            raise Fault("env:Receiver", "ter:Action", err.code, err.message) from None
    except Fault as fault:
        device.logs.system(f"Speaker test request of {who.name} refused: {fault}", "warning")
        if simple:
            return PlainTextResponse("\n".join(flatten(fault.body)) + "\n", status_code=400)
        return JSONResponse(fault.body, status_code=400)
    if simple:
        lines = flatten(result)
        return PlainTextResponse("\n".join(lines) + ("\n" if lines else ""))
    return JSONResponse(result)


ROUTES = (
    Endpoint(SPEAKER_TEST_PATH, axast, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
