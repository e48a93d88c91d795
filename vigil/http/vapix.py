"""Shared shapes of VAPIX replies: plain text, JSON-RPC style bodies and their errors,
and the request arguments of form-style CGIs.

JSON replies are standard JSON (allow_nan=False). A request may still say NaN, Infinity or
1e999 (Python reads them as floats), so that each method can refuse them with its own message
for the parameter: every method checks the type and range of what it takes, and no method
takes a float it does not check for finiteness.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.roles import Role

TEXT = "text/plain; charset=utf-8"


def text(body: str, status: int = 200, media_type: str = TEXT) -> Response:
    return Response(body, status_code=status, media_type=media_type)


def html(body: str, status: int = 200) -> Response:
    return Response(f"<html><body>{body}</body></html>\n", status_code=status, media_type="text/html")


class BadArguments(ValueError):
    pass


async def form_args(request: Request) -> list[tuple[str, str]]:
    """Query and body arguments of a form-style CGI, in order.

    Clients send urlencoded bodies with any Content-Type (the `axis` library says
    text/plain), so the body is parsed as a form whatever the header says.
    """
    try:
        pairs = parse_qsl(request.scope.get("query_string", b"").decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise BadArguments("the query is not UTF-8 text") from None
    if request.method == "POST":
        body = await request.body()
        if body:
            try:
                pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
            except UnicodeDecodeError:
                raise BadArguments("the request body is not UTF-8 text") from None
    return pairs


def first(pairs: list[tuple[str, str]], key: str, default: str | None = None) -> str | None:
    for k, v in pairs:
        if k == key:
            return v
    return default


# -- JSON-RPC style APIs -------------------------------------------------------------
class ConfigCodes:
    """The general error codes of the VAPIX JSON APIs that count from 1100 and 2100 (the MQTT client
    and event bridge, remote syslog, audio device control)."""

    INTERNAL = 1100
    BAD_VERSION = 2100
    BAD_JSON = 2101
    BAD_METHOD = 2102
    MISSING = 2103
    INVALID = 2104
    AUTH = 2105
    TOO_LARGE = 2106


class ServiceCodes:
    """The general error codes of the VAPIX JSON APIs that count from 1000 to 4004 (SSH, NTP, the
    network settings)."""

    INTERNAL = 1000
    INVALID_REQUEST = 2000
    BODY_TOO_LARGE = 2001
    INVALID_JSON = 3000
    NO_METHOD = 4000
    BAD_VERSION = 4001
    AUTHORIZATION = 4002
    MISSING = 4003
    INVALID = 4004


@dataclass
class JsonCall:
    api_version: str
    context: str | None
    method: str
    params: dict[str, Any]


class JsonApiError(Exception):
    def __init__(self, code: int, message: str, call: JsonCall | None = None,
                 more: dict[str, Any] | None = None, status: int = 200) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.call = call  # what could be read of a refused request, to echo context and method
        self.more = more or {}  # members of the error object some APIs add (`details`, `errors`)
        self.status = status  # HTTP status: 200 for every refusal, except where an API says otherwise


JsonHandler = Callable[[JsonCall, Any], Awaitable[dict[str, Any]]]


@dataclass
class JsonMethod:
    role: Role
    handler: JsonHandler


@dataclass(frozen=True)
class JsonErrors:
    """Each JSON API has its own error-code family, and some their own fixed text per code."""

    wrong_http_method: int = 2002
    bad_version: int = 2003
    unknown_method: int = 2004
    bad_json: int = 4000
    bad_params: int = 4002
    internal: int = 8000
    missing: int | None = None  # a required member absent, where the API tells that from a wrong value
    body_too_large: int | None = None  # with max_body: a body over it is refused unread
    max_body: int | None = None
    texts: Mapping[int, str] = field(default_factory=dict)  # the API's text per code; the detail follows ": "

    def error(self, code: int, why: str = "", call: JsonCall | None = None, **more: Any) -> JsonApiError:
        base = self.texts.get(code)
        message = (f"{base}: {why}" if why else base) if base else why
        return JsonApiError(code, message, call, more or None)


# The envelope of the APIs with the 1100/2100 codes: a wrong parameter is reported as missing.
CONFIG_ERRORS = JsonErrors(wrong_http_method=ConfigCodes.BAD_METHOD, bad_version=ConfigCodes.BAD_VERSION,
                           unknown_method=ConfigCodes.BAD_METHOD, bad_json=ConfigCodes.BAD_JSON,
                           bad_params=ConfigCodes.MISSING, internal=ConfigCodes.INTERNAL)


def json_reply(call: JsonCall | None, data: dict[str, Any] | None = None, error: JsonApiError | None = None,
               version: str = "1.0") -> Response:
    body: dict[str, Any] = {"apiVersion": call.api_version if call else version}
    if call and call.context is not None:
        body["context"] = call.context
    if call:
        body["method"] = call.method
    if error is not None:
        body["error"] = {"code": error.code, "message": error.message, **error.more}
    else:
        body["data"] = data if data is not None else {}
    return Response(json.dumps(body, allow_nan=False), media_type="application/json",
                    status_code=error.status if error is not None else 200)


def parse_call(raw: bytes, versions: list[str], errors: JsonErrors) -> JsonCall:
    """Decode a JSON-RPC style request body; raises JsonApiError in the API's own codes."""
    if errors.max_body is not None and len(raw) > errors.max_body:
        raise errors.error(errors.body_too_large or errors.bad_params, f"the body is over {errors.max_body} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise errors.error(errors.bad_json, "Invalid JSON") from None
    if not isinstance(body, dict):
        raise errors.error(errors.bad_json, "Invalid JSON: expected an object")
    method = body.get("method")
    context = body.get("context")
    version = body.get("apiVersion")
    missing = errors.missing or errors.bad_params
    # Errors found from here on echo what the request said, as the axis library indexes `method`.
    echo = JsonCall(version if isinstance(version, str) and version else versions[-1],
                    context if isinstance(context, str) else None, method if isinstance(method, str) else "", {})
    if context is not None and not isinstance(context, str):
        raise errors.error(errors.bad_params, "Parameter 'context' must be a string", echo)
    if not isinstance(method, str):
        raise errors.error(missing if method is None else errors.bad_params,
                           "Required parameter 'method' missing or invalid", echo)
    params = body.get("params")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise errors.error(errors.bad_params, "Parameter 'params' must be an object", echo)
    if method == "getSupportedVersions":
        return JsonCall(versions[-1], context, method, params)
    if not isinstance(version, str):
        raise errors.error(missing if version is None else errors.bad_params,
                           "Required parameter 'apiVersion' missing or invalid", echo)
    if not supported_version(version, versions):
        raise errors.error(errors.bad_version,
                           f"The requested API version {version[:16]!r} is not one of {', '.join(versions)}", echo)
    return JsonCall(version, context, method, params)


def supported_version(version: str, versions: list[str]) -> bool:
    """A request for M.m is served by a supported M.n with n >= m."""
    if not re.fullmatch(r"[0-9]{1,4}\.[0-9]{1,4}", version):
        return False
    major, minor = (int(x) for x in version.split("."))
    for v in versions:
        have_major, have_minor = (int(x) for x in v.split("."))
        if have_major == major and minor <= have_minor:
            return True
    return False


def param(call: JsonCall, key: str, kind: type, errors: JsonErrors, default: Any = ...) -> Any:
    value = call.params.get(key, default)
    if value is ...:
        raise JsonApiError(errors.bad_params, f"Required parameter '{key}' missing")
    if value is not default and not isinstance(value, kind):
        raise JsonApiError(errors.bad_params, f"Parameter '{key}' has the wrong type")
    return value
