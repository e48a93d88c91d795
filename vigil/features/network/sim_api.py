"""The admin-only simulation API of the simulated network, so that integrators can script a
device in CI: GET /vigil/sim/network shows the interface as applied, the resolver and host name
in use and the simulated DNS server's zone; POST changes what the simulated LAN does:
`{"dhcp": {"address": "10.0.0.7", "prefixLength": 24, "routers": [...], "nameServers": [...],
"domainName": "...", "searchDomains": [...], "hostname": "...", "ntpServers": [...]}}` (or
`"dhcp": null`: no DHCP server answers), `{"link": false}`, `{"dnsServers": [...]}` (the
simulated DNS servers that take updates), `{"raPrefix": "2001:db8:1::/64"}`."""

from __future__ import annotations

import ipaddress
import json
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from vigil.core.auth import Principal
from vigil.core.roles import Role
from vigil.features.network.const import SIM_NETWORK
from vigil.hal.network import NETWORK_HARDWARE, Lease
from vigil.hal.sim.network import SimulatedNetwork
from vigil.http.routing import Endpoint
from vigil.http.sim import refused

if TYPE_CHECKING:
    from vigil.device import Device


class SimRequestError(ValueError):
    pass



def _addresses(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > 8:
        raise SimRequestError(f"{key} is a list of at most 8 addresses")
    try:
        return tuple(str(ipaddress.ip_address(v)) for v in value)
    except (TypeError, ValueError):
        raise SimRequestError(f"{key} holds something that is not an IP address") from None


def _names(value: Any, key: str) -> tuple[str, ...]:
    if not isinstance(value, list) or len(value) > 8 or not all(isinstance(v, str) and len(v) < 254 for v in value):
        raise SimRequestError(f"{key} is a list of at most 8 names")
    return tuple(value)


def parse_lease(raw: Any) -> Lease | None:
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise SimRequestError("dhcp is an object, or null for no DHCP server")
    try:
        network = ipaddress.IPv4Network(f"{raw.get('address')}/{raw.get('prefixLength', 24)}", strict=False)
        address = str(ipaddress.IPv4Address(raw.get("address")))
    except (TypeError, ValueError):
        raise SimRequestError("dhcp.address and dhcp.prefixLength must be an IPv4 address and a prefix") from None
    text = {k: raw.get(k, "") for k in ("domainName", "hostname")}
    if not all(isinstance(v, str) and len(v) < 254 for v in text.values()):
        raise SimRequestError("dhcp.domainName and dhcp.hostname are names")
    return Lease(address, network.prefixlen, _addresses(raw.get("routers", []), "dhcp.routers"),
                 _addresses(raw.get("nameServers", []), "dhcp.nameServers"), text["domainName"],
                 _names(raw.get("searchDomains", []), "dhcp.searchDomains"), text["hostname"],
                 _names(raw.get("ntpServers", []), "dhcp.ntpServers"), "simulated DHCP server", 86400)


def apply_request(network: SimulatedNetwork, body: Any) -> None:
    if not isinstance(body, dict) or not body.keys() <= {"dhcp", "link", "dnsServers", "raPrefix"}:
        raise SimRequestError('send an object with "dhcp", "link", "dnsServers" and/or "raPrefix"')
    lease = parse_lease(body["dhcp"]) if "dhcp" in body else network.dhcp_offer
    if "link" in body and not isinstance(body["link"], bool):
        raise SimRequestError("link is true or false")
    servers = set(_addresses(body["dnsServers"], "dnsServers")) if "dnsServers" in body else network.dns_servers
    prefix = body.get("raPrefix", network.ra_prefix)
    if prefix:
        try:
            prefix = str(ipaddress.IPv6Network(prefix))
        except (TypeError, ValueError):
            raise SimRequestError("raPrefix is an IPv6 prefix such as 2001:db8:1::/64") from None
    network.dns_servers, network.ra_prefix = servers, prefix or ""
    if "link" in body:
        network.set_link(body["link"])
    network.offer(lease)


def shown(network: SimulatedNetwork) -> dict[str, Any]:
    state = network.state()
    return {
        "interface": network.name, "mac": network.mac, "link": state.link, "up": state.up,
        "addresses": [{"address": a.address, "prefixLength": a.prefix, "origin": a.origin} for a in state.addresses],
        "router": state.router, "router6": state.router6,
        "hostname": network.hostname,
        "resolver": {"nameServers": list(network.resolver.name_servers), "search": list(network.resolver.search),
                     "domain": network.resolver.domain},
        "dhcpOffer": None if network.dhcp_offer is None else network.dhcp_offer.address,
        "dnsServers": sorted(network.dns_servers),
        "zone": [{"name": r.name, "type": r.kind, "ttl": r.ttl, "value": r.value} for r in network.zone.values()],
    }


async def sim_network(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    network = device.hardware[NETWORK_HARDWARE]
    if not isinstance(network, SimulatedNetwork):
        return refused("the network interface is not simulated")
    if request.method == "POST":
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError, RecursionError):
            return refused("the body is not JSON")
        try:
            apply_request(network, body)
        except SimRequestError as err:
            return refused(str(err))
        device.logs.audit(who.name, "simulated network changed", "sim")
    return JSONResponse(shown(network))


ROUTES = (Endpoint(SIM_NETWORK, sim_network, Role.ADMIN, methods=("GET", "POST"), kind="json"),)
