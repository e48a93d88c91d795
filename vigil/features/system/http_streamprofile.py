"""streamprofile.cgi (VAPIX stream profiles API, discovery id `stream-profiles`): list, create,
update and remove the `StreamProfile.S<n>` groups of the parameter tree (vigil/rtsp/profiles.py
says what a profile may hold and applies it to stream URLs).

A request is applied whole or not at all: every profile in it is checked first. Errors in the
API's codes: 2001 malformed request, 2002 two profiles of one name, 2003 a missing parameter,
2004 a value refused (with the reason, e.g. a parameter that needs the video encoded again),
2006 no such profile. The parameter tree's listener writes each change to the audit log.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.device import Api
from vigil.http.vapix import JsonApiError, JsonCall, JsonErrors, JsonMethod
from vigil.rtsp.profiles import LETTER, MAX_PROFILES, PARENT, TEMPLATE, StreamProfile, StreamProfiles

if TYPE_CHECKING:
    from vigil.device import Device

PATH = "/axis-cgi/streamprofile.cgi"
VERSIONS = ["1.0"]
ERRORS = JsonErrors(wrong_http_method=2001, bad_version=2000, unknown_method=2005, bad_json=2001,
                    bad_params=2001, internal=1000)
INCOHERENT, MISSING, INVALID, NO_PROFILE = 2002, 2003, 2004, 2006
FIELDS = ("name", "description", "parameters")


def shown(profile: StreamProfile) -> dict[str, str]:
    return {"name": profile.name, "description": profile.description, "parameters": profile.parameters}


def entries(call: JsonCall, key: str) -> list[dict[str, Any]]:
    value = call.params.get(key)
    if value is None:
        raise JsonApiError(MISSING, f"Required parameter '{key}' missing")
    if not isinstance(value, list) or not all(isinstance(e, dict) for e in value):
        raise JsonApiError(ERRORS.bad_params, f"Parameter '{key}' must be a list of objects")
    return value


def named(call: JsonCall, key: str) -> list[str]:
    names = []
    for entry in entries(call, key):
        name = entry.get("name")
        if name is None:
            raise JsonApiError(MISSING, "Required parameter 'name' missing")
        if not isinstance(name, str):
            raise JsonApiError(ERRORS.bad_params, "Parameter 'name' must be a string")
        names.append(name)
    return names


def profiles_of(call: JsonCall) -> list[dict[str, str]]:
    """The streamProfile entries of a create or update, with their fields checked as strings."""
    out = []
    for entry in entries(call, "streamProfile"):
        if "name" not in entry:
            raise JsonApiError(MISSING, "Required parameter 'name' missing")
        for field in FIELDS:
            if field in entry and not isinstance(entry[field], str):
                raise JsonApiError(ERRORS.bad_params, f"Parameter '{field}' must be a string")
        out.append({f: entry[f] for f in FIELDS if f in entry})
    names = [e["name"] for e in out]
    if len(set(names)) != len(names):
        raise JsonApiError(INCOHERENT, "Two stream profiles of the request have the same name")
    return out


def find_all(store: StreamProfiles, names: list[str]) -> list[StreamProfile]:
    found = []
    for name in names:
        profile = store.find(name)
        if profile is None:
            raise JsonApiError(NO_PROFILE, f"The stream profile {name[:32]!r} does not exist")
        found.append(profile)
    return found


def refused(err: ParamError) -> JsonApiError:
    return JsonApiError(INVALID, str(err))


# -- the methods --------------------------------------------------------------------------
async def list_profiles(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    store = StreamProfiles(device.params)
    names = named(call, "streamProfileName") if "streamProfileName" in call.params else []
    chosen = find_all(store, names) if names else store.all()
    return {"streamProfile": [shown(p) for p in chosen], "maxProfiles": MAX_PROFILES}


async def create(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    store = StreamProfiles(device.params)
    new = profiles_of(call)
    template = device.params.templates[TEMPLATE]
    for entry in new:
        if store.find(entry["name"]) is not None:
            raise JsonApiError(INCOHERENT, f"A stream profile named {entry['name'][:32]} exists")
        for d in template.params:  # every entry checked before any is saved
            reason = d.validate(entry.get(d.name.lower(), d.default))
            if reason:
                raise JsonApiError(INVALID, f"Invalid {d.name.lower()}: {reason}")
    if len(store.all()) + len(new) > MAX_PROFILES:
        raise JsonApiError(INVALID, f"At most {MAX_PROFILES} stream profiles")
    prefix = f"{PARENT}.{LETTER}."
    for entry in new:
        values = [(prefix + d.name, entry[d.name.lower()]) for d in template.params if d.name.lower() in entry]
        try:
            device.params.add(TEMPLATE, PARENT, values, who.role, who.name)
        except ParamError as err:
            raise refused(err) from None
    return {}


async def update(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    store = StreamProfiles(device.params)
    changes = profiles_of(call)
    found = find_all(store, [e["name"] for e in changes])
    pairs = [(f"{profile.group}.{field.capitalize()}", entry[field])
             for profile, entry in zip(found, changes, strict=True) for field in ("description", "parameters")
             if field in entry]
    try:
        device.params.update(pairs, who.role, who.name)  # all or nothing
    except ParamError as err:
        raise refused(err) from None
    return {}


async def remove(device: Device, call: JsonCall, who: Principal) -> dict[str, Any]:
    store = StreamProfiles(device.params)
    found = find_all(store, named(call, "streamProfileName"))
    try:
        device.params.remove([p.group for p in found], who.role, who.name)
    except ParamError as err:
        raise refused(err) from None
    return {}


METHODS = {
    "list": (Role.VIEWER, list_profiles),
    "create": (Role.OPERATOR, create),
    "update": (Role.OPERATOR, update),
    "remove": (Role.OPERATOR, remove),
}


def register(device: Device) -> None:
    device.router.json_api(PATH, VERSIONS, {name: JsonMethod(role, partial(method, device))
                                            for name, (role, method) in METHODS.items()}, ERRORS)
    device.apis.append(Api("stream-profiles", VERSIONS[-1], "Stream profiles"))
