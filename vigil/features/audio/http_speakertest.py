"""VAPIX Auto speaker test service API, `/vapix/axast` (administrators): CalibrateSpeakerTest,
PerformSpeakerTest (both start the work and answer at once; the report says Pending meanwhile)
and GetSpeakerTestReport, as JSON (`{"axast:GetSpeakerTestReport": {}}` posted) or in the
simplified key-value form (`?format=simple&action=axast:GetSpeakerTestReport`), as
vigil/http/axservice.py reads and answers them."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.audio.const import SPEAKER_TEST_PATH
from vigil.features.audio.speakertest import SPEAKER_TEST, SpeakerTest, SpeakerTestError
from vigil.http.axservice import Fault, serve
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


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

    def run(command: str, arguments: dict[str, Any]) -> dict[str, Any]:
        handler = COMMANDS.get(command)
        if handler is None:
            raise Fault("env:Sender", "ter:ActionNotSupported", "ter:ActionNotSupported",
                        f"Unknown command {printable(command)[:64]!r}: " + ", ".join(COMMANDS))
        try:
            return handler(device.features[SPEAKER_TEST], who)
        except SpeakerTestError as err:
            raise Fault("env:Receiver", "ter:Action", err.code, err.message) from None

    return await serve(request, "axast:GetSpeakerTestReport", device.logs, "Speaker test", who.name, run)


ROUTES = (
    Endpoint(SPEAKER_TEST_PATH, axast, Role.ADMIN, methods=("GET", "POST"), kind="json"),
)
