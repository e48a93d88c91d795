"""The recordings as the recording APIs see them: listing and deleting recordings, and the
time and number formats of their arguments. The HTTP faces are the `http_*` modules.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from vigil.features.recording.const import BAD_START, BAD_STOP
from vigil.features.recording.errors import ApiError
from vigil.features.recording.recorder import RecordingService
from vigil.footage import index

if TYPE_CHECKING:
    from vigil.device import Device

_DIGITS = re.compile(r"[0-9]{1,9}")  # ASCII only: int() would also take "٣" and "1_000"


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int((t % 1) * 1000):03d}Z"


def parse_iso(text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    except (ValueError, OverflowError):  # OverflowError, ValueError: a year beyond 1..9999 in UTC
        raise ValueError(f"not an ISO 8601 time: {text[:40]!r}") from None


def parse_times(args: list[tuple[str, str]]) -> tuple[float | None, float | None]:
    """`starttime` and `stoptime` of a footage request (either may be left out), in the export
    API's codes."""
    values = {}
    for name, code in (("starttime", BAD_START), ("stoptime", BAD_STOP)):
        text = next((v for k, v in args if k == name), None)
        if text is None or text == "":
            values[name] = None
            continue
        try:
            values[name] = parse_iso(text)
        except ValueError:
            raise ApiError(code, f"{name} is not a UTC ISO 8601 time: {text[:40]!r}") from None
    return values["starttime"], values["stoptime"]


def whole_number(value: object) -> int | None:
    """A count or an id given as a JSON integer or as decimal digits (at most nine), or None
    for anything else: booleans, fractions, 1e999, NaN, 5,000 digits, "+1", " 1"."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value if 0 <= value < 10**9 else None
    if isinstance(value, str) and _DIGITS.fullmatch(value):
        return int(value)
    return None


def recording_rows(device: Device, source: str | None = None, start: float | None = None,
                   stop: float | None = None, kind: str | None = None, recording_id: str | None = None,
                   event: str | None = None) -> list[tuple]:
    return index.recording_rows(device.store, source=source, start=start, stop=stop, kind=kind,
                                recording_id=recording_id, event=event)


def delete_recording(service: RecordingService, recording: str) -> None:
    service.delete_recording(recording)  # vigil.footage.index.delete_recording, where the volume allows it
