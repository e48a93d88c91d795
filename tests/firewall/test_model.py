"""Firewall rules: reading the API's rule objects (every form, every refusal with its code),
writing them back, and how a rule set decides a connection (first match, then the default)."""

from __future__ import annotations

import pytest

from vigil.features.firewall.model import RuleError, parse_rule, parse_ruleset, rule_json
from vigil.hal.firewall import Packet, Rule, Ruleset

PAGE_RULES = [  # the API page's FILTER examples
    {"ruleType": "FILTER", "ipRange": {"start": "192.168.2.10", "end": "192.168.2.128"}, "tcpPort": 80,
     "filter": {"policy": "DROP"}},
    {"ruleType": "FILTER", "ip": "192.168.2.16", "tcpPort": 80, "filter": {"policy": "ACCEPT"}},
    {"ruleType": "FILTER", "portRange": {"portType": "UDP", "start": 161, "end": 162}, "filter": {"policy": "DROP"}},
    {"ruleType": "FILTER", "ip": "192.168.1.0/20", "tcpPort": 80, "filter": {"policy": "ACCEPT"}},
    {"ruleType": "FILTER", "mac": "00:1B:63:84:45:E6", "port": {"portType": "TCP", "portNum": 22},
     "filter": {"policy": "DROP"}},
]


def test_the_page_examples_read_and_write_back() -> None:
    ruleset = parse_ruleset(PAGE_RULES, "ACCEPT")
    assert ruleset.rules[0] == Rule("DROP", ip_range=("192.168.2.10", "192.168.2.128"), protocol="TCP", ports=(80, 80))
    assert ruleset.rules[3].network == "192.168.0.0/20"  # host bits of a CIDR network are dropped
    assert ruleset.rules[4].mac == "00:1b:63:84:45:e6"
    written = [rule_json(r) for r in ruleset.rules]
    assert written[0]["ipRange"] == {"start": "192.168.2.10", "end": "192.168.2.128"} and written[0]["tcpPort"] == 80
    assert written[1]["ip"] == "192.168.2.16" and written[1]["mac"] is None
    assert written[2]["portRange"] == {"portType": "UDP", "start": 161, "end": 162}
    assert written[4]["mac"] == "00:1B:63:84:45:E6" and written[4]["tcpPort"] == 22
    assert parse_ruleset([{k: v for k, v in w.items()} for w in written], "ACCEPT") == ruleset


def test_traffic_type_both_protocols_and_ipv6() -> None:
    rule = parse_rule({"ruleType": "FILTER", "ip": "2001:db8::/32", "pktType": "MULTICAST",
                       "port": {"portType": "BOTH", "portNum": 5353}, "filter": {"policy": "DROP"}}, 1)
    assert rule.protocol == "BOTH" and rule.pkt_type == "MULTICAST"
    assert rule.matches(Packet("2001:db8::7", "UDP", 5353, pkt_type="MULTICAST"))
    assert not rule.matches(Packet("2001:db8::7", "UDP", 5353))  # unicast
    assert not rule.matches(Packet("192.0.2.1", "UDP", 5353, pkt_type="MULTICAST"))


@pytest.mark.parametrize(("rule", "code", "words"), [
    ({"ip": "300.1.1.1"}, 100, "not an IPv4/IPv6"),
    ({"ip": 17}, 100, "address or a CIDR"),
    ({"ipRange": {"start": "10.0.0.9", "end": "10.0.0.1"}}, 101, "not a range"),
    ({"ipRange": {"start": "10.0.0.1", "end": "::1"}}, 101, "one family"),
    ({"ipRange": {"start": "10.0.0.1", "end": "x"}}, 100, "ipRange.end"),
    ({"tcpPort": 0}, 104, "from 1 to 65535"),
    ({"udpPort": 65536}, 104, "from 1 to 65535"),
    ({"tcpPort": "80"}, 103, "whole number"),
    ({"tcpPort": True}, 103, "whole number"),
    ({"portRange": {"portType": "TCP", "start": 90, "end": 80}}, 104, "starts after it ends"),
    ({"portRange": {"portType": "SCTP", "start": 80, "end": 90}}, 103, "TCP, UDP, BOTH"),
    ({"port": {"portType": "TCP"}}, 103, "'portNum' is missing"),
    ({"mac": "00:1B:63:84:45"}, 103, "six pairs"),
    ({"pktType": "ANYCAST"}, 103, "UNICAST, MULTICAST, BROADCAST"),
    ({"ip": "10.0.0.1", "ipRange": {"start": "10.0.0.1", "end": "10.0.0.2"}}, 103, "one network layer"),
    ({"tcpPort": 80, "udpPort": 80}, 103, "one network layer"),
    ({"mac": "00:1B:63:84:45:E6", "pktType": "UNICAST"}, 103, "one network layer"),
    ({"nonsense": 1}, 103, "unknown member"),
])
def test_malformed_rules_are_refused_with_the_apis_codes(rule: dict, code: int, words: str) -> None:
    with pytest.raises(RuleError) as refused:
        parse_rule({"ruleType": "FILTER", "filter": {"policy": "DROP"}, **rule}, 3)
    assert refused.value.code == code and words in refused.value.message and "rule 3" in refused.value.message


@pytest.mark.parametrize(("raw", "words"), [
    ("not a rule", "not an object"),
    ({"ruleType": "LIMIT", "limit": {"amount": 1}}, "LIMIT rules"),
    ({"ruleType": "FILTER"}, "filter is an object"),
    ({"ruleType": "FILTER", "filter": {"policy": "REJECT"}}, "ACCEPT, DROP"),
])
def test_rule_types_and_policies(raw: object, words: str) -> None:
    with pytest.raises(RuleError, match=words):
        parse_rule(raw, 1)


def test_a_rule_set_takes_a_list_and_a_policy() -> None:
    with pytest.raises(RuleError, match="list of rules"):
        parse_ruleset({"ip": "10.0.0.1"}, "ACCEPT")
    with pytest.raises(RuleError, match="defaultPolicy"):
        parse_ruleset([], "allow")


def test_the_first_matching_rule_decides_then_the_default_policy() -> None:
    ruleset = Ruleset("DROP", (Rule("DROP", network="127.0.0.3/32"), Rule("ACCEPT", network="127.0.0.0/8"),
                               Rule("ACCEPT", ip_range=("10.0.0.5", "10.0.0.9"), protocol="TCP", ports=(80, 90))))
    assert ruleset.verdict(Packet("127.0.0.3", "TCP", 80)) == "DROP"
    assert ruleset.verdict(Packet("127.0.0.2", "TCP", 80)) == "ACCEPT"
    assert ruleset.verdict(Packet("10.0.0.7", "TCP", 85)) == "ACCEPT"
    assert ruleset.verdict(Packet("10.0.0.7", "UDP", 85)) == "DROP"
    assert ruleset.verdict(Packet("10.0.0.7", "TCP", 91)) == "DROP"
    assert ruleset.verdict(Packet("10.0.0.4", "TCP", 85)) == "DROP"
    assert Ruleset("ACCEPT").verdict(Packet("::1", "TCP", 1)) == "ACCEPT"
