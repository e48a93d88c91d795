"""The agent against net-snmp's tools: v1, v2c and v3 reads, the whole walk, sets through the
write community, refusals (wrong community, read community writing, read-only objects, wrong
v3 password), and malformed datagrams that leave it running."""

from __future__ import annotations

import socket

from tests.peers.snmp import tool, v1, v2c, v3
from tests.snmp.conftest import V3_PASSWORD, Agent, needs_net_snmp

pytestmark = needs_net_snmp
SYS_DESCR, SYS_CONTACT, SYS_NAME, SYS_LOCATION = ("1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.4.0", "1.3.6.1.2.1.1.5.0",
                                                  "1.3.6.1.2.1.1.6.0")


async def test_v2c_reads_the_system_group(agent: Agent) -> None:
    r = await tool("snmpget", *v2c("public", agent.port), SYS_DESCR, SYS_NAME, "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0")
    assert r.code == 0, r.out
    values = r.values()
    assert "Vigil S3016" in values[SYS_DESCR]
    assert agent.device.params.get("Network.HostName") in values[SYS_NAME]
    assert values["1.3.6.1.2.1.1.2.0"] == "OID: .1.3.6.1.4.1.368.1.1"
    assert values["1.3.6.1.2.1.1.3.0"].startswith("Timeticks:")


async def test_walk_lists_every_object_in_order(agent: Agent) -> None:
    r = await tool("snmpwalk", *v2c("public", agent.port), "1.3.6.1")
    assert r.code == 0, r.out
    oids = list(r.values())
    assert len(oids) == len(agent.service.mib) > 40
    keys = [tuple(map(int, o.split("."))) for o in oids]
    assert keys == sorted(keys)
    walked = "\n".join(oids)
    for prefix in ("1.3.6.1.2.1.2.2.1.6.1", "1.3.6.1.2.1.11.4.0", "1.3.6.1.2.1.25.2.3.1.5.1",
                   "1.3.6.1.2.1.25.3.2.1.5.1", "1.3.6.1.4.1.368.4.1.3.1.4.1.1", "1.3.6.1.4.1.368.4.1.8.1.3.1"):
        assert prefix in walked, prefix


async def test_v1_and_bulk_walks_agree(agent: Agent) -> None:
    one = await tool("snmpwalk", *v1("public", agent.port), "1.3.6.1")
    bulk = await tool("snmpbulkwalk", *v2c("public", agent.port), "1.3.6.1")
    assert one.code == bulk.code == 0
    assert list(one.values()) == list(bulk.values())


async def test_v3_with_the_initial_user(agent: Agent) -> None:
    r = await tool("snmpget", *v3(agent.port, V3_PASSWORD), SYS_NAME)
    assert r.code == 0 and agent.device.params.get("Network.HostName") in r.out, r.out
    wrong = await tool("snmpget", *v3(agent.port, "not-the-password"), SYS_NAME)
    assert wrong.code != 0
    assert agent.service.agent is not None and agent.service.agent.stats.auth_failures >= 1


async def test_v3_protocols_follow_the_parameters(agent: Agent) -> None:
    agent.set(SNMP__InitialUserAuthProtocol="SHA256", SNMP__InitialUserPrivProtocol="AES256")
    await agent.running()
    r = await tool("snmpget", *v3(agent.port, V3_PASSWORD, "SHA-256", "AES-256"), SYS_NAME)
    if "AES-256" in r.out and "Invalid privacy protocol" in r.out:  # a net-snmp built without it
        return
    assert r.code == 0, r.out
    old = await tool("snmpget", *v3(agent.port, V3_PASSWORD), SYS_NAME)
    assert old.code != 0


async def test_write_community_sets_contact_and_location(agent: Agent) -> None:
    r = await tool("snmpset", *v2c("write", agent.port), SYS_CONTACT, "s", "ops@example.com",
                   SYS_LOCATION, "s", "Rack 4")
    assert r.code == 0, r.out
    assert agent.device.params.get("SNMP.SysContact") == "ops@example.com"
    assert agent.device.params.get("SNMP.SysLocation") == "Rack 4"
    audit = [e.message for e in agent.device.logs.entries("audit")]
    assert any("user=snmp:write@127.0.0.1" in m and "SNMP.SysContact=ops@example.com" in m for m in audit), audit
    r = await tool("snmpget", *v2c("public", agent.port), SYS_CONTACT)
    assert "ops@example.com" in r.out


async def test_refusals_leave_everything_as_it_was(agent: Agent) -> None:
    read_only = await tool("snmpset", *v2c("public", agent.port), SYS_CONTACT, "s", "intruder")
    assert read_only.code != 0 and "noAccess" in read_only.out
    not_writable = await tool("snmpset", *v2c("write", agent.port), SYS_DESCR, "s", "x")
    assert "notWritable" in not_writable.out
    wrong_type = await tool("snmpset", *v2c("write", agent.port), SYS_CONTACT, "i", "5")
    assert "wrongType" in wrong_type.out
    control = await tool("snmpset", *v2c("write", agent.port), SYS_CONTACT, "x", "0a0d")
    assert "wrongValue" in control.out
    no_such = await tool("snmpset", *v2c("write", agent.port), "1.3.6.1.2.1.1.99.0", "s", "x")
    assert no_such.code != 0
    assert agent.device.params.get("SNMP.SysContact") == ""
    r = await tool("snmpget", *v2c("public", agent.port), SYS_NAME)
    assert r.code == 0


async def test_wrong_community_is_refused_and_counted(agent: Agent) -> None:
    r = await tool("snmpget", *v2c("guess", agent.port), SYS_NAME)
    assert r.code != 0 and "Timeout" in r.out
    r = await tool("snmpget", *v2c("public", agent.port), "1.3.6.1.2.1.11.4.0")
    assert r.values()["1.3.6.1.2.1.11.4.0"] == "Counter32: 1"
    status = agent.service.status()
    assert status["authenticationFailures"] == 1 and status["badCommunityNames"] == 1
    logs = [e.message for e in agent.device.logs.entries("system")]
    assert any("SNMP request from 127.0.0.1 refused" in m for m in logs)


async def test_trap_community_is_not_a_request_community(agent: Agent) -> None:
    agent.set(SNMP__Trap__T0__Community="traps-only")
    await agent.running()
    r = await tool("snmpget", *v2c("traps-only", agent.port), SYS_NAME)
    assert r.code != 0


async def test_disabled_versions_are_not_answered(agent: Agent) -> None:
    agent.set(SNMP__V1="no")
    await agent.running()
    assert (await tool("snmpget", *v2c("public", agent.port), SYS_NAME)).code == 0
    assert (await tool("snmpget", *v1("public", agent.port), SYS_NAME)).code != 0


async def test_malformed_datagrams_leave_the_agent_running(agent: Agent) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for junk in (b"", b"\x30", b"\x30\x82\xff\xff" + b"\x00" * 10, b"\x30\x03\x02\x01\x63", bytes(range(256)),
                     b"\x30\x26\x02\x01\x01\x04\x06public\xa5\x19\x02\x04\x00\x00\x00\x01\x02\x01\x00"
                     b"\x02\x02\x7f\xff\x30\x0b\x30\x09\x06\x05\x2b\x06\x01\x02\x01\x05\x00"):
            s.sendto(junk, ("127.0.0.1", agent.port))
    r = await tool("snmpget", *v2c("public", agent.port), SYS_NAME, "1.3.6.1.2.1.11.6.0")
    assert r.code == 0, r.out
    assert r.values()["1.3.6.1.2.1.11.6.0"] != "Counter32: 0"  # snmpInASNParseErrs counted them


async def test_dscp_marks_the_socket(agent: Agent) -> None:
    agent.set(SNMP__DSCP="46")
    await agent.running()
    running = agent.service.agent
    assert running is not None and running.sock is not None
    assert running.sock.getsockopt(socket.IPPROTO_IP, socket.IP_TOS) == 46 << 2
