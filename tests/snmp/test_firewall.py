"""The simulated firewall in front of the SNMP agent: a rule that drops UDP to the agent's port
from one address leaves that address unanswered (net-snmp's snmpget from 127.0.0.2) while
another (127.0.0.1) still reads; without the rule both read."""

from __future__ import annotations

from tests.peers.snmp import tool, v2c
from tests.snmp.conftest import Agent, needs_net_snmp
from vigil.features.firewall.model import parse_ruleset
from vigil.features.firewall.service import FIREWALL_SERVICE

pytestmark = needs_net_snmp
SYS_NAME = "1.3.6.1.2.1.1.5.0"


async def test_a_udp_rule_drops_snmp_requests_from_one_address(agent: Agent) -> None:
    firewall = agent.device.features[FIREWALL_SERVICE]
    from_2 = ["--clientaddr=127.0.0.2", *v2c("public", agent.port), SYS_NAME]
    assert (await tool("snmpget", *from_2)).code == 0
    firewall.set_activated(True, None, "root")
    drop = {"ruleType": "FILTER", "ip": "127.0.0.2", "udpPort": agent.port, "filter": {"policy": "DROP"}}
    firewall.set_rules(parse_ruleset([drop], "ACCEPT"), 0, None, "root")
    refused = await tool("snmpget", *from_2)
    assert refused.code != 0 and "Timeout" in refused.out, refused.out
    assert (await tool("snmpget", *v2c("public", agent.port), SYS_NAME)).code == 0
    firewall.set_activated(False, None, "root")
    assert (await tool("snmpget", *from_2)).code == 0
