"""`/axis-cgi/virtualinput/activate.cgi`, `deactivate.cgi` and `getschemaversions.cgi`:
virtual inputs 1..32 with their XML replies and XML errors (10 missing argument, 20 no such
input, 30 schema version, 40 internal, 50 duration)."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.triggers.const import (
    MAX_DURATION,
    VIRTUAL_INPUT_ERRORS,
    VIRTUAL_INPUT_NS,
    VIRTUAL_INPUT_PATH,
    VIRTUAL_INPUTS,
)
from vigil.features.triggers.service import VIRTUAL_INPUTS_SERVICE, TriggerError
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, first, form_args

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.triggers")
HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n'
        f'<VirtualInputResponse xmlns="{VIRTUAL_INPUT_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        f'SchemaVersion="1.1" xsi:schemaLocation="{VIRTUAL_INPUT_NS} {VIRTUAL_INPUT_NS}_0.xsd">')
# Whole numbers short enough that int() never refuses them: a port is 1..32, a duration at most
# MAX_DURATION (10 digits).
PORT_NUMBER = re.compile(r"[0-9]{1,3}")
SECONDS = re.compile(r"[0-9]{1,10}")


def xml(inner: str) -> Response:
    return Response(f"{HEAD}{inner}</VirtualInputResponse>\n", media_type="text/xml")


def xml_error(code: int, why: str = "") -> Response:
    description = VIRTUAL_INPUT_ERRORS[code] + (f": {why}" if why else "")
    return xml(f"<Error><GeneralError><ErrorCode>{code}</ErrorCode>"
               f"<ErrorDescription>{escape(description)}</ErrorDescription></GeneralError></Error>")


def refused(device: Device, who: Principal, code: int, why: str) -> Response:
    device.logs.system(f"virtual input request of {who.name} refused: {VIRTUAL_INPUT_ERRORS[code]}: {why}",
                       "warning")
    return xml_error(code, why)


def escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


async def change(request: Request, who: Principal, active: bool) -> Response:
    """activate.cgi and deactivate.cgi: check every argument, then set the virtual input."""
    device: Device = request.app.state.device
    try:
        pairs = await form_args(request)
    except BadArguments:
        return refused(device, who, 10, "the arguments could not be read")
    schema, port, duration = first(pairs, "schemaversion"), first(pairs, "port"), first(pairs, "duration")
    if schema is None or port is None:
        missing = [name for name, value in (("schemaversion", schema), ("port", port)) if value is None]
        return refused(device, who, 10, " and ".join(missing) + " required")
    if schema.strip() != "1":
        return refused(device, who, 30, f"schemaversion={printable(schema, 32)}; the supported major version is 1")
    if not PORT_NUMBER.fullmatch(port) or not 1 <= int(port) <= VIRTUAL_INPUTS:
        return refused(device, who, 20, f"port={printable(port, 32)}; virtual inputs are 1 to {VIRTUAL_INPUTS}")
    seconds = None
    if active and duration is not None:
        if not SECONDS.fullmatch(duration) or int(duration) > MAX_DURATION:
            return refused(device, who, 50, f"duration={printable(duration, 32)}; a whole number of seconds, "
                                            f"0 to {MAX_DURATION}")
        seconds = int(duration)
    service = device.features[VIRTUAL_INPUTS_SERVICE]
    try:
        changed = service.set_virtual(int(port), active, who.name, float(seconds or 0))
        if seconds == 0:  # activated, then deactivated at once
            service.set_virtual(int(port), False, who.name)
    except TriggerError as err:
        return refused(device, who, 20, str(err))
    except Exception:
        log.exception("virtual input %s failed", port)
        return xml_error(40)
    element = "ActivateSuccess" if active else "DeactivateSuccess"
    return xml(f"<Success><{element}><StateChanged>{'true' if changed else 'false'}</StateChanged>"
               f"</{element}></Success>")


async def activate(request: Request, who: Principal) -> Response:
    return await change(request, who, True)


async def deactivate(request: Request, who: Principal) -> Response:
    return await change(request, who, False)


async def get_schema_versions(request: Request, who: Principal) -> Response:
    return xml("<Success><GetSchemaVersionsSuccess><SchemaVersion><MajorVersion>1</MajorVersion>"
               "<MinorVersion>1</MinorVersion><Deprecated>false</Deprecated></SchemaVersion>"
               "</GetSchemaVersionsSuccess></Success>")


ROUTES = (
    Endpoint(VIRTUAL_INPUT_PATH + "activate.cgi", activate, Role.OPERATOR, methods=("GET", "POST"), kind="xml"),
    Endpoint(VIRTUAL_INPUT_PATH + "deactivate.cgi", deactivate, Role.OPERATOR, methods=("GET", "POST"), kind="xml"),
    Endpoint(VIRTUAL_INPUT_PATH + "getschemaversions.cgi", get_schema_versions, Role.OPERATOR,
             methods=("GET", "POST"), kind="xml"),
)
