"""The role matrix: every registered endpoint (and every method of a JSON API) is tried as
anonymous, viewer, operator and administrator on every profile. A caller gets through iff
its role is at least the declared one; otherwise anonymous gets 401 and a logged-in caller
403. The endpoints come from the router, so endpoints added later are covered without
touching this file."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
from starlette.routing import Route, WebSocketRoute

from tests.conftest import ROLE_USERS, add_account
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.core.roles import Role
from vigil.device import Device
from vigil.http.app import create_app
from vigil.http.routing import Endpoint, LiteralPaths
from vigil.profiles import NAMES

ROLES = (Role.ANONYMOUS, Role.VIEWER, Role.OPERATOR, Role.ADMIN)
_PLACEHOLDER = re.compile(r"\{(\w+)(?::(\w+))?\}")


@dataclass(frozen=True)
class Case:
    path: str
    role: Role  # declared minimum
    http_method: str
    json_method: str | None = None  # a JSON API method, sent in the body

    @property
    def label(self) -> str:
        return f"{self.http_method} {self.path}" + (f" [{self.json_method}]" if self.json_method else "")


def concrete(path: str) -> str:
    """A request path for a route template: ints become 0, anything else a harmless word."""
    return _PLACEHOLDER.sub(lambda m: "0" if m.group(2) == "int" else "matrix", path)


def cases_for(endpoint: Endpoint) -> list[Case]:
    methods = endpoint.methods
    http_method = "GET" if "GET" in methods else "POST" if "POST" in methods else methods[0]
    out = [Case(endpoint.path, endpoint.role, http_method)]
    for name, role in endpoint.method_roles.items():
        out.append(Case(endpoint.path, role, "POST", name))
    return out


def new_device(root: Path, profile: str) -> tuple[Device, object]:
    device = build_device(profile, root, clock=FakeClock())
    for role in ("admin", "operator", "viewer"):
        add_account(device, *ROLE_USERS[role], role, ptz=role == "admin")
    return device, create_app(device)


def first_part_of_streams(app):
    """The app, but a live stream (a body without Content-Length that goes on: receive.cgi) ends
    at its first part, as when a client leaves: httpx's ASGI transport waits for the whole body."""
    async def bounded(scope, receive, send) -> None:
        sized, ended = False, False

        async def send_until_ended(message) -> None:
            nonlocal sized, ended
            if ended:
                return
            if message["type"] == "http.response.start":
                sized = any(k.lower() == b"content-length" for k, _ in message.get("headers", []))
            elif message["type"] == "http.response.body" and message.get("more_body") and not sized \
                    and message.get("body"):
                message, ended = {**message, "more_body": False}, True
            await send(message)

        await app(scope, receive, send_until_ended)
    return bounded


def client(app, role: Role) -> httpx.AsyncClient:
    auth = None if role == Role.ANONYMOUS else httpx.BasicAuth(*ROLE_USERS[role.label])
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=first_part_of_streams(app), client=("127.0.0.1", 40000)),
                             base_url="http://127.0.0.1", auth=auth, timeout=10)


async def json_version(app, path: str) -> str:
    async with client(app, Role.ADMIN) as c:
        try:
            body = (await c.post(path, json={"method": "getSupportedVersions"})).json()
            return body["data"]["apiVersions"][-1]
        except (ValueError, KeyError, IndexError, TypeError):
            return "1.0"


async def attempt(app, case: Case, role: Role, version: str) -> httpx.Response:
    async with client(app, role) as c:
        if case.json_method is None:
            return await c.request(case.http_method, concrete(case.path))
        body = {"apiVersion": version, "context": "matrix", "method": case.json_method, "params": {}}
        return await c.post(concrete(case.path), json=body)


def verdict(case: Case, role: Role, response: httpx.Response) -> str | None:
    """Why this answer is wrong, or None."""
    status = response.status_code
    if status >= 500:
        return f"{status} (server error)"
    if role >= case.role:
        if status in (401, 403):
            return f"{status} although {role.label} >= {case.role.label}"
        return None
    expected = 401 if role == Role.ANONYMOUS else 403
    if status != expected:
        return f"{status}, expected {expected} for {role.label} < {case.role.label}"
    return None


async def test_role_matrix_all_profiles(tmp_path):
    problems: list[str] = []
    done: set[Case] = set()
    counts = {"cases": 0, "requests": 0}
    for profile in NAMES:
        probe, _ = new_device(tmp_path / f"{profile}-probe", profile)
        endpoints = list(probe.router.endpoints)
        probe.close()
        assert endpoints, profile
        for endpoint in endpoints:
            for case in cases_for(endpoint):
                if case in done:
                    continue
                done.add(case)
                counts["cases"] += 1
                # A throwaway device per case: an allowed call (restart, a write) cannot
                # change what the next case sees.
                device, app = new_device(tmp_path / f"{profile}-{counts['cases']}", profile)
                try:
                    version = await json_version(app, concrete(case.path)) if case.json_method else ""
                    for role in ROLES:
                        response = await attempt(app, case, role, version)
                        counts["requests"] += 1
                        why = verdict(case, role, response)
                        if why:
                            problems.append(f"{profile}: {case.label} as {role.label}: {why}")
                        if "Traceback" in response.text:
                            problems.append(f"{profile}: {case.label} as {role.label}: traceback in the body")
                finally:
                    device.close()
    assert not problems, "\n".join(problems)
    # Sanity: the walk reached the platform's endpoints and JSON methods.
    labels = {c.label for c in done}
    for expected in ("GET /axis-cgi/param.cgi", "GET /axis-cgi/pwdgrp.cgi", "GET /axis-cgi/restart.cgi",
                     "POST /axis-cgi/time.cgi [setDateTime]", "POST /axis-cgi/basicdeviceinfo.cgi [getAllProperties]",
                     "POST /axis-cgi/apidiscovery.cgi [getApiList]"):
        assert expected in labels, expected
    assert counts["requests"] == 4 * counts["cases"]


def test_matrix_covers_every_route(tmp_path):
    """Nothing reaches the app around the router: every HTTP route is a guarded endpoint with a
    declared role, and every WebSocket route has an HTTP twin on the router."""
    for profile in NAMES:
        device, app = new_device(tmp_path / profile, profile)
        try:
            endpoints = device.router.endpoints
            declared = {(e.path, frozenset(e.methods)) for e in endpoints}
            covered = {c.path for e in endpoints for c in cases_for(e)}
            assert covered == {e.path for e in endpoints}
            for e in endpoints:
                assert isinstance(e.role, Role), e.path
                assert all(isinstance(r, Role) for r in e.method_roles.values()), e.path
            routes = [r for route in app.routes
                      for r in (route.by_path.values() if isinstance(route, LiteralPaths) else (route,))]
            for route in routes:
                if isinstance(route, WebSocketRoute):
                    assert route.path in covered, f"{profile}: websocket {route.path} has no HTTP twin"
                    continue
                assert isinstance(route, Route), f"{profile}: unexpected route {route!r}"
                methods = frozenset(route.methods or ()) - {"HEAD"}
                assert (route.path, methods) in declared, f"{profile}: {route.path} bypasses the router"
                assert route.endpoint.__qualname__.startswith("guarded."), route.path
        finally:
            device.close()
