"""The UPnP description documents an SSDP answer's LOCATION points at: the device description
(`/rootdesc1.xml`) and the basic service's (`/scpd_basic.xml`), as Axis devices serve them. UPnP
clients fetch them without credentials; with UPnP turned off they are not there (404), as the
device then announces and answers nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.discovery.const import DESCRIPTION_PATH, SCPD_PATH, UPNP_ENABLED, UPNP_NAME
from vigil.features.discovery.service import DISCOVERY_SERVICE
from vigil.features.discovery.ssdp import description, service_description
from vigil.http.routing import Endpoint
from vigil.http.vapix import text

if TYPE_CHECKING:
    from vigil.device import Device

XML = "text/xml; charset=utf-8"


def base_uri(request: Request) -> str:
    """<scheme>://<the address the client reached>:<port>: what the description's URLs start with."""
    host, port = request.scope.get("server") or (None, None)
    host = host or request.url.hostname or "127.0.0.1"
    port = port or request.url.port or (443 if request.url.scheme == "https" else 80)
    scheme = request.url.scheme
    return f"{scheme}://[{host}]:{port}" if ":" in host else f"{scheme}://{host}:{port}"


async def device_description(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    if not device.params.get_bool(UPNP_ENABLED):
        return text("Not found: UPnP is turned off\n", status=404)
    facts = device.features[DISCOVERY_SERVICE].facts
    return Response(description(facts, device.params.get(UPNP_NAME), base_uri(request)), media_type=XML)


async def basic_service_description(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    if not device.params.get_bool(UPNP_ENABLED):
        return text("Not found: UPnP is turned off\n", status=404)
    return Response(service_description(), media_type=XML)


ROUTES = (
    Endpoint(DESCRIPTION_PATH, device_description, Role.ANONYMOUS, methods=("GET",), kind="xml", safe_get=True),
    Endpoint(SCPD_PATH, basic_service_description, Role.ANONYMOUS, methods=("GET",), kind="xml", safe_get=True),
)
