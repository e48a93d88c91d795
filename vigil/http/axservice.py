"""Axis's service APIs that take "JSON and simplified key-value requests" (VAPIX: the Call
service `/vapix/call`, the Auto speaker test `/vapix/axast`): one command per request, posted as
`{"prefix:Command": {arguments}}` or given as `format=simple&action=prefix:Command&Key_Sub=value`
(levels joined by underscores, array elements by their index; true, false and null as words,
strings optionally quoted). The answer is the command's data as JSON or as `key=value` lines;
a refusal is HTTP 400 with Fault, FaultCode, FaultSubCode, FaultReason and FaultMsg."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from vigil.core.logs import Logs

MAX_BODY = 16384


class Fault(Exception):
    def __init__(self, fault: str, code: str, subcode: str, reason: str, status: int = 400) -> None:
        super().__init__(reason)
        self.status = status  # 400; 403 for a command the caller's role may not run
        self.body = {"Fault": fault, "FaultCode": code, "FaultSubCode": subcode, "FaultReason": reason,
                     "FaultMsg": None}


def invalid(reason: str) -> Fault:
    """The request holds a value the service refuses (env:Sender, ter:InvalidArgVal)."""
    return Fault("env:Sender", "ter:InvalidArgVal", "ter:InvalidArgVal", reason)


def flatten(value: Any, prefix: str = "") -> list[str]:
    """The simplified key-value form: levels joined by underscores, one `key=value` a line."""
    if isinstance(value, dict):
        return [line for key, item in value.items() for line in flatten(item, f"{prefix}_{key}" if prefix else key)]
    if isinstance(value, list):
        return [line for i, item in enumerate(value) for line in flatten(item, f"{prefix}_{i}")]
    if isinstance(value, bool):
        return [f"{prefix}={'true' if value else 'false'}"]
    return [f"{prefix}={'null' if value is None else value}"]


def _scalar(text: str) -> Any:
    if text in ("true", "false"):
        return text == "true"
    if text == "null":
        return None
    digits = text.removeprefix("-")  # VAPIX gives some integers a meaning below 0
    if digits.isdigit() and len(text) < 10 and (digits == "0" or digits[0] != "0"):  # 0123 (a DTMF sequence) stays text
        return int(text)
    return text[1:-1] if len(text) >= 2 and text[0] == text[-1] == '"' else text


def unflatten(pairs: dict[str, str]) -> dict[str, Any]:
    """The arguments of a simplified request: `SIPAccount_UserId=6001` -> {"SIPAccount": {"UserId": 6001}};
    numeric levels make lists (`CallId_0=a&CallId_1=b` -> {"CallId": ["a", "b"]})."""
    out: dict[str, Any] = {}
    for key, text in pairs.items():
        parts = key.split("_")
        if not all(parts):
            raise invalid(f"{key[:64]!r} is not a simplified key")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise invalid(f"{key[:64]!r} gives a value both a value and fields")
        if isinstance(node.get(parts[-1]), dict):
            raise invalid(f"{key[:64]!r} gives a value both a value and fields")
        node[parts[-1]] = _scalar(text)
    return _listify(out)


def _listify(value: Any) -> Any:
    if not isinstance(value, dict):
        return value
    items = {k: _listify(v) for k, v in value.items()}
    if items and all(k.isdigit() for k in items) and sorted(int(k) for k in items) == list(range(len(items))):
        return [items[str(i)] for i in range(len(items))]
    return items


async def parse(request: Request, example: str) -> tuple[str, dict[str, Any], bool]:
    """(command, its arguments, simplified form?) of a request; `example` names a command for the refusal."""
    query = dict(request.query_params)
    body = await request.body()
    if len(body) > MAX_BODY:
        raise invalid("The request is too large")
    form = dict(parse_qsl(body.decode("utf-8", "replace"))) if body and body.lstrip()[:1] != b"{" else {}
    simple = {**form, **query}
    if simple.get("format") == "simple" or "action" in simple:
        action = simple.pop("action", "")
        if simple.pop("format", "simple") != "simple":
            raise invalid("format is simple or left out")
        return action, unflatten(simple), True
    try:
        call = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise invalid(f'Send a JSON object such as {{"{example}": {{}}}}, or format=simple&action={example}') from None
    if not isinstance(call, dict) or len(call) != 1 or not isinstance(next(iter(call.values())), dict):
        raise invalid("The request is one command with an object of arguments")
    command, arguments = next(iter(call.items()))
    return command, arguments, False


def answer(result: dict[str, Any], simple: bool, status: int = 200) -> Response:
    if simple:
        lines = flatten(result)
        return PlainTextResponse("\n".join(lines) + ("\n" if lines else ""), status_code=status)
    return JSONResponse(result, status_code=status)


async def serve(request: Request, example: str, logs: Logs, what: str, who: str,
                run: Callable[[str, dict[str, Any]], Any]) -> Response:
    """One request: parsed, run (`run(command, arguments)` returns the data or raises Fault; it
    may be a coroutine), answered in the form it came in; a refusal is logged."""
    simple = request.query_params.get("format") == "simple"
    try:
        command, arguments, simple = await parse(request, example)
        result = run(command, arguments)
        if hasattr(result, "__await__"):
            result = await result
    except Fault as fault:
        logs.system(f"{what} request of {who} refused: {fault}", "warning")
        return answer(fault.body, simple, fault.status)
    return answer(result, simple)
