"""The storage APIs' route tables as data. Every handler is a named module-level function that
takes the storage service first (`handler(service, request, who)` for a CGI,
`handler(service, call, who)` for a JSON method); each http_<api>.py module ends with its table,
and registering binds the tables to the one service. A refused request is written to the
system log (`log_refused`); JSON methods are logged by their binding.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.http.vapix import JsonApiError, JsonCall, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device
    from vigil.features.storage.service import StorageService

CgiHandler = Callable[["StorageService", Request, Principal], Awaitable[Response]]
JsonHandler = Callable[["StorageService", JsonCall, Principal], Awaitable[dict[str, Any]]]


@dataclass(frozen=True)
class Cgi:
    """One form-style CGI: its path, handler and the least role that may call it."""

    path: str
    handler: CgiHandler
    role: Role


@dataclass(frozen=True)
class Method:
    """One method of a JSON API."""

    handler: JsonHandler
    role: Role


def add_cgis(device: Device, service: StorageService, table: Iterable[Cgi]) -> None:
    for cgi in table:
        device.router.add(cgi.path, partial(cgi.handler, service), cgi.role, kind="xml")


def json_methods(service: StorageService, path: str, table: dict[str, Method]) -> dict[str, JsonMethod]:
    return {name: JsonMethod(m.role, partial(_logged, m.handler, service, f"{path} {name}"))
            for name, m in table.items()}


async def _logged(handler: JsonHandler, service: StorageService, what: str, call: JsonCall,
                  who: Principal) -> dict[str, Any]:
    try:
        return await handler(service, call, who)
    except JsonApiError as err:
        log_refused(service, who, what, err.message)
        raise


def log_refused(service: StorageService, who: Principal, what: str, why: object) -> None:
    service.logs.system(f"{what} refused for {who.name}: {why}", "warning", "storage")
