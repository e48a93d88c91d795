"""What the simulation APIs (`/vigil/sim/...`, administrators scripting simulated hardware)
share: reading a JSON body, and the refusal of a bad request (HTTP 400 with a JSON error
object saying what is wrong)."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import JSONResponse, Response


class SimRequestError(ValueError):
    """A simulation request that cannot be done, with what is wrong."""


def refused(message: str) -> Response:
    return JSONResponse({"error": {"code": 400, "message": f"bad simulation request: {message}"}}, status_code=400)


def json_body(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise SimRequestError("the body is not JSON") from None
