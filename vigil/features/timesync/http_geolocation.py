"""VAPIX: the geolocation API's position part, /axis-cgi/geolocation/get.cgi and set.cgi, with
their XML replies (`PositionResponse`). Administrator only, as the API is. A set with any value
that cannot be taken changes nothing and answers a SetError: 1 invalid parameter (a name the
API does not know), 2 invalid value, 3 internal error."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING
from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.timesync import location
from vigil.features.timesync.const import (
    GEO_GET,
    GEO_INTERNAL,
    GEO_INVALID_PARAMETER,
    GEO_INVALID_VALUE,
    GEO_SET,
)
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, form_args

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.timesync")
DESCRIPTIONS = {GEO_INVALID_PARAMETER: "Invalid parameter", GEO_INVALID_VALUE: "Invalid value",
                GEO_INTERNAL: "Internal Error"}
ARGUMENTS = ("lat", "lng", "heading", "text")


def reply(inner: str) -> Response:
    return Response(f'<?xml version="1.0" encoding="UTF-8"?>\n<PositionResponse SchemaVersion="1.0">{inner}'
                    "</PositionResponse>\n", media_type="application/xml")


def set_error(device: Device, who: Principal, code: int, why: str) -> Response:
    device.logs.system(f"geolocation/set.cgi refused for {who.name}: {why}", "warning")
    return reply(f"<Error><SetError><ErrorCode>{code}</ErrorCode><ErrorDescription>"
                 f"{escape(DESCRIPTIONS[code] + ': ' + why)}</ErrorDescription></SetError></Error>")


async def get_position(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    here = location.load(device.store)
    flag = {True: "true", False: "false"}
    return reply("<Success><GetSuccess><Location>"
                 f"<Lat>{escape(here.lat or '0')}</Lat><Lng>{escape(here.lng or '0')}</Lng>"
                 f"<Heading>{escape(here.heading or '0')}</Heading></Location>"
                 f"<Text>{escape(here.text)}</Text>"
                 f"<ValidPosition>{flag[here.valid_position]}</ValidPosition>"
                 f"<ValidHeading>{flag[here.valid_heading]}</ValidHeading>"
                 "</GetSuccess></Success>")


async def set_position(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    try:
        pairs = await form_args(request)
    except BadArguments as err:
        return set_error(device, who, GEO_INVALID_VALUE, str(err))
    changes: dict[str, str] = {}
    for key, value in pairs:
        if key not in ARGUMENTS:
            return set_error(device, who, GEO_INVALID_PARAMETER, f"unknown argument {printable(key, 40)!r}")
        changes[key] = value.strip() if key != "text" else value
    if not changes:
        return set_error(device, who, GEO_INVALID_PARAMETER, "give lat, lng, heading or text")
    before = location.load(device.store)
    try:
        after = before.updated(changes)
    except location.LocationError as err:
        return set_error(device, who, GEO_INVALID_VALUE, printable(str(err)))
    try:
        location.save(device.store, after)
    except Exception:
        log.exception("the device location could not be stored")
        return set_error(device, who, GEO_INTERNAL, "the location could not be stored")
    if after != before:
        said = ", ".join(f"{k}={printable(v, 80)}" for k, v in changes.items())
        device.logs.audit(who.name, f"set the device location: {said}", "geolocation")
    return reply("<Success><GeneralSuccess /></Success>")


ROUTES = (
    Endpoint(GEO_GET, get_position, Role.ADMIN, methods=("GET", "POST"), kind="xml"),
    Endpoint(GEO_SET, set_position, Role.ADMIN, methods=("GET", "POST"), kind="xml"),
)
