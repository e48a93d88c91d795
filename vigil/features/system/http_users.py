"""`pwdgrp.cgi` (account management) and `usergroup.cgi` (the caller's own groups)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.accounts import AccountError
from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, first, form_args, html, text

if TYPE_CHECKING:
    from vigil.device import Device

SECONDARY = {"admin", "operator", "viewer", "ptz"}


def parse_sgrp(value: str) -> tuple[Role, bool]:
    groups = [g for g in value.split(":") if g]
    if not groups or any(g not in SECONDARY for g in groups) or groups == ["ptz"]:
        raise AccountError(f"invalid secondary groups {value!r:.80}", "sgrp")
    role = Role.ADMIN if "admin" in groups else Role.OPERATOR if "operator" in groups else Role.VIEWER
    return role, "ptz" in groups


def group_listing(device: Device) -> str:
    accounts = device.accounts.all()

    def members(test) -> str:
        return ",".join(a.name for a in accounts if test(a))

    lines = [
        f'admin="{members(lambda a: a.role >= Role.ADMIN)}"',
        f'operator="{members(lambda a: a.role >= Role.OPERATOR)}"',
        f'viewer="{members(lambda a: a.role >= Role.VIEWER)}"',
        f'ptz="{members(lambda a: a.ptz)}"',
        f'digusers="{members(lambda a: True)}"',
    ]
    return "\n".join(lines) + "\n"


def failed(device: Device, reason: str) -> Response:
    device.logs.system(f"pwdgrp.cgi: {reason}", "warning")
    return html("Error: consult the system log file.")


async def pwdgrp(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    accounts = device.accounts
    try:
        pairs = await form_args(request)
    except BadArguments as err:
        return failed(device, str(err))
    action = first(pairs, "action")
    user = first(pairs, "user") or ""
    initial = not accounts.admin_exists
    if action not in ("add", "update", "remove", "get"):
        return html("Error: action operation type.")
    if initial and action != "add":
        return html("Error: initial admin user must be created first.", status=401)
    if action == "get":
        return text(group_listing(device))
    if not user:
        return html("Error: account user name.")
    try:
        if action == "add":
            sgrp = first(pairs, "sgrp")
            if sgrp is None:
                return failed(device, "add needs sgrp")
            role, ptz = parse_sgrp(sgrp)
            if initial and role != Role.ADMIN:
                return html("Error: not a valid initial admin user.", status=401)
            if first(pairs, "grp") not in (None, "users", "root"):
                return failed(device, f"unknown primary group {printable(first(pairs, 'grp') or '', 64)!r}")
            actor = who.name if not initial else user
            accounts.add(user, first(pairs, "pwd") or "", role, ptz, first(pairs, "comment") or "", actor)
            return html(f"Created account {user}.")
        if accounts.get(user) is None:
            return html(f"Error: malformed action operation, {action}.")
        if action == "update":
            sgrp = first(pairs, "sgrp")
            role, ptz = parse_sgrp(sgrp) if sgrp is not None else (None, None)
            pwd = first(pairs, "pwd")
            accounts.update(user, who.name, password=pwd, role=role, ptz=ptz, comment=first(pairs, "comment"))
            if pwd is not None or role is not None:
                device.auth.drop_sessions(user)
            return html(f"Modified account {user}.")
        accounts.remove(user, who.name)
        device.auth.drop_sessions(user)
        return html(f"Removed account {user}.")
    except AccountError as err:
        if err.kind == "name":
            return html("Error: account user name.")
        if err.kind == "exists":
            return html(f"Error: malformed action operation, {action}.")
        if initial and err.kind in ("initial", "sgrp"):
            return html("Error: not a valid initial admin user.", status=401)
        return failed(device, f"{action} {printable(user, 64)} refused: {err}")


async def usergroup(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    account = device.accounts.get(who.name)
    groups = who.role.groups() + (["ptz"] if account and account.ptz else [])
    return text(f"{who.name}\n{' '.join(groups)}\n")


ROUTES = (
    Endpoint("/axis-cgi/pwdgrp.cgi", pwdgrp, Role.ADMIN, open_until_admin=True),
    Endpoint("/axis-cgi/usergroup.cgi", usergroup, Role.VIEWER),
)
