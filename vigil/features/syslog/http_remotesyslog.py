"""VAPIX: the Remote Syslog API, /axis-cgi/remotesyslog.cgi (setup, enable, disable, status, test,
getSupportedVersions). Administrator only; errors in the API's own codes and shape (`details`
with the server's address and the property, `errors` when there are several).

Beyond the API page, for the Logs page: `setup` takes `caCertificates` (the ids of the CA
certificates a TLS server is verified against, the "RemoteSyslog" certificate set), `status`
also says how delivery goes (`delivery`: state, messages sent and dropped, the last error, per
server) and `test` with `servers` tests settings before they are saved."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.syslog import config as model
from vigil.features.syslog.config import SetupError
from vigil.features.syslog.const import DISABLED, IDENTICAL, NO_SERVER, PATH, VERSIONS
from vigil.features.syslog.service import SyslogService
from vigil.http.vapix import CONFIG_ERRORS, ConfigCodes, JsonApiError, JsonCall, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = CONFIG_ERRORS
SETUP_KEYS = ("servers", "caCertificates")


def refused(err: SetupError) -> JsonApiError:
    code, message, more = err.error_object()
    return JsonApiError(code, message, more=more)


def read_setup(params: dict[str, Any]) -> tuple[list[model.ServerConfig], list[str] | None]:
    for key in params:
        if key not in SETUP_KEYS:
            raise refused(SetupError([(ConfigCodes.INVALID, str(key)[:64], "")]))
    try:
        servers = model.parse_servers(params.get("servers"))
        ca_ids = model.parse_ca_ids(params["caCertificates"]) if "caCertificates" in params else None
    except SetupError as err:
        raise refused(err) from None
    return servers, ca_ids


async def setup(service: SyslogService, call: JsonCall, who: Any) -> dict[str, Any]:
    servers, ca_ids = read_setup(call.params)
    try:
        service.setup(servers, ca_ids, who.name)
    except SetupError as err:
        raise refused(err) from None
    return service.status()


async def enable(service: SyslogService, call: JsonCall, who: Any) -> dict[str, Any]:
    if not service.servers:
        raise JsonApiError(NO_SERVER, "No server configured")
    if model.identical(service.servers):
        raise JsonApiError(IDENTICAL, "Identical servers not allowed")
    service.set_enabled(True, who.name)
    return service.status()


async def disable(service: SyslogService, call: JsonCall, who: Any) -> dict[str, Any]:
    service.set_enabled(False, who.name)
    return service.status()


async def status(service: SyslogService, call: JsonCall, who: Any) -> dict[str, Any]:
    return {**service.status(), "caCertificates": service.ca_certificates, "delivery": service.delivery()}


async def test(service: SyslogService, call: JsonCall, who: Any) -> dict[str, Any]:
    if "servers" in call.params:  # settings from the page, not saved yet
        servers, ca_ids = read_setup(call.params)
        if not servers:
            raise JsonApiError(NO_SERVER, "No server configured")
        tried = service.ca_certificates if ca_ids is None else ca_ids
        results = await service.test_servers(servers, tried, who.name)
        return {"enabled": service.enabled, "servers": [s.shown() for s in servers], "results": results}
    if call.params:
        raise refused(SetupError([(ConfigCodes.INVALID, str(next(iter(call.params)))[:64], "")]))
    if not service.enabled:
        raise JsonApiError(DISABLED, "Remote syslog is disabled, send test message is not possible")
    service.test(who.name)
    return service.status()


Handler = Callable[[SyslogService, JsonCall, Any], Awaitable[dict[str, Any]]]


def bind(methods: Mapping[str, tuple[Role, Handler]], service: SyslogService) -> dict[str, JsonMethod]:
    return {name: JsonMethod(role, functools.partial(handler, service)) for name, (role, handler) in methods.items()}


def register(device: Device, service: SyslogService) -> None:
    device.router.json_api(PATH, VERSIONS, bind(METHODS, service), ERRORS)
    device.apis.append(Api("remote-syslog", VERSIONS[-1], "Remote Syslog"))


METHODS = {
    "setup": (Role.ADMIN, setup),
    "enable": (Role.ADMIN, enable),
    "disable": (Role.ADMIN, disable),
    "status": (Role.ADMIN, status),
    "test": (Role.ADMIN, test),
}
