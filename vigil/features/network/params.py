"""The `Network.*` parameters this feature applies: the interface (IPv4 by DHCP or static, the
fallbacks, link-local, IPv6), the host name, the resolver, dynamic DNS and the global proxies,
and the read-only ones that report what is in use. `Network.HostName` is also read by the HTTPS
certificate made at the first start and by the `%hostname%` of notifications.

Each rule over a single value is the parameter's own check; the rules over several parameters
(a router inside the address's subnet) are `veto`, asked before every change is stored."""

from __future__ import annotations

from collections.abc import Callable

from vigil.core import checks
from vigil.core.identity import Identity
from vigil.core.params import ParamDef, ParamTree, applied
from vigil.core.roles import Role
from vigil.features.network import const as c
from vigil.features.network.model import (
    Refusal,
    check_no_proxy,
    check_proxy_url,
    check_static,
    domain_name,
    host_name,
    ipv6_with_prefix,
    name_server,
    prefix_of_mask,
)

V, OP = Role.VIEWER, Role.OPERATOR
YESNO = {"kind": "bool"}
APPLIED = applied("network", how="listener")  # the service re-applies the interface when they change
NOTE_PROXY = "Used at the next outbound connection of every client (recipients, MQTT)."


def _rule(check: Callable[[str], object]) -> Callable[[str], str | None]:
    def run(value: str) -> str | None:
        try:
            check(value)
        except Refusal as refusal:
            return refusal.why
        return None
    return run


def _optional(check: Callable[[str], object]) -> Callable[[str], str | None]:
    rule = _rule(check)
    return lambda value: None if value in ("", "0.0.0.0") else rule(value)


def _search_domains(value: str) -> None:
    domains = [d.strip() for d in value.split(",") if d.strip()]
    if len(domains) > c.MAX_STATIC_SEARCH_DOMAINS:
        raise Refusal(f"at most {c.MAX_STATIC_SEARCH_DOMAINS} search domains")
    for domain in domains:
        domain_name(domain, 102, "search domain")


def _ipv6_addresses(value: str) -> None:
    addresses = value.split()
    if len(addresses) > c.MAX_STATIC_IPV6:
        raise Refusal(f"at most {c.MAX_STATIC_IPV6} static IPv6 addresses")
    for address in addresses:
        ipv6_with_prefix(address)


def _ipv6_router(value: str) -> None:
    import ipaddress

    try:
        router = ipaddress.IPv6Address(value)
    except ValueError:
        raise Refusal(f"{value[:64]!r} is not an IPv6 address") from None
    if router.is_multicast or router.is_unspecified or router.is_loopback:
        raise Refusal(f"{value} cannot be a router's address")


def param_defs(identity: Identity, live: Callable[[str], str]) -> list[ParamDef]:
    """The parameters; `live(name)` gives the in-use values of the read-only ones."""
    host = f"vigil-{identity.serial.lower()}"

    def in_use(name: str, read: Role = V) -> ParamDef:
        return ParamDef(name, "", read=read, write=None, dynamic=lambda: live(name))

    return [
        ParamDef(c.ENABLED, "yes", **YESNO, owner=APPLIED),
        ParamDef(c.BOOT_PROTO, "dhcp", "enum", ("dhcp", "none"), read=V, owner=APPLIED),
        ParamDef(c.IP_ADDRESS, "192.168.0.90", check=checks.ipv4, read=V, owner=APPLIED),
        ParamDef(c.SUBNET_MASK, "255.255.255.0", check=_rule(prefix_of_mask), owner=APPLIED),
        ParamDef(c.BROADCAST, "192.168.0.255", check=checks.ipv4, owner=APPLIED),
        ParamDef(c.DEFAULT_ROUTER, "192.168.0.1", check=checks.ipv4, owner=APPLIED),
        ParamDef(c.IPV4_ENABLED, "yes", **YESNO, owner=APPLIED),
        ParamDef(c.STATIC_FALLBACK, "no", **YESNO, owner=APPLIED),
        ParamDef(c.ZEROCONF, "yes", **YESNO, owner=APPLIED),
        ParamDef(c.ZEROCONF_FALLBACK, "no", **YESNO, owner=APPLIED),
        ParamDef(c.FTP_SERVER, "no", **YESNO, owner=applied(
            "network", note="Refused when turned on: the device has no FTP server of its own.")),
        ParamDef(c.HOST_NAME, host, check=_rule(host_name), read=V, owner=applied(
            "network", "http", "notify", note="The host name the device takes unless DHCP gives one (and "
            "sends to the DHCP server); the first HTTPS certificate and %hostname% read it.")),
        ParamDef(c.HOST_NAME_FROM_DHCP, "yes", **YESNO, owner=APPLIED),
        ParamDef(c.DNS_SERVER_1, "0.0.0.0", check=_optional(name_server), owner=APPLIED),
        ParamDef(c.DNS_SERVER_2, "0.0.0.0", check=_optional(name_server), owner=APPLIED),
        ParamDef(c.DOMAIN_NAME, "", check=_optional(lambda v: domain_name(v, 103)), owner=APPLIED),
        ParamDef(c.STATIC_SEARCH, "", maxlen=1024, check=_rule(_search_domains), owner=APPLIED),
        ParamDef(c.RESOLVER_FROM_DHCP, "yes", **YESNO, owner=APPLIED),
        ParamDef(c.IPV6_ENABLED, "yes", **YESNO, read=V, owner=APPLIED),
        ParamDef(c.IPV6_ACCEPT_RA, "yes", **YESNO, owner=APPLIED),
        ParamDef(c.IPV6_ADDRESS, "", maxlen=1024, check=_rule(_ipv6_addresses), owner=APPLIED),
        ParamDef(c.IPV6_ROUTER, "", check=_optional(_ipv6_router), owner=APPLIED),
        ParamDef(c.DNS_UPDATE, "no", **YESNO, owner=APPLIED),
        ParamDef(c.DNS_UPDATE_NAME, "", check=_optional(lambda v: domain_name(v, 0, "DNS name")), owner=APPLIED),
        ParamDef(c.DNS_UPDATE_TTL, "30", "int", minimum=0, maximum=2**31 - 1, owner=APPLIED),
        ParamDef(c.HTTP_PROXY, "", maxlen=512, check=check_proxy_url, owner=applied("network", note=NOTE_PROXY)),
        ParamDef(c.HTTP_PROXY_PASSWORD, "", "password", maxlen=255, owner=applied("network", note=NOTE_PROXY)),
        ParamDef(c.HTTPS_PROXY, "", maxlen=512, check=check_proxy_url, owner=applied("network", note=NOTE_PROXY)),
        ParamDef(c.HTTPS_PROXY_PASSWORD, "", "password", maxlen=255, owner=applied("network", note=NOTE_PROXY)),
        ParamDef(c.NO_PROXY, "", maxlen=2048, check=check_no_proxy, owner=applied("network", note=NOTE_PROXY)),
        in_use(c.MAC_ADDRESS),
        in_use(c.IN_USE_ADDRESS, OP),
        in_use(c.IN_USE_MASK, Role.ADMIN),
        in_use(c.IN_USE_BROADCAST, Role.ADMIN),
        in_use(c.IN_USE_IPV6, Role.ADMIN),
        in_use(c.IN_USE_ROUTER, Role.ADMIN),
        in_use(c.IN_USE_ROUTER6, Role.ADMIN),
        in_use(c.IN_USE_LINK_LOCAL, Role.ADMIN),
        in_use(c.IN_USE_LINK_LOCAL_MASK, Role.ADMIN),
        in_use(c.IN_USE_HOST_NAME, Role.ADMIN),
        in_use(c.IN_USE_NAME_SERVERS, Role.ADMIN),
        in_use(c.IN_USE_SEARCH, Role.ADMIN),
    ]


STATIC_GROUP = {c.BOOT_PROTO, c.IP_ADDRESS, c.SUBNET_MASK, c.BROADCAST, c.DEFAULT_ROUTER}


def veto(tree: ParamTree, new: dict[str, str]) -> tuple[str, str] | None:
    """The rules over several parameters, for param.cgi and the API alike (a `ParamTree.vetoes`
    hook): `new` holds the values that change, the tree the others."""
    return guard(lambda name: new[name] if name in new else tree.get(name), set(new))


def guard(view: Callable[[str], str], changed: set[str]) -> tuple[str, str] | None:
    """The rules over several parameters, given the values a change would leave (`view`) and the
    names it changes; None, or the parameter to blame and why."""
    if c.FTP_SERVER in changed and view(c.FTP_SERVER) == "yes":
        return c.FTP_SERVER, c.NO_FTP_SERVER
    if changed & STATIC_GROUP:
        try:
            check_static(view(c.IP_ADDRESS), prefix_of_mask(view(c.SUBNET_MASK)),
                         view(c.BROADCAST) if c.BROADCAST in changed else "", view(c.DEFAULT_ROUTER))
        except Refusal as refusal:
            blame = {102: c.DEFAULT_ROUTER, 105: c.SUBNET_MASK, 106: c.BROADCAST}.get(refusal.sub_code, c.IP_ADDRESS)
            return blame, refusal.why
    if {c.IPV4_ENABLED, c.IPV6_ENABLED} & changed and view(c.IPV4_ENABLED) == "no" and view(c.IPV6_ENABLED) == "no":
        name = c.IPV4_ENABLED if c.IPV4_ENABLED in changed else c.IPV6_ENABLED
        return name, "IPv4 and IPv6 cannot both be off: the device would have no address"
    if {c.DNS_UPDATE, c.DNS_UPDATE_NAME} & changed and view(c.DNS_UPDATE) == "yes" and not view(c.DNS_UPDATE_NAME):
        return c.DNS_UPDATE_NAME, "enter the DNS name to register before turning dynamic DNS updates on"
    return None
