"""`/vigil/wlan`: the WLAN page's JSON API (POST, `{"apiVersion": "1.0", "method": ...}`),
administrators only: `getStatus` (the interface in use, the cable, the wireless connection,
the configured network without its password, the networks last scanned), `refresh` (scan now),
`configure` (join a network and keep its settings: ssid, security, password, identity, hidden,
ipv4, address, prefix, gateway, ipv6) and `forget`. Errors in the API's own codes: 2104 for a
field that is wrong (`details.field` names it), 3000 when the network did not accept the
settings (a wrong password, out of range)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.wlan.const import PASSWORD, WLAN_PATH
from vigil.features.wlan.service import WlanService
from vigil.features.wlan.settings import SettingsError, parse
from vigil.hal.wlan import WlanError
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod

if TYPE_CHECKING:
    from vigil.device import Device

VERSIONS = ["1.0"]
ERRORS = JsonErrors(wrong_http_method=2102, bad_version=2104, unknown_method=2102, bad_json=2101,
                    bad_params=2104, internal=1100)


async def get_status(service: WlanService, call: JsonCall, who: Any) -> dict[str, Any]:
    return service.status()


async def refresh(service: WlanService, call: JsonCall, who: Any) -> dict[str, Any]:
    try:
        await service.refresh()
    except WlanError as err:
        raise JsonApiError(3000, f"Scanning failed: {err}") from None
    return service.status()


async def configure(service: WlanService, call: JsonCall, who: Any) -> dict[str, Any]:
    current = service.settings()
    fields = call.params
    same_network = current is not None and isinstance(fields, dict) and fields.get("ssid") == current.ssid
    try:
        settings = parse(fields, service.params.get(PASSWORD) if same_network else "")
    except SettingsError as err:
        raise JsonApiError(2104, f"Invalid parameter value specified: {err}", more={"details": {"field": err.field}}) \
            from None
    try:
        await service.configure(settings, who.name)
    except WlanError as err:
        raise JsonApiError(3000, f"The network could not be joined: {err}",
                           more={"details": {"ssid": settings.ssid}}) from None
    return service.status()


async def forget(service: WlanService, call: JsonCall, who: Any) -> dict[str, Any]:
    await service.forget(who.name)
    return service.status()


Handler = Callable[[WlanService, JsonCall, Any], Awaitable[dict[str, Any]]]
METHODS: Mapping[str, tuple[Role, Handler]] = {
    "getStatus": (Role.ADMIN, get_status),
    "refresh": (Role.ADMIN, refresh),
    "configure": (Role.ADMIN, configure),
    "forget": (Role.ADMIN, forget),
}


def bind(service: WlanService) -> dict[str, JsonMethod]:
    return {name: JsonMethod(role, functools.partial(handler, service)) for name, (role, handler) in METHODS.items()}


def register(device: Device, service: WlanService) -> None:
    device.router.json_api(WLAN_PATH, VERSIONS, bind(service), ERRORS)
    device.apis.append(Api("wlan", VERSIONS[-1], "WLAN"))
