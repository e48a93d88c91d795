"""The VAPIX NVR PoE switch configuration API (`/axis-cgi/nvr/poe/*.cgi`, API discovery id
`nvr-poe`): schema versions, a port's mode, every port's status (status codes 0-5), the total
power limit and keep power, as XML `PoeResponse` documents with `GeneralError` codes 10
(processing), 20 (invalid request), 40 (version) and 50 (not supported: no PSE). Operator level;
the router answers an unauthorized caller before a handler runs."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import printable
from vigil.core.roles import Role
from vigil.features.poe.const import ENABLED, NVR_POE_PATH, POE_ERRORS, SCHEMA_VERSION
from vigil.features.poe.service import POE_SERVICE, PoeError, PoeService, PortStatus
from vigil.http.routing import Endpoint
from vigil.http.vapix import BadArguments, first, form_args

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.poe")
HEAD = ('<?xml version="1.0" encoding="utf-8"?>\n'
        f'<PoeResponse SchemaVersion="{SCHEMA_VERSION}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
        'xsi:noNamespaceSchemaLocation="http://www.axis.com/vapix/http_cgi/nvr/Poe1.xsd">')
NUMBER = re.compile(r"[0-9]{1,3}")
YES_NO = {"yes": True, "no": False}
Build = Callable[[PoeService, Request, Principal], Awaitable[str]]


class Refused(Exception):
    def __init__(self, code: int, why: str) -> None:
        super().__init__(why)
        self.code = code


def xml(inner: str) -> Response:
    return Response(f"{HEAD}{inner}</PoeResponse>\n", media_type="text/xml")


def escape(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def xml_error(code: int, why: str) -> Response:
    description = POE_ERRORS[code] + (f": {why}" if why else "")
    return xml(f"<GeneralError><ErrorCode>{code}</ErrorCode><Description>{escape(description)}</Description>"
               "</GeneralError>")


def number(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def port_status(s: PortStatus) -> str:
    return (f"<PortStatus><Port>{s.port}</Port><StatusCode>{s.code}</StatusCode>"
            f"<Description>{escape(s.description)}</Description><Extra>{escape(s.extra)}</Extra>"
            f"<ClassPowerLimit>{number(s.class_power_limit)}</ClassPowerLimit>"
            f"<PoeClass>{'' if s.poe_class is None else s.poe_class}</PoeClass>"
            f"<AllocatedPower>{number(s.allocated_w)}</AllocatedPower>"
            f"<PowerConsumption>{number(s.consumption_w)}</PowerConsumption>"
            f"<PseClassLimit>{s.pse_class_limit}</PseClassLimit>"
            f"<RequestedPower>{number(s.requested_w)}</RequestedPower></PortStatus>")


async def arguments(request: Request, service: PoeService, *required: str) -> dict[str, str]:
    """The request's arguments, checked: the schema version (major 1) and `required` present;
    a device without a PSE supports none of it."""
    try:
        pairs = await form_args(request)
    except BadArguments as err:
        raise Refused(20, str(err)) from None
    if service.absent:
        raise Refused(50, service.absent)
    found = {name: value for name in ("schemaversion", *required) if (value := first(pairs, name)) is not None}
    missing = [name for name in ("schemaversion", *required) if name not in found]
    if missing:
        raise Refused(20, " and ".join(missing) + " required")
    if found["schemaversion"].strip().split(".")[0] != "1":
        raise Refused(40, f"schemaversion={printable(found['schemaversion'], 32)}; the supported version is 1")
    return found


def port_argument(value: str, service: PoeService) -> int:
    if not NUMBER.fullmatch(value) or not 1 <= int(value) <= service.ports:
        raise Refused(20, f"port={printable(value, 32)}; the ports are 1 to {service.ports}")
    return int(value)


def switch(value: str, name: str) -> bool:
    if value not in YES_NO:
        raise Refused(20, f"{name}={printable(value, 32)}; yes or no")
    return YES_NO[value]


async def answer(request: Request, who: Principal, build: Build) -> Response:
    """Run `build(service, request)` and turn refusals into XML errors that are logged."""
    device: Device = request.app.state.device
    service = device.features[POE_SERVICE]
    try:
        return xml(await build(service, request, who))
    except Refused as err:
        device.logs.system(f"PoE request of {who.name} refused: {POE_ERRORS[err.code]}: {printable(str(err))}",
                           "warning")
        return xml_error(err.code, str(err))
    except PoeError as err:
        device.logs.system(f"PoE request of {who.name} refused: {printable(str(err))}", "warning")
        return xml_error(20, str(err))
    except Exception:
        log.exception("PoE request failed")
        return xml_error(10, "")


async def schema_versions(service: PoeService, request: Request, who: Principal) -> str:
    if service.absent:
        raise Refused(50, service.absent)
    return ("<SchemaVersionsSuccess><SchemaVersion><VersionNumber>1.2</VersionNumber>"
            "<Deprecated>false</Deprecated></SchemaVersion></SchemaVersionsSuccess>")


async def get_port_mode(service: PoeService, request: Request, who: Principal) -> str:
    args = await arguments(request, service, "port")
    port = port_argument(args["port"], service)
    return f"<GetPortModeSuccess><Enabled>{'yes' if service.enabled(port) else 'no'}</Enabled></GetPortModeSuccess>"


async def set_port_mode(service: PoeService, request: Request, who: Principal) -> str:
    args = await arguments(request, service, "port", "enabled")
    port = port_argument(args["port"], service)
    on = switch(args["enabled"], "enabled")
    service.set_port(port, {ENABLED: "yes" if on else "no"}, who.role, who.name)
    return "<GeneralSuccess />"


async def get_port_statuses(service: PoeService, request: Request, who: Principal) -> str:
    await arguments(request, service)
    return "<GetPortStatusesSuccess>" + "".join(port_status(s) for s in service.statuses()) + "</GetPortStatusesSuccess>"


async def get_total_power_limit(service: PoeService, request: Request, who: Principal) -> str:
    await arguments(request, service)
    return f"<GetTotalPowerLimitSuccess><Limit>{service.hw.budget_w:g}</Limit></GetTotalPowerLimitSuccess>"


async def get_keep_power(service: PoeService, request: Request, who: Principal) -> str:
    await arguments(request, service)
    return f"<GetKeepPowerSuccess><Enabled>{'yes' if service.keep_power() else 'no'}</Enabled></GetKeepPowerSuccess>"


async def set_keep_power(service: PoeService, request: Request, who: Principal) -> str:
    args = await arguments(request, service, "enabled")
    service.set_keep_power(switch(args["enabled"], "enabled"), who.role, who.name)
    return "<GeneralSuccess />"


def endpoint(name: str, build: Build) -> Endpoint:
    """The route of one CGI: `build` makes the success element, `answer` the document and errors."""

    async def handler(request: Request, who: Principal) -> Response:
        return await answer(request, who, build)

    handler.__name__ = build.__name__
    return Endpoint(NVR_POE_PATH + name, handler, Role.OPERATOR, methods=("GET", "POST"), kind="xml")


ROUTES = (
    endpoint("schemaversions.cgi", schema_versions),
    endpoint("getportmode.cgi", get_port_mode),
    endpoint("setportmode.cgi", set_port_mode),
    endpoint("getportstatuses.cgi", get_port_statuses),
    endpoint("gettotalpowerlimit.cgi", get_total_power_limit),
    endpoint("getkeeppower.cgi", get_keep_power),
    endpoint("setkeeppower.cgi", set_keep_power),
)
