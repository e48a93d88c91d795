"""API discovery (`apidiscovery.cgi`) and basic device information (`basicdeviceinfo.cgi`)."""

from __future__ import annotations

import fnmatch
from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.system.device_info import UNRESTRICTED, device_properties
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors()
Method = Callable[["Device", JsonCall, Principal], Awaitable[dict[str, Any]]]


# -- apidiscovery.cgi ---------------------------------------------------------------------
async def get_api_list(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    wanted_id = call.params.get("id", "*")
    wanted_version = call.params.get("version", "*")
    if not isinstance(wanted_id, str) or not isinstance(wanted_version, str):
        raise JsonApiError(ERRORS.bad_params, "Parameters 'id' and 'version' must be strings")
    return {"apiList": [
        {"id": a.id, "version": a.version, "name": a.name, "status": a.status, "docLink": ""}
        for a in device.apis
        if fnmatch.fnmatchcase(a.id, wanted_id) and fnmatch.fnmatchcase(a.version, wanted_version)
    ]}


API_DISCOVERY: dict[str, tuple[Role, Method]] = {
    "getApiList": (Role.ANONYMOUS, get_api_list),
}


# -- basicdeviceinfo.cgi ------------------------------------------------------------------
async def get_all_properties(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"propertyList": device_properties(device)}


async def get_all_unrestricted_properties(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    props = device_properties(device)
    return {"propertyList": {k: props[k] for k in UNRESTRICTED}}


async def get_properties(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    wanted = call.params.get("propertyList")
    if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
        raise JsonApiError(ERRORS.bad_params, "Parameter 'propertyList' must be a list of names")
    props = device_properties(device)
    unknown = [w for w in wanted if w not in props]
    if unknown:
        shown = ", ".join(w[:64] for w in unknown[:10]) + (", ..." if len(unknown) > 10 else "")
        raise JsonApiError(1000, f"Invalid parameter value: unknown properties {shown}")
    return {"propertyList": {w: props[w] for w in wanted}}


BASIC_DEVICE_INFO: dict[str, tuple[Role, Method]] = {
    "getAllProperties": (Role.VIEWER, get_all_properties),
    "getProperties": (Role.VIEWER, get_properties),
    "getAllUnrestrictedProperties": (Role.ANONYMOUS, get_all_unrestricted_properties),
}


def register(device: Device) -> None:
    def bound(methods: dict[str, tuple[Role, Method]]) -> dict[str, JsonMethod]:
        return {name: JsonMethod(role, partial(method, device)) for name, (role, method) in methods.items()}

    device.router.json_api("/axis-cgi/apidiscovery.cgi", ["1.0"], bound(API_DISCOVERY), ERRORS)
    device.router.json_api("/axis-cgi/basicdeviceinfo.cgi", ["1.3"], bound(BASIC_DEVICE_INFO), ERRORS)
    device.apis += [
        Api("api-discovery", "1.0", "API Discovery Service"),
        Api("basic-device-info", "1.3", "Basic Device Information"),
        Api("param-cgi", "1.0", "Legacy Parameter Handling"),
        Api("user-management", "1.0", "User Management"),
    ]
