"""`/axis-cgi/network_settings.cgi`: the VAPIX network settings API (getNetworkInfo,
setHostnameConfiguration, setIPv4AddressConfiguration, setIPv6AddressConfiguration,
setResolverConfiguration, setGlobalProxyConfiguration, setDeviceConfiguration,
getSupportedVersions), administrator only, with the API's error codes (4004 and a sub-code naming
the parameter). The settings are the `Network.*` parameters, so param.cgi and this API always
agree, and each change is audited as a parameter change.

A change that would cut off the caller (the address it is connected to goes away and no new
address is on its subnet) is refused with 4004 and the reason, unless the request says
`"confirm": true` (a Vigil extension); one that arrives over another path (loopback, another
address that stays) is applied."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.params import ParamError
from vigil.core.roles import Role
from vigil.features.network import const as c
from vigil.features.network.model import (
    Refusal,
    check_prefix,
    check_static,
    domain_name,
    host_name,
    ipv6_with_prefix,
    mask_of_prefix,
    masked_proxy,
    name_server,
    no_proxy_entries,
    parse_proxy,
)
from vigil.features.network.service import NETWORK_SERVICE, NetworkService
from vigil.http.routing import Endpoint, client_address, refuse
from vigil.http.vapix import JsonApiError, JsonErrors, ServiceCodes, json_reply, parse_call

if TYPE_CHECKING:
    from vigil.device import Device

log = logging.getLogger("vigil.network")
VERSIONS = c.NETWORK_SETTINGS_VERSIONS


ERRORS = JsonErrors(wrong_http_method=ServiceCodes.INVALID_REQUEST, bad_version=ServiceCodes.BAD_VERSION, unknown_method=ServiceCodes.NO_METHOD,
                    bad_json=ServiceCodes.INVALID_JSON, bad_params=ServiceCodes.INVALID_REQUEST, internal=ServiceCodes.INTERNAL, missing=ServiceCodes.MISSING,
                    body_too_large=ServiceCodes.BODY_TOO_LARGE, max_body=c.MAX_BODY, texts=c.ERRORS)


def api_error(code: int, why: str = "", sub_code: int = 0) -> JsonApiError:
    """A refusal in the API's codes; `sub_code` names the parameter (`details.subCode`)."""
    return ERRORS.error(code, why, **({"details": {"subCode": sub_code}} if sub_code else {}))


@dataclass
class Settings:
    service: NetworkService
    params: dict[str, Any]
    who: Principal
    local: str  # the device's address the request came to
    client: str

    def get(self, key: str, kind: type | tuple[type, ...], sub_code: int, default: Any = None) -> Any:
        value = self.params.get(key, default)
        if value is not default and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise api_error(ServiceCodes.INVALID, f"'{key}' has the wrong type", sub_code)
        return value

    def device_name(self) -> None:
        name = self.params.get("deviceName")
        if name is None:
            raise api_error(ServiceCodes.MISSING, "'deviceName' is required", 100)
        if name != c.INTERFACE:
            raise api_error(c.NO_DEVICE, f"there is no network device {str(name)[:32]!r}; the device has {c.INTERFACE}",
                           100)

    def store(self, pairs: dict[str, str], sub_code: int = 0) -> None:
        """Write the settings as parameters (validated, audited, one transaction, or nothing)."""
        try:
            self.service.params.update(list(pairs.items()), self.who.role, self.who.name)
        except ParamError as err:
            raise api_error(ServiceCodes.INVALID, str(err), sub_code) from None

    def reachable(self, pairs: dict[str, str]) -> None:
        """Refuse a change that would cut off the caller, unless confirmed."""
        if self.params.get("confirm") is True:
            return
        why = self.service.cut_off(self.service.plan(pairs), self.local, self.client)
        if why:
            self.service.logs.system(f"Network change by {self.who.name} refused: {why}", "warning")
            raise api_error(ServiceCodes.INVALID, f"{why}. Connect through an address that stays (or from the new subnet), "
                                      f"or send the change again with \"confirm\": true")


def refused(err: Refusal, sub_code: int = 0) -> JsonApiError:
    return api_error(ServiceCodes.INVALID, err.why, err.sub_code or sub_code)


# -- the methods --------------------------------------------------------------------------
async def get_network_info(call: Settings) -> dict[str, Any]:
    service = call.service
    p = service.params
    state = service.state()
    resolver, static = service.resolver(), service.static_resolver()
    proxies = service.proxies()
    prefix = int(service.plan().static[0].prefix)
    ipv4: dict[str, Any] = {
        "enabled": p.get_bool(c.IPV4_ENABLED),
        "configurationMode": "dhcp" if p.get(c.BOOT_PROTO) == "dhcp" else "static",
        "linkLocalMode": service.plan().link_local,
        "addresses": [{"address": a.address, "prefixLength": a.prefix, "origin": a.origin, "scope": a.scope,
                       **({"broadcast": service.live(c.IN_USE_BROADCAST)} if a.origin != "linkLocal" else {})}
                      for a in state.ipv4()],
        "maxSupportedStaticAddressConfigurations": c.MAX_STATIC_IPV4,
        "staticAddressConfigurations": [{"address": p.get(c.IP_ADDRESS), "prefixLength": prefix,
                                         "broadcast": p.get(c.BROADCAST)}],
        "defaultRouter": state.router,
        "staticDefaultRouter": "" if p.get(c.DEFAULT_ROUTER) == "0.0.0.0" else p.get(c.DEFAULT_ROUTER),
        "useStaticDHCPFallback": p.get_bool(c.STATIC_FALLBACK),
        "dhcpFailed": state.dhcp_failed,
    }
    static6 = [ipv6_with_prefix(a) for a in p.get(c.IPV6_ADDRESS).split()]
    ipv6: dict[str, Any] = {
        "enabled": p.get_bool(c.IPV6_ENABLED),
        "configurationMode": "dhcp" if p.get_bool(c.IPV6_ACCEPT_RA) else "static",
        "acceptRA": p.get_bool(c.IPV6_ACCEPT_RA),
        "addresses": [{"address": a.address, "prefixLength": a.prefix, "origin": a.origin, "scope": a.scope}
                      for a in state.ipv6()],
        "maxSupportedStaticAddressConfigurations": c.MAX_STATIC_IPV6,
        "staticAddressConfigurations": [{"address": a, "prefixLength": n} for a, n in static6],
        "defaultRouter": state.router6,
        "staticDefaultRouter": p.get(c.IPV6_ROUTER),
    }
    lease = state.lease
    return {
        "system": {
            "hostname": {"useDhcpHostname": p.get_bool(c.HOST_NAME_FROM_DHCP), "hostname": service.hostname(),
                         "staticHostname": p.get(c.HOST_NAME)},
            "resolver": {
                "useDhcpResolverInfo": p.get_bool(c.RESOLVER_FROM_DHCP),
                "nameServers": list(resolver.name_servers),
                "staticNameServers": list(static.name_servers),
                "maxSupportedStaticNameServers": c.MAX_STATIC_NAME_SERVERS,
                "searchDomains": list(resolver.search),
                "staticSearchDomains": list(static.search),
                "maxSupportedStaticSearchDomains": c.MAX_STATIC_SEARCH_DOMAINS,
                "domainName": resolver.domain,
                "staticDomainName": static.domain,
            },
            "globalProxies": {
                "httpProxy": masked_proxy(p.get(c.HTTP_PROXY), bool(proxies.http and proxies.http.password)),
                "httpsProxy": masked_proxy(p.get(c.HTTPS_PROXY), bool(proxies.https and proxies.https.password)),
                "noProxy": ",".join(proxies.no_proxy),
            },
            "dnsUpdate": {  # Vigil: dynamic DNS (RFC 2136), as the Network.DNSUpdate parameters
                "enabled": p.get_bool(c.DNS_UPDATE), "dnsName": p.get(c.DNS_UPDATE_NAME),
                "ttl": p.get_int(c.DNS_UPDATE_TTL), "status": service.dyndns.status,
                "message": service.dyndns.message,
            },
            "dhcpLease": None if lease is None else {  # Vigil: what the DHCP server gave
                "address": lease.address, "prefixLength": lease.prefix, "server": lease.server,
                "routers": list(lease.routers), "nameServers": list(lease.name_servers), "domainName": lease.domain,
                "hostname": lease.hostname, "ntpServers": list(lease.ntp_servers),
            },
            "lastError": service.last_error,
        },
        "devices": [{
            "name": c.INTERFACE,
            "type": "wired",
            "macAddress": state.mac.lower(),
            "partOfBridge": "",
            "link": state.link,
            "state": "up" if state.up and state.link else "down",
            "staticState": "up" if p.get_bool(c.ENABLED) else "down",
            "IPv4": ipv4,
            "IPv6": ipv6,
        }],
    }


async def set_hostname(call: Settings) -> dict[str, Any]:
    use_dhcp = call.get("useDhcpHostname", bool, 101)
    static = call.get("staticHostname", str, 100)
    pairs: dict[str, str] = {}
    if use_dhcp is not None:
        pairs[c.HOST_NAME_FROM_DHCP] = "yes" if use_dhcp else "no"
    if static is not None:
        try:
            pairs[c.HOST_NAME] = host_name(static)
        except Refusal as err:
            raise refused(err) from None
    call.store(pairs)
    return {}


async def set_ipv4(call: Settings) -> dict[str, Any]:
    call.device_name()
    p = call.service.params
    pairs: dict[str, str] = {}
    enabled = call.get("enabled", bool, 111)
    if enabled is not None:
        pairs[c.IPV4_ENABLED] = "yes" if enabled else "no"
    mode = call.get("configurationMode", str, 101)
    if mode is not None:
        if mode not in ("dhcp", "static"):
            raise api_error(ServiceCodes.INVALID, "configurationMode is dhcp or static", 101)
        pairs[c.BOOT_PROTO] = "dhcp" if mode == "dhcp" else "none"
    link_local = call.get("linkLocalMode", str, 109)
    if link_local is not None:
        if link_local not in ("off", "on", "fallback"):
            raise api_error(ServiceCodes.INVALID, "linkLocalMode is off, on or fallback", 109)
        pairs[c.ZEROCONF] = "no" if link_local == "off" else "yes"
        pairs[c.ZEROCONF_FALLBACK] = "yes" if link_local == "fallback" else "no"
    fallback = call.get("useStaticDHCPFallback", bool, 108)
    if fallback is not None:
        pairs[c.STATIC_FALLBACK] = "yes" if fallback else "no"
    if call.params.get("useDHCPStaticRoutes") is not None:
        raise api_error(ServiceCodes.INVALID, "DHCP classless static routes are not supported", 110)
    router = call.get("staticDefaultRouter", str, 102)
    configs = call.get("staticAddressConfigurations", list, 103)
    address, prefix, broadcast = p.get(c.IP_ADDRESS), int(call.service.plan().static[0].prefix), ""
    if configs is not None:
        if len(configs) != c.MAX_STATIC_IPV4 or not isinstance(configs[0], dict):
            raise api_error(ServiceCodes.INVALID, f"give exactly {c.MAX_STATIC_IPV4} static address configuration", 103)
        entry = configs[0]
        address = entry.get("address")
        if not isinstance(address, str):
            raise api_error(ServiceCodes.INVALID, "each static address configuration needs an address", 104)
        try:
            prefix = check_prefix(entry.get("prefixLength"))
        except Refusal as err:
            raise refused(err) from None
        broadcast = entry.get("broadcast", "")
        if not isinstance(broadcast, str):
            raise api_error(ServiceCodes.INVALID, "broadcast is an IPv4 address", 106)
    if configs is not None or router is not None:
        try:
            static = check_static(address, prefix, broadcast, p.get(c.DEFAULT_ROUTER) if router is None else router)
        except Refusal as err:
            raise refused(err) from None
        pairs |= {c.IP_ADDRESS: static.address, c.SUBNET_MASK: mask_of_prefix(static.prefix),
                  c.BROADCAST: static.broadcast, c.DEFAULT_ROUTER: static.router or "0.0.0.0"}
    if pairs.get(c.IPV4_ENABLED) == "no" and p.get(c.IPV6_ENABLED) == "no":
        raise api_error(ServiceCodes.INVALID, "IPv4 cannot be turned off while IPv6 is off", 111)
    call.reachable(pairs)
    call.store(pairs)
    return {}


async def set_ipv6(call: Settings) -> dict[str, Any]:
    call.device_name()
    pairs: dict[str, str] = {}
    enabled = call.get("enabled", bool, 101)
    if enabled is not None:
        pairs[c.IPV6_ENABLED] = "yes" if enabled else "no"
    accept_ra = call.get("acceptRA", bool, 102)  # Vigil: as Network.IPv6.AcceptRA
    if accept_ra is not None:
        pairs[c.IPV6_ACCEPT_RA] = "yes" if accept_ra else "no"
    configs = call.get("staticAddressConfigurations", list, 103)
    if configs is not None:
        if len(configs) > c.MAX_STATIC_IPV6:
            raise api_error(ServiceCodes.INVALID, f"at most {c.MAX_STATIC_IPV6} static IPv6 addresses", 103)
        shown = []
        for entry in configs:
            if not isinstance(entry, dict) or not isinstance(entry.get("address"), str):
                raise api_error(ServiceCodes.INVALID, "each static address configuration needs an address", 104)
            try:
                length = check_prefix(entry.get("prefixLength", 64), 128)
                address, length = ipv6_with_prefix(f"{entry['address']}/{length}")
            except Refusal as err:
                raise refused(err) from None
            shown.append(f"{address}/{length}")
        pairs[c.IPV6_ADDRESS] = " ".join(shown)
    router = call.get("staticDefaultRouter", str, 102)
    if router is not None:
        pairs[c.IPV6_ROUTER] = router
    if pairs.get(c.IPV6_ENABLED) == "no" and call.service.params.get(c.IPV4_ENABLED) == "no":
        raise api_error(ServiceCodes.INVALID, "IPv6 cannot be turned off while IPv4 is off", 101)
    call.reachable(pairs)
    call.store(pairs, 102)
    return {}


async def set_resolver(call: Settings) -> dict[str, Any]:
    pairs: dict[str, str] = {}
    use_dhcp = call.get("useDhcpResolverInfo", bool, 100)
    if use_dhcp is None:  # the page's example spells it so
        use_dhcp = call.get("useDHCPResolvInfo", bool, 100)
    if use_dhcp is not None:
        pairs[c.RESOLVER_FROM_DHCP] = "yes" if use_dhcp else "no"
    servers = call.get("staticNameServers", list, 101)
    if servers is not None:
        if len(servers) > c.MAX_STATIC_NAME_SERVERS or not all(isinstance(s, str) for s in servers):
            raise api_error(ServiceCodes.INVALID, f"give at most {c.MAX_STATIC_NAME_SERVERS} name server addresses", 101)
        try:
            checked = [name_server(s) for s in servers]
        except Refusal as err:
            raise refused(err) from None
        checked += ["0.0.0.0"] * (c.MAX_STATIC_NAME_SERVERS - len(checked))
        pairs[c.DNS_SERVER_1], pairs[c.DNS_SERVER_2] = checked
    domains = call.get("staticSearchDomains", list, 102)
    if domains is not None:
        if len(domains) > c.MAX_STATIC_SEARCH_DOMAINS or not all(isinstance(d, str) for d in domains):
            raise api_error(ServiceCodes.INVALID, f"give at most {c.MAX_STATIC_SEARCH_DOMAINS} search domains", 102)
        try:
            pairs[c.STATIC_SEARCH] = ",".join(domain_name(d, 102, "search domain") for d in domains)
        except Refusal as err:
            raise refused(err) from None
    domain = call.get("staticDomainName", str, 103)
    if domain is not None:
        try:
            pairs[c.DOMAIN_NAME] = domain_name(domain, 103) if domain else ""
        except Refusal as err:
            raise refused(err) from None
    call.store(pairs)
    return {}


async def set_global_proxies(call: Settings) -> dict[str, Any]:
    service = call.service
    pairs: dict[str, str] = {}
    current = service.proxies()
    for key, sub_code, url_param, password_param, now in (
            ("httpProxy", 100, c.HTTP_PROXY, c.HTTP_PROXY_PASSWORD, current.http),
            ("httpsProxy", 101, c.HTTPS_PROXY, c.HTTPS_PROXY_PASSWORD, current.https)):
        value = call.get(key, str, sub_code)
        if value is None:
            continue
        try:
            setting = parse_proxy(value, sub_code)
        except Refusal as err:
            raise refused(err) from None
        if setting is None:
            pairs[url_param], pairs[password_param] = "", ""
            continue
        pairs[url_param] = setting.url
        # The obscured password getNetworkInfo shows, sent back unchanged, keeps the stored one.
        keep = setting.password == "******" and now is not None and now.url == setting.url
        pairs[password_param] = now.password if keep and now is not None else setting.password
    no_proxy = call.get("noProxy", str, 102)
    if no_proxy is not None:
        try:
            pairs[c.NO_PROXY] = ",".join(no_proxy_entries(no_proxy))
        except Refusal as err:
            raise refused(err) from None
    call.store(pairs)
    return {}


async def set_device(call: Settings) -> dict[str, Any]:
    call.device_name()
    state = call.get("staticState", str, 101)
    if state is None:
        return {}
    if state not in ("up", "down"):
        raise api_error(ServiceCodes.INVALID, "staticState is up or down", 101)
    pairs = {c.ENABLED: "yes" if state == "up" else "no"}
    call.reachable(pairs)
    call.store(pairs)
    return {}


Method = Callable[[Settings], Awaitable[dict[str, Any]]]
METHODS: dict[str, Method] = {
    "getNetworkInfo": get_network_info,
    "setHostnameConfiguration": set_hostname,
    "setIPv4AddressConfiguration": set_ipv4,
    "setIPv6AddressConfiguration": set_ipv6,
    "setResolverConfiguration": set_resolver,
    "setGlobalProxyConfiguration": set_global_proxies,
    "setDeviceConfiguration": set_device,
}


# -- the endpoint -------------------------------------------------------------------------
async def network_settings(request: Request, who: Principal) -> Response:
    device: Device = request.app.state.device
    if request.method != "POST":
        return json_reply(None, error=ERRORS.error(ServiceCodes.INVALID_REQUEST, "send a POST with a JSON body"),
                          version=VERSIONS[-1])
    try:
        call = parse_call(await request.body(), VERSIONS, ERRORS)
    except JsonApiError as err:
        return json_reply(err.call, error=err, version=VERSIONS[-1])
    if call.method == "getSupportedVersions":
        return json_reply(call, {"apiVersions": VERSIONS})
    handler = METHODS.get(call.method)
    if handler is None:
        return json_reply(call, error=ERRORS.error(ServiceCodes.NO_METHOD, f"{call.method[:64]!r} is not supported"))
    refusal = refuse(request, who, Role.ADMIN)
    if refusal is not None:
        return refusal
    server = request.scope.get("server") or ("", 0)
    settings = Settings(device.features[NETWORK_SERVICE], call.params, who, str(server[0]), client_address(request))
    try:
        return json_reply(call, await handler(settings))
    except JsonApiError as err:
        if err.code == ServiceCodes.INVALID:
            log.info("network_settings.cgi %s refused: %s", call.method, err.message)
        return json_reply(call, error=err)
    except Exception:
        log.exception("network_settings.cgi %s failed", call.method)
        device.logs.system(f"network_settings.cgi {call.method} failed, see the service log", "error")
        failure = ERRORS.error(ServiceCodes.INTERNAL)
        failure.status = 500
        return json_reply(call, error=failure)


ROUTES = (
    Endpoint(c.NETWORK_SETTINGS, network_settings, Role.ADMIN, methods=("GET", "POST"), kind="json",
             method_roles={"getSupportedVersions": Role.ADMIN, **{m: Role.ADMIN for m in METHODS}}),
)
