"""The shape of Device Configuration (`/config/rest/...`) replies: `{"status": "success", "data": ...}`,
and for a refusal `{"status": "error", "error": {"code": <HTTP status>, "message": ...}}` with that
HTTP status; request bodies are `{"data": ...}`. `answering` turns a handler's refusals (and the
keystore's) into such replies and logs them."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.features.certificates.pki import PkiError
from vigil.features.certificates.service import CertificateNotFound, KeystoreRefusal

MAX_BODY = 512 * 1024  # a PKCS#12 archive in base64 with its chain fits


class RestError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def ok(data: Any = None) -> Response:
    body: dict[str, Any] = {"status": "success"}
    if data is not None:
        body["data"] = data
    return Response(json.dumps(body), media_type="application/json")


def error(status: int, message: str) -> Response:
    return Response(json.dumps({"status": "error", "error": {"code": status, "message": message}}),
                    status_code=status, media_type="application/json")


async def body_data(request: Request) -> Any:
    """The `data` of a request body; RestError 400 when there is none or it is not JSON."""
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise RestError(413, f"the request body is larger than {MAX_BODY // 1024} KiB")
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly deep nesting
        raise RestError(400, "the request body is not JSON") from None
    if not isinstance(body, dict) or "data" not in body:
        raise RestError(400, "the request body is {\"data\": ...}")
    return body["data"]


def fields(data: Any, required: tuple[str, ...], optional: tuple[str, ...] = ()) -> dict[str, Any]:
    """`data` as an object holding the required fields and nothing unknown."""
    if not isinstance(data, dict):
        raise RestError(400, "data is an object")
    unknown = [k for k in data if k not in required + optional]
    if unknown:
        raise RestError(400, f"unknown field {str(unknown[0])[:64]!r}")
    missing = [k for k in required if data.get(k) in (None, "")]
    if missing:
        raise RestError(400, f"the field {missing[0]!r} is required")
    for key, value in data.items():
        if key != "subject_alt_names" and value is not None and not isinstance(value, str | int) \
                or isinstance(value, bool):
            raise RestError(400, f"the field {key!r} has the wrong type")
    return data


def answering(handler):
    """The handler's refusals as the API's error replies, logged."""
    async def handle(request: Request, who: Principal) -> Response:
        try:
            return await handler(request, who)
        except RestError as err:
            failed = err.status, err.message
        except KeystoreRefusal as err:
            failed = err.status, str(err)
        except CertificateNotFound as err:
            failed = 404, str(err)
        except PkiError as err:
            failed = 400, str(err)
        if request.method != "GET":
            request.app.state.device.logs.system(
                f"certificate request {request.method} {request.url.path} by {who.name} refused: {failed[1]}",
                "warning", "certificates")
        return error(*failed)

    handle.__name__ = handler.__name__
    return handle
