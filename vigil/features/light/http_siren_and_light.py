"""VAPIX Siren and light, `/axis-cgi/siren_and_light.cgi` (operators and administrators):
getSupportedVersions, getCapabilities, getStatus, getProfiles, start, stop, addProfile,
removeProfile, runHealthCheck, getLastHealthCheck, setMaintenanceMode, and uploadProfiles (a
multipart/form-data POST: the `request` part is the JSON call with `uploadMode`, the `file` part
the JSON array of profiles). Refusals are the API's JSON errors (HTTP 200) with its codes.
`/vigil/light` is the Light page's status list and what the LED and the siren do now."""

from __future__ import annotations

import functools
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.light import const as c
from vigil.features.light.model import (
    LightError,
    capabilities,
    parse_light,
    parse_profile,
    parse_siren,
    whole,
)
from vigil.features.light.service import LIGHT_SERVICE, LightService
from vigil.http.routing import Endpoint, refuse
from vigil.http.vapix import (
    ConfigCodes,
    JsonApiError,
    JsonCall,
    JsonErrors,
    JsonMethod,
    json_reply,
    parse_call,
)

if TYPE_CHECKING:
    from vigil.device import Device

ERRORS = JsonErrors(wrong_http_method=ConfigCodes.BAD_METHOD, bad_version=ConfigCodes.BAD_VERSION, unknown_method=ConfigCodes.BAD_METHOD,
                    bad_json=ConfigCodes.BAD_JSON, bad_params=ConfigCodes.INVALID, internal=ConfigCodes.INTERNAL, missing=ConfigCodes.MISSING,
                    texts=c.ERROR_TEXTS)


def api_error(err: LightError) -> JsonApiError:
    return JsonApiError(err.code, err.message)


async def get_capabilities(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    return capabilities()


async def get_status(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    return service.status()


async def get_profiles(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    return {"profiles": [p.to_json() for p in service.profiles.values()]}


async def start(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    p = call.params
    try:
        profile = p.get("profile")
        if profile is not None and not isinstance(profile, str):
            raise LightError(c.BAD_PROFILE, "profile is a profile's name")
        siren = parse_siren(p["siren"]) if p.get("siren") is not None else None
        light = parse_light(p["light"]) if p.get("light") is not None else None
        return service.start(siren, light, profile, who.name)
    except LightError as err:
        raise api_error(err) from None


async def stop(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    try:
        service.stop(call.params, who.name)
    except LightError as err:
        raise api_error(err) from None
    return {}


async def add_profile(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    try:
        service.add_profile(parse_profile(call.params), who.name)
    except LightError as err:
        raise api_error(err) from None
    return {}


async def remove_profile(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    name = call.params.get("name")
    try:
        if not isinstance(name, str):
            raise LightError(ConfigCodes.MISSING if name is None else c.BAD_PROFILE, "name: the profile's name")
        service.remove_profile(name, who.name)
    except LightError as err:
        raise api_error(err) from None
    return {}


async def run_health_check(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    service.run_health_check(who.name)
    return {}


async def get_last_health_check(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    if service.last_health is None:
        raise JsonApiError(c.NO_HEALTH_CHECK, "no health check has run yet: call runHealthCheck first")
    return service.last_health


async def set_maintenance_mode(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    on = call.params.get("maintenanceMode")
    if not isinstance(on, bool):
        raise JsonApiError(ConfigCodes.MISSING if on is None else ConfigCodes.INVALID,
                           f"{c.ERROR_TEXTS[ConfigCodes.INVALID]}: maintenanceMode is true or false")
    seconds = call.params.get("duration")
    if seconds is not None and (whole(seconds) is None or not 1 <= int(seconds) <= c.MAX_SECONDS):
        raise JsonApiError(ConfigCodes.INVALID, f"{c.ERROR_TEXTS[ConfigCodes.INVALID]}: duration is 1 to {c.MAX_SECONDS} seconds")
    service.set_maintenance(on, int(seconds) if seconds is not None else None, who.name)
    return {}


async def upload_without_file(service: LightService, call: JsonCall, who: Principal) -> dict[str, Any]:
    raise JsonApiError(ConfigCodes.MISSING, f"{c.ERROR_TEXTS[ConfigCodes.MISSING]}: uploadProfiles is a multipart/form-data POST "
                                  "with the parts request and file")


OP = Role.OPERATOR
METHODS = {
    "getCapabilities": (OP, get_capabilities), "getStatus": (OP, get_status), "getProfiles": (OP, get_profiles),
    "start": (OP, start), "stop": (OP, stop), "addProfile": (OP, add_profile), "removeProfile": (OP, remove_profile),
    "runHealthCheck": (OP, run_health_check), "getLastHealthCheck": (OP, get_last_health_check),
    "setMaintenanceMode": (OP, set_maintenance_mode), "uploadProfiles": (OP, upload_without_file),
}


async def upload(request: Request, who: Principal, service: LightService) -> Response:
    """uploadProfiles as multipart/form-data: the request part, then the profiles file."""
    refusal = refuse(request, who, OP)
    if refusal is not None:
        return refusal
    try:
        form = await request.form(max_files=2, max_fields=4, max_part_size=c.MAX_UPLOAD_BYTES)
    except Exception as err:  # python-multipart's and Starlette's refusals of a malformed body
        return json_reply(None, error=JsonApiError(ConfigCodes.BAD_JSON, f"Invalid JSON: the multipart body: {err}"))
    part = form.get("request")
    raw = await part.read() if hasattr(part, "read") else (part or "").encode()
    try:
        call = parse_call(raw, c.VERSIONS, ERRORS)
    except JsonApiError as err:
        return json_reply(err.call, error=err)
    if call.method != "uploadProfiles":
        return json_reply(call, error=JsonApiError(ConfigCodes.BAD_METHOD, "a multipart POST is uploadProfiles"))
    file = form.get("file")
    if file is None or not hasattr(file, "read"):
        return json_reply(call, error=JsonApiError(ConfigCodes.MISSING, f"{c.ERROR_TEXTS[ConfigCodes.MISSING]}: the file part"))
    try:
        profiles = json.loads(await file.read())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return json_reply(call, error=JsonApiError(ConfigCodes.BAD_JSON, "Invalid JSON: the profiles file"))
    try:
        service.upload(profiles, call.params.get("uploadMode", "add"), who.name)
    except LightError as err:
        request.app.state.device.logs.system(f"light profile import of {who.name} refused: {err}", "warning")
        return json_reply(call, error=api_error(err))
    return json_reply(call, {})


async def page_status(request: Request, who: Principal) -> Response:
    """The Light page: the status list, the LED and siren as they are now, maintenance mode."""
    device: Device = request.app.state.device
    service = device.features[LIGHT_SERVICE]
    siren = service.hw.sound(c.SIREN)
    return JSONResponse({"activities": service.activities(), "led": service.hw.led(c.LED).describe(),
                         "siren": siren.pattern if siren else None,
                         "maintenance": any(o.priority == c.MAINTENANCE for o in service.ops.values())})


def register(device: Device, service: LightService) -> None:
    bound = {name: JsonMethod(role, functools.partial(handler, service)) for name, (role, handler) in METHODS.items()}
    endpoint = device.router.json_api(c.PATH, c.VERSIONS, bound, ERRORS)
    as_json = endpoint.handler

    async def handle(request: Request, who: Principal) -> Response:
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            return await upload(request, who, service)
        return await as_json(request, who)

    endpoint.handler = handle
    device.router.include(ROUTES)


ROUTES = (
    Endpoint("/vigil/light", page_status, Role.OPERATOR, methods=("GET",), kind="json"),
)
