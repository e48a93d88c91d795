"""What an answer means, in each API's own format (text, JSON, XML, SOAP faults), and what the walk
counts: each `Failure`, a profile's `Figures`, and the exceptions the product logs, with the place
at fault."""

from __future__ import annotations

import json
import logging
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import vigil
from bench.fuzzing.values import short

PROJECT = str(Path(vigil.__file__).resolve().parent.parent)  # frames under it are the product's (or a test's)


_INTERNAL = re.compile(r"^# Error: internal error|<error code=\"8000\"|Internal error while running|"
                       r"<ErrorDescription>Internal server error|Traceback \(most recent call last\)", re.M)
_ERROR_XML = re.compile(r"<(?:[\w.-]+:)?(?:Fault|error|Error|GeneralError)\b|result=\"ERROR\"")
_ERROR_TEXT = ("# Error", "# Request failed", "Error", "<html><body>Error")
_REASON = re.compile(r"<(?:[\w.-]+:)?Text[^>]*>([^<]*)<|<faultstring>([^<]*)<|description=\"([^\"]*)\"|"
                     r"<ErrorDescription>([^<]*)<|<(?:[\w.-]+:)?ErrorCode>([^<]*)<")
_DESIGNED_FAULT = re.compile(r"faultcode>[^<]*:(?:Client|VersionMismatch|MustUnderstand)|"
                             r"Value>[^<]*:(?:Sender|VersionMismatch|MustUnderstand)</")


@dataclass
class Answer:
    status: int | None
    content_type: str
    text: str
    elapsed: float

    @property
    def refused(self) -> bool:
        return self.status in (401, 403)

    @property
    def json(self) -> Any:
        if "json" not in self.content_type:
            return None
        try:
            return json.loads(self.text)
        except (ValueError, RecursionError):
            return None

    @property
    def internal(self) -> bool:
        if _INTERNAL.search(self.text[:200_000]):
            return True
        body = self.json
        error = body.get("error") if isinstance(body, dict) else None
        if isinstance(error, dict):
            message = str(error.get("message", ""))
            return error.get("code") == 8000 or message.lower().startswith("internal error")
        return False

    @property
    def reason(self) -> str:
        """What a refusal says, for telling one refusal from another."""
        body = self.json
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            return str(body["error"].get("message", body["error"]))
        found = _REASON.search(self.text[:20_000])
        if found:
            return next(g for g in found.groups() if g is not None)
        return self.text.strip().split("\n")[0][:200]

    @property
    def soap_designed(self) -> bool:
        """A SOAP fault answered 500 by design: SOAP 1.1 Client, VersionMismatch, MustUnderstand,
        or a Receiver fault that is not an internal error (a test message not delivered)."""
        if self.status is None or self.status < 500:
            return False
        head = self.text[:20_000]
        return bool(_DESIGNED_FAULT.search(head)) or ("Receiver" in head or "Server" in head) and \
            "Fault" in head and not self.internal

    @property
    def error(self) -> bool:
        if self.status is None or self.status >= 300:
            return True
        body = self.json
        if isinstance(body, dict):
            return "error" in body
        if "xml" in self.content_type:
            return bool(_ERROR_XML.search(self.text[:20_000]))
        return self.text.lstrip().startswith(_ERROR_TEXT)


@dataclass
class Failure:
    kind: str  # internal | 5xx | violation | hang | exception | readback | slow | waits (not counted)
    target: str
    request: str  # method and path
    params: str
    role: str
    status: int | None = None
    body: str = ""
    cause: str = ""  # the exception logged, when there was one
    where: str = ""  # the product's innermost frame of that exception
    elapsed: float = 0.0

    def line(self) -> str:
        out = f"{self.kind:9} {self.role:9} {self.request} {self.params}"
        out += f" -> {self.status}" if self.status is not None else " -> (no answer)"
        if self.body:
            out += f" {self.body[:200]!r}"
        if self.cause:
            out += f"\n{'':20}{self.cause} at {self.where}"
        return out


@dataclass
class Figures:
    profile: str
    endpoints: int = 0
    json_methods: int = 0
    soap_operations: int = 0
    requests: int = 0
    soap_faults_500: int = 0  # SOAP's designed 500 faults
    other_5xx: int = 0
    internal_errors: int = 0
    exceptions_logged: int = 0
    role_violations: int = 0
    hangs: int = 0
    slow: int = 0  # answered, but after more than the bound
    stops: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # what the walk saw that is not a fault of the device
    per_target: dict[str, int] = field(default_factory=dict)  # requests
    target_seconds: dict[str, float] = field(default_factory=dict)  # time spent answering them
    seconds: float = 0.0
    failures: list[Failure] = field(default_factory=list)

    def count(self, failure: Failure) -> None:
        if len(self.failures) < 20_000:
            self.failures.append(failure)


class LoggedExceptions(logging.Handler):
    """Collects the tracebacks the product logs, to point at the place at fault."""

    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.records.append(record)


def describe(record: logging.LogRecord) -> tuple[str, str]:
    """(exception: message, file:line in function of the product's innermost frame)."""
    _, exc, tb = record.exc_info  # type: ignore[misc]
    frames = traceback.extract_tb(tb)
    own = [f for f in frames if f.filename.startswith(PROJECT) and "site-packages" not in f.filename] or frames
    where = ""
    if own:
        f = own[-1]
        name = f.filename[len(PROJECT) + 1:] if f.filename.startswith(PROJECT) else f.filename
        where = f"{name}:{f.lineno} in {f.name}"
    message = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {short(message, 160)}", where
