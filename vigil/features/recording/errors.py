"""The error the export and playback APIs answer with: an API code, the message the caller
reads, and the HTTP status where it matters; footage's own errors become one through
`api_error`."""

from __future__ import annotations

from starlette.requests import Request

from vigil.features.recording.const import FOOTAGE_ERRORS, INVALID_REQUEST
from vigil.footage.reader import FootageError
from vigil.http.vapix import BadArguments, form_args


class ApiError(Exception):
    def __init__(self, code: int, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


# What a handler of the export and playback APIs catches.
REFUSALS = (ApiError, FootageError)


def api_error(err: ApiError | FootageError) -> ApiError:
    if isinstance(err, ApiError):
        return err
    code, status = FOOTAGE_ERRORS[err.reason]
    return ApiError(code, err.message, status)


async def footage_args(request: Request) -> list[tuple[str, str]]:
    """The arguments of an export or playback CGI; undecodable ones are the API's error 20."""
    try:
        return await form_args(request)
    except BadArguments as err:
        raise ApiError(INVALID_REQUEST, str(err)) from None
