"""Firewall rules as the Firewall configuration API writes them (`firewall.v1` Rule objects:
`ruleType`, `ip`, `ipRange`, `mac`, `tcpPort`, `udpPort`, `port`, `portRange`, `pktType`,
`filter.policy`), checked into the hardware's `Rule`, and written back the same way.

A rule names at most one criterion per network layer (link: `mac` or `pktType`; network: `ip`
or `ipRange`; transport: one of the four port forms), as the API says; a protocol comes with a
port. Every refusal is a `RuleError` with the API's error code and a message naming the rule.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from vigil.features.firewall.const import (
    ERR_INVALID_IP,
    ERR_INVALID_IP_RANGE,
    ERR_INVALID_PORT_RANGE,
    ERR_INVALID_REQUEST,
    MAX_RULES,
)
from vigil.hal.firewall import PACKET_TYPES, POLICIES, PROTOCOLS, Rule, Ruleset

MAC = re.compile(r"(?:[0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}|(?:[0-9A-Fa-f]{2}-){5}[0-9A-Fa-f]{2}")
FIELDS = ("ruleType", "ip", "ipRange", "mac", "tcpPort", "udpPort", "port", "portRange", "pktType", "filter")
PORT_FORMS = ("tcpPort", "udpPort", "port", "portRange")


class RuleError(ValueError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _port(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(ERR_INVALID_REQUEST, f"{where}: a port is a whole number from 1 to 65535")
    if not 1 <= value <= 65535:
        raise RuleError(ERR_INVALID_PORT_RANGE, f"{where}: port {value} is not from 1 to 65535")
    return value


def _address(value: Any, where: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    if not isinstance(value, str):
        raise RuleError(ERR_INVALID_IP, f"{where}: an IPv4 or IPv6 address is a string")
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        raise RuleError(ERR_INVALID_IP, f"{where}: {value!r} is not an IPv4 or IPv6 address") from None


def _object(value: Any, where: str, keys: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise RuleError(ERR_INVALID_REQUEST, f"{where} is an object with {', '.join(keys)}")
    unknown = set(value) - set(keys)
    if unknown:
        raise RuleError(ERR_INVALID_REQUEST, f"{where}: unknown member {sorted(unknown)[0]!r}")
    missing = [k for k in keys if value.get(k) is None]
    if missing:
        raise RuleError(ERR_INVALID_REQUEST, f"{where}: {missing[0]!r} is missing")
    return value


def _choice(value: Any, choices: tuple[str, ...], where: str) -> str:
    if value not in choices:
        raise RuleError(ERR_INVALID_REQUEST, f"{where} is one of {', '.join(choices)}")
    return str(value)


def parse_rule(raw: Any, number: int) -> Rule:
    """Rule `number` (from 1) of a setRules request, checked."""
    where = f"rule {number}"
    if not isinstance(raw, dict):
        raise RuleError(ERR_INVALID_REQUEST, f"{where} is not an object")
    unknown = set(raw) - set(FIELDS) - {"limit"}
    if unknown:
        raise RuleError(ERR_INVALID_REQUEST, f"{where}: unknown member {sorted(unknown)[0]!r}")
    if raw.get("ruleType") == "LIMIT":
        raise RuleError(ERR_INVALID_REQUEST, f"{where}: LIMIT rules (rate limits) are not supported; use FILTER")
    _choice(raw.get("ruleType"), ("FILTER",), f"{where}: ruleType")
    filt = _object(raw.get("filter"), f"{where}: filter", ("policy",))
    policy = _choice(filt["policy"], POLICIES, f"{where}: filter.policy")
    given = {k for k in FIELDS[1:-1] if raw.get(k) is not None}
    for layer in (("ip", "ipRange"), ("mac", "pktType"), PORT_FORMS):
        both = [k for k in layer if k in given]
        if len(both) > 1:
            raise RuleError(ERR_INVALID_REQUEST, f"{where}: {both[0]} and {both[1]} are of one network layer; "
                                                 "make a rule for each")
    network = ip_range = mac = pkt_type = protocol = None
    ports: tuple[int, int] | None = None
    if "ip" in given:
        value = raw["ip"]
        if not isinstance(value, str):
            raise RuleError(ERR_INVALID_IP, f"{where}: ip is an address or a CIDR network")
        try:
            network = str(ipaddress.ip_network(value, strict=False))
        except ValueError:
            raise RuleError(ERR_INVALID_IP, f"{where}: {value!r} is not an IPv4/IPv6 address or network") from None
    if "ipRange" in given:
        span = _object(raw["ipRange"], f"{where}: ipRange", ("start", "end"))
        first, last = _address(span["start"], f"{where}: ipRange.start"), _address(span["end"], f"{where}: ipRange.end")
        if first.version != last.version or first > last:  # type: ignore[operator]
            raise RuleError(ERR_INVALID_IP_RANGE, f"{where}: ipRange {first} to {last} is not a range "
                                                  "(one family, start not after end)")
        ip_range = (str(first), str(last))
    if "mac" in given:
        if not isinstance(raw["mac"], str) or not MAC.fullmatch(raw["mac"]):
            raise RuleError(ERR_INVALID_REQUEST, f"{where}: mac is six pairs of hex digits (00:1B:63:84:45:E6)")
        mac = raw["mac"].replace("-", ":").lower()
    if "pktType" in given:
        pkt_type = _choice(raw["pktType"], PACKET_TYPES, f"{where}: pktType")
    if "tcpPort" in given or "udpPort" in given:
        key = "tcpPort" if "tcpPort" in given else "udpPort"
        number_ = _port(raw[key], f"{where}: {key}")
        protocol, ports = key[:3].upper(), (number_, number_)
    if "port" in given:
        spec = _object(raw["port"], f"{where}: port", ("portType", "portNum"))
        protocol = _choice(spec["portType"], PROTOCOLS, f"{where}: port.portType")
        number_ = _port(spec["portNum"], f"{where}: port.portNum")
        ports = (number_, number_)
    if "portRange" in given:
        spec = _object(raw["portRange"], f"{where}: portRange", ("portType", "start", "end"))
        protocol = _choice(spec["portType"], PROTOCOLS, f"{where}: portRange.portType")
        first_port = _port(spec["start"], f"{where}: portRange.start")
        last_port = _port(spec["end"], f"{where}: portRange.end")
        if first_port > last_port:
            raise RuleError(ERR_INVALID_PORT_RANGE, f"{where}: portRange {first_port}-{last_port} starts after it ends")
        ports = (first_port, last_port)
    return Rule(policy, network, ip_range, mac, pkt_type, protocol, ports)


def parse_ruleset(rules: Any, default_policy: Any) -> Ruleset:
    if not isinstance(rules, list):
        raise RuleError(ERR_INVALID_REQUEST, "rules is a list of rules")
    if len(rules) > MAX_RULES:
        raise RuleError(ERR_INVALID_REQUEST, f"at most {MAX_RULES} rules")
    policy = _choice(default_policy, POLICIES, "defaultPolicy")
    return Ruleset(policy, tuple(parse_rule(raw, i) for i, raw in enumerate(rules, 1)))


def rule_json(rule: Rule) -> dict[str, Any]:
    """The rule as the API lists it: every member, null where the rule says nothing."""
    out: dict[str, Any] = {k: None for k in FIELDS}
    out["ruleType"] = "FILTER"
    out["filter"] = {"policy": rule.policy}
    if rule.network is not None:
        net = ipaddress.ip_network(rule.network)
        out["ip"] = str(net.network_address) if net.prefixlen == net.max_prefixlen else rule.network
    if rule.ip_range is not None:
        out["ipRange"] = {"start": rule.ip_range[0], "end": rule.ip_range[1]}
    out["mac"] = rule.mac.upper() if rule.mac else None
    out["pktType"] = rule.pkt_type
    if rule.ports is not None:
        first, last = rule.ports
        if first != last:
            out["portRange"] = {"portType": rule.protocol, "start": first, "end": last}
        elif rule.protocol in ("TCP", "UDP"):
            out[f"{rule.protocol.lower()}Port"] = first
        else:
            out["port"] = {"portType": rule.protocol, "portNum": first}
    return out


def ruleset_json(ruleset: Ruleset) -> dict[str, Any]:
    return {"defaultPolicy": ruleset.default_policy, "rules": [rule_json(r) for r in ruleset.rules]}


def ruleset_from_json(data: Any) -> Ruleset:
    """A stored rule set (as `ruleset_json` wrote it) read back; RuleError when it is damaged."""
    if not isinstance(data, dict):
        raise RuleError(ERR_INVALID_REQUEST, "not a rule set")
    return parse_ruleset(data.get("rules"), data.get("defaultPolicy"))
