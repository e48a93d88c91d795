"""VAPIX Device Configuration: SSH Management (`/config/rest/ssh/v2`), the SSH accounts as a
collection: GET lists them (username and comment; never a password), POST adds one, GET, PATCH
and DELETE take one by name. Administrators only; every change is in the audit log."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.ssh.accounts import SshAccount, SshAccountError
from vigil.features.ssh.const import USERS_PATH
from vigil.features.ssh.service import SSH_SERVICE
from vigil.http.config_rest import RestError, failure, request_data, sub_path, success
from vigil.http.routing import Endpoint


def _shown(account: SshAccount) -> dict[str, str]:
    return {"username": account.name, "comment": account.comment}


async def ssh_rest(request: Request, who: Principal) -> Response:
    device = request.app.state.device
    accounts = device.features[SSH_SERVICE].accounts
    path = sub_path(request, USERS_PATH)
    method = request.method
    try:
        if path == [] and method == "GET":
            return success({"users": [_shown(a) for a in accounts.list()]})
        if path == ["users"] and method == "GET":
            return success([_shown(a) for a in accounts.list()])
        if path == ["users"] and method == "POST":
            data = await request_data(request)
            if not isinstance(data, dict) or "username" not in data or "password" not in data:
                raise RestError(400, "username and password are required")
            if set(data) - {"username", "password", "comment"}:
                raise RestError(400, "unknown property")
            added = accounts.add(data["username"], data["password"], data.get("comment", ""))
            device.logs.audit(who.name, f"added the SSH account {added.name}", "ssh")
            return success(status=201)
        if len(path) == 2 and path[0] == "users":
            return await _one(request, who, path[1])
        raise RestError(404, "No such entity")
    except SshAccountError as err:
        return failure(err.status, str(err))
    except RestError as err:
        return failure(err.status, str(err))


async def _one(request: Request, who: Principal, name: str) -> Response:
    device = request.app.state.device
    accounts = device.features[SSH_SERVICE].accounts
    if request.method == "GET":
        found = accounts.get(name)
        return success(_shown(found)) if found else failure(404, f"no SSH account {name[:64]}")
    if request.method == "DELETE":
        accounts.remove(name)
        device.features[SSH_SERVICE].end_sessions(name)
        device.logs.audit(who.name, f"deleted the SSH account {name}", "ssh")
        return success()
    data: Any = await request_data(request)
    if not isinstance(data, dict) or set(data) - {"password", "comment", "username"} or (
            "username" in data and data["username"] != name):
        raise RestError(400, "only password and comment can be set")
    accounts.update(name, data.get("password"), data.get("comment"))
    if "password" in data:
        device.features[SSH_SERVICE].end_sessions(name)
    changed = " and ".join(k for k in ("password", "comment") if k in data) or "nothing"
    device.logs.audit(who.name, f"changed the {changed} of the SSH account {name}", "ssh")
    return success()


ROUTES = (
    Endpoint(USERS_PATH, ssh_rest, Role.ADMIN, methods=("GET",), kind="json"),
    Endpoint(USERS_PATH + "/{rest:path}", ssh_rest, Role.ADMIN, methods=("GET", "POST", "PATCH", "DELETE"),
             kind="json"),
)
