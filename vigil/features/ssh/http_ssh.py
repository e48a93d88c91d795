"""VAPIX: the SSH API, /axis-cgi/ssh.cgi (getSshInfo, setSshConfiguration, getSupportedVersions),
administrators only. `enabled` is `Network.SSH.Enabled`: both ways give the same result, as the
API page says, and the change is the parameter's (audited, applied at once)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.features.ssh.const import CGI_PATH, ENABLED, VERSIONS
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod, ServiceCodes

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors(wrong_http_method=ServiceCodes.INVALID_REQUEST, bad_version=ServiceCodes.BAD_VERSION,
                    unknown_method=ServiceCodes.NO_METHOD, bad_json=ServiceCodes.INVALID_JSON,
                    bad_params=ServiceCodes.MISSING, internal=ServiceCodes.INTERNAL)


async def get_ssh_info(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"enabled": device.params.get_bool(ENABLED)}


async def set_ssh_configuration(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    if "enabled" not in call.params:
        raise JsonApiError(ServiceCodes.MISSING, "Missing parameter(s): enabled")
    enabled = call.params["enabled"]
    if not isinstance(enabled, bool) or len(call.params) > 1:
        raise JsonApiError(ServiceCodes.INVALID,
                           "Invalid parameter(s): enabled takes true or false, and nothing else")
    try:
        device.params.update([(ENABLED, "yes" if enabled else "no")], who.role, who.name)
    except ParamError as err:
        raise JsonApiError(ServiceCodes.INVALID, str(err)) from None
    return {}


async def supported_versions(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"apiVersions": VERSIONS}


METHODS = {"getSshInfo": get_ssh_info, "setSshConfiguration": set_ssh_configuration,
           "getSupportedVersions": supported_versions}


def register(device: Device) -> None:
    bound = {name: JsonMethod(Role.ADMIN, functools.partial(handler, device)) for name, handler in METHODS.items()}
    device.router.json_api(CGI_PATH, VERSIONS, bound, ERRORS)
