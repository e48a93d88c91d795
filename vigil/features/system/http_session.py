"""The browser session: `/vigil/session` tells the web pages who is logged in and whether the
device still needs its first administrator; POST logs in (a cookie), DELETE logs out."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import AuthFailure, Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.http.routing import SESSION_COOKIE, Endpoint, client_address

if TYPE_CHECKING:
    from vigil.device import Device


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": {"code": status, "message": message}}, status_code=status)


async def session_state(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    return JSONResponse({
        "setupRequired": not device.accounts.admin_exists,
        "user": who.name if who.method != "anonymous" else None,
        "role": who.role.label,
        "method": who.method,
    })


async def log_out(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        device.auth.logout(token)
    response = JSONResponse({"loggedOut": True})
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


async def log_in(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    try:
        body = json.loads(await request.body())
        user, password = body["username"], body["password"]
        if not isinstance(user, str) or not isinstance(password, str):
            raise TypeError
    except (ValueError, KeyError, TypeError, RecursionError):
        return _error(400, "Send a JSON object with username and password")
    address = client_address(request)
    try:
        token = device.auth.login(user, password, address)
    except AuthFailure as failure:
        device.auth.guard.failure(address, request.url.path)
        device.logs.access(f"login failed for {printable(user, 64)} from {address}: {failure}")
        return _error(401, "Wrong user name or password")
    account = device.accounts.get(user)
    assert account is not None
    response = JSONResponse({"user": user, "role": account.role.label})
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https")
    return response


async def session(request: Request, who: Principal) -> Response:
    """GET: who is logged in; POST: log in (a cookie); DELETE: log out."""
    if request.method == "GET":
        return await session_state(request, who)
    if request.method == "DELETE":
        return await log_out(request, who)
    return await log_in(request, who)


ROUTES = (
    # safe_get: the pages read the session before they have any same-origin proof to send.
    Endpoint("/vigil/session", session, Role.ANONYMOUS, methods=("GET", "POST", "DELETE"), kind="json", safe_get=True),
)
