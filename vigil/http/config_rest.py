"""Shapes of the VAPIX Device Configuration APIs (`/config/rest/<api>/v<n>`): a success is
`{"status": "success"[, "data": ...]}`, a failure an HTTP error status with
`{"status": "error", "error": {"code": <int>, "message": "..."}}`; a change sends
`{"data": ...}` (PATCH sets, POST adds, DELETE removes)."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

NO_DATA = object()


class RestError(Exception):
    """A request the API refuses: the HTTP status, and the message the client sees."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def success(data: Any = NO_DATA, status: int = 200) -> Response:
    body: dict[str, Any] = {"status": "success"}
    if data is not NO_DATA:
        body["data"] = data
    return JSONResponse(body, status_code=status)


def failure(status: int, message: str) -> Response:
    return JSONResponse({"status": "error", "error": {"code": status, "message": message}}, status_code=status)


async def request_data(request: Request) -> Any:
    """The `data` member of the request's JSON body; RestError when there is none."""
    try:
        body = json.loads(await request.body())
    except (ValueError, RecursionError):
        raise RestError(400, "The request body is not JSON") from None
    if not isinstance(body, dict) or "data" not in body:
        raise RestError(400, "The request body is not a JSON object with a data member")
    return body["data"]


def sub_path(request: Request, root: str) -> list[str]:
    """The entity path below the API's root, e.g. ["BaseConfigEntity", "AuthEntity"]."""
    rest = request.url.path[len(root):].strip("/")
    return [part for part in rest.split("/") if part]
