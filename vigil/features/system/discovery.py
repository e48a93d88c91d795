"""API discovery and basic device information."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.system.param_groups import BUILD_DATE
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

UNRESTRICTED = ("Brand", "BuildDate", "HardwareID", "ProdFullName", "ProdNbr", "ProdShortName", "ProdType",
                "ProdVariant", "SerialNumber", "Version", "WebURL")


def device_properties(device: Device) -> dict[str, str]:
    p = device.params.get
    return {
        "Architecture": p("Properties.System.Architecture"),
        "Brand": p("Brand.Brand"),
        "BuildDate": BUILD_DATE,
        "HardwareID": p("Properties.System.HardwareID"),
        "ProdFullName": p("Brand.ProdFullName"),
        "ProdNbr": p("Brand.ProdNbr"),
        "ProdShortName": p("Brand.ProdShortName"),
        "ProdType": p("Brand.ProdType"),
        "ProdVariant": p("Brand.ProdVariant"),
        "SerialNumber": device.identity.serial,
        "Soc": p("Properties.System.Soc"),
        "SocSerialNumber": device.identity.soc_serial,
        "Version": p("Properties.Firmware.Version"),
        "WebURL": p("Brand.WebURL"),
    }


def register(device: Device) -> None:

    errors = JsonErrors()

    async def get_api_list(call: JsonCall, who: Any) -> dict[str, Any]:
        wanted_id = call.params.get("id", "*")
        wanted_version = call.params.get("version", "*")
        if not isinstance(wanted_id, str) or not isinstance(wanted_version, str):
            raise JsonApiError(errors.bad_params, "Parameters 'id' and 'version' must be strings")
        return {"apiList": [
            {"id": a.id, "version": a.version, "name": a.name, "status": a.status, "docLink": ""}
            for a in device.apis
            if fnmatch.fnmatchcase(a.id, wanted_id) and fnmatch.fnmatchcase(a.version, wanted_version)
        ]}

    device.router.json_api("/axis-cgi/apidiscovery.cgi", ["1.0"], {
        "getApiList": JsonMethod(Role.ANONYMOUS, get_api_list),
    }, errors)

    async def all_properties(call: JsonCall, who: Any) -> dict[str, Any]:
        return {"propertyList": device_properties(device)}

    async def unrestricted(call: JsonCall, who: Any) -> dict[str, Any]:
        props = device_properties(device)
        return {"propertyList": {k: props[k] for k in UNRESTRICTED}}

    async def some_properties(call: JsonCall, who: Any) -> dict[str, Any]:
        wanted = call.params.get("propertyList")
        if not isinstance(wanted, list) or not all(isinstance(w, str) for w in wanted):
            raise JsonApiError(errors.bad_params, "Parameter 'propertyList' must be a list of names")
        props = device_properties(device)
        unknown = [w for w in wanted if w not in props]
        if unknown:
            raise JsonApiError(1000, f"Invalid parameter value: unknown properties {', '.join(unknown)}")
        return {"propertyList": {w: props[w] for w in wanted}}

    device.router.json_api("/axis-cgi/basicdeviceinfo.cgi", ["1.3"], {
        "getAllProperties": JsonMethod(Role.VIEWER, all_properties),
        "getProperties": JsonMethod(Role.VIEWER, some_properties),
        "getAllUnrestrictedProperties": JsonMethod(Role.ANONYMOUS, unrestricted),
    }, errors)
    device.apis += [
        Api("api-discovery", "1.0", "API Discovery Service"),
        Api("basic-device-info", "1.3", "Basic Device Information"),
        Api("param-cgi", "1.0", "Legacy Parameter Handling"),
        Api("user-management", "1.0", "User Management"),
    ]
