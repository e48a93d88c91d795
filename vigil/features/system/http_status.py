"""`/vigil/clients`: who has talked to the device lately, for the Status page of the web
interface (administrators only)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.http.routing import Endpoint

if TYPE_CHECKING:
    from vigil.device import Device


def iso_utc(moment: float) -> str:
    """A wall-clock time as ISO 8601 UTC, e.g. 2026-11-23T12:00:00Z."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


async def clients(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    rows = device.auth.recent_clients()
    return JSONResponse({"clients": [
        {"address": address, "user": user, "method": method, "lastSeen": iso_utc(seen)}
        for address, user, method, seen in rows
    ]}, headers={"Cache-Control": "no-store"})


ROUTES = (
    Endpoint("/vigil/clients", clients, Role.ADMIN, methods=("GET",), kind="json"),
)
