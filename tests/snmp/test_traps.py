"""Traps to snmptrapd: cold and warm start, authentication failure, link down/up from the
network event, and AXIS-VIDEO-MIB alarms for the storage events (a drive failing in the
simulated RAID), as SNMPv2c and SNMPv1 traps; each kind switched by its parameter."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import eventually
from tests.peers.snmp import Snmptrapd, tool, v1, v2c
from tests.snmp.conftest import Agent, needs_net_snmp, serving, snmp_device
from vigil.core.events import Item, Topic
from vigil.core.roles import Role
from vigil.hal.disks import DISK_HARDWARE
from vigil.hal.sim.disks import SimulatedDisks

pytestmark = needs_net_snmp
COLD, WARM, LINK_DOWN, LINK_UP, AUTH = (f".1.3.6.1.6.3.1.1.5.{n}" for n in range(1, 6))
ALARM_NEW, ALARM_CLEARED = ".1.3.6.1.4.1.368.4.2.0.1", ".1.3.6.1.4.1.368.4.2.0.2"
ALL_TRAPS = dict(SNMP__Trap__Enabled="yes", SNMP__Trap__T0__ColdStart__Enabled="yes",
                 SNMP__Trap__T0__WarmStart__Enabled="yes", SNMP__Trap__T0__AuthFail__Enabled="yes",
                 SNMP__Trap__T0__LinkUp__Enabled="yes", SNMP__Trap__T0__LinkDown__Enabled="yes")


async def traps_to(agent: Agent, trapd: Snmptrapd, restart: bool = False, **more: str) -> None:
    """Traps on, to `trapd`; they take effect at once. With `restart`, `more` holds a setting
    that re-initializes the agent: wait until it has."""
    agent.set(**ALL_TRAPS, SNMP__Trap__T0__Address=f"127.0.0.1:{trapd.port}", **more)
    if restart:
        await agent.running()


async def test_cold_start_when_the_device_starts(tmp_path: Path, trapd: Snmptrapd) -> None:
    device, port = snmp_device(tmp_path)
    device.params.update([("SNMP.Enabled", "yes"), ("SNMP.V2c", "yes"), ("SNMP.Trap.Enabled", "yes"),
                   ("SNMP.Trap.T0.ColdStart.Enabled", "yes"), ("SNMP.Trap.T0.Address", f"127.0.0.1:{trapd.port}")],
                  Role.ADMIN, "root")
    async with serving(device, port):
        await eventually(lambda: trapd.count(COLD), 10, "a coldStart trap")
        assert trapd.count(WARM) == 0


async def test_alarms_active_at_start_follow_the_cold_start(tmp_path: Path, trapd: Snmptrapd) -> None:
    device, port = snmp_device(tmp_path)
    device.params.update([("SNMP.Enabled", "yes"), ("SNMP.V2c", "yes"), ("SNMP.Trap.Enabled", "yes"),
                          ("SNMP.Trap.T0.ColdStart.Enabled", "yes"), ("Storage.S0.Locked", "yes"),
                          ("SNMP.Trap.T0.Address", f"127.0.0.1:{trapd.port}")], Role.ADMIN, "root")
    async with serving(device, port):
        await eventually(lambda: trapd.count(ALARM_NEW), 10, "an alarmNew trap for the write-protected disk")
        text = trapd.text()
        assert text.index(COLD) < text.index(ALARM_NEW)
        assert "Check the RAID_DISK storage device" in text


async def test_warm_start_when_the_settings_change(agent: Agent, trapd: Snmptrapd) -> None:
    await traps_to(agent, trapd, restart=True, SNMP__V1ReadCommunity="public2")
    await eventually(lambda: trapd.count(WARM), 10, "a warmStart trap")
    text = trapd.text()
    assert "public" in text or "UDP: [127.0.0.1]" in text


async def test_authentication_failure(agent: Agent, trapd: Snmptrapd) -> None:
    await traps_to(agent, trapd)
    await tool("snmpget", *v2c("guess", agent.port), "1.3.6.1.2.1.1.5.0")
    await eventually(lambda: trapd.count(AUTH), 10, "an authenticationFailure trap")
    # snmpEnableAuthenTraps is the same switch, written by a manager
    r = await tool("snmpset", *v2c("write", agent.port), "1.3.6.1.2.1.11.30.0", "i", "2")
    assert r.code == 0, r.out
    assert agent.device.params.get("SNMP.Trap.T0.AuthFail.Enabled") == "no"
    await tool("snmpget", *v2c("guess", agent.port), "1.3.6.1.2.1.1.5.0")
    await tool("snmpget", *v2c("public", agent.port), "1.3.6.1.2.1.1.5.0")
    assert trapd.count(AUTH) == 1


async def test_link_down_and_up(agent: Agent, trapd: Snmptrapd) -> None:
    await traps_to(agent, trapd)
    bus = agent.device.events
    bus.declare(Topic("tns1:Device/tnsaxis:Network/Lost", "Network lost", True,
                      (Item("interface"),), (Item("lost", "xsd:boolean", state=True),)))
    bus.publish("tns1:Device/tnsaxis:Network/Lost", {"interface": "eth0"}, {"lost": "1"})
    await eventually(lambda: trapd.count(LINK_DOWN), 10, "a linkDown trap")
    r = await tool("snmpget", *v2c("public", agent.port), "1.3.6.1.2.1.2.2.1.8.1")
    assert r.values()["1.3.6.1.2.1.2.2.1.8.1"] == "INTEGER: 2"
    bus.publish("tns1:Device/tnsaxis:Network/Lost", {"interface": "eth0"}, {"lost": "0"})
    await eventually(lambda: trapd.count(LINK_UP), 10, "a linkUp trap")
    assert ".1.3.6.1.2.1.2.2.1.1.1 = INTEGER: 1" in trapd.text()


async def test_storage_alarms_as_v1_traps(agent: Agent, trapd: Snmptrapd) -> None:
    await traps_to(agent, trapd, restart=True, SNMP__V2c="no")  # v1 only: SNMPv1 Trap-PDUs
    await eventually(lambda: "TRAP, SNMP v1" in trapd.text() and "Warm Start" in trapd.text(), 10,
                     "an SNMPv1 warmStart trap")
    assert "(via UDP: [127.0.0.1]" in trapd.text() and "127.0.0.1 [127.0.0.1]" in trapd.text()  # agent-addr
    disks = agent.device.hardware[DISK_HARDWARE]
    assert isinstance(disks, SimulatedDisks)
    disks.fail(1)
    await eventually(lambda: ".1.3.6.1.4.1.368.4.2 Enterprise Specific Trap (1)" in trapd.text()
                     and "RAID is degraded" in trapd.text(), 10, "an SNMPv1 alarmNew trap for the degraded RAID")
    r = await tool("snmpget", *v1("public", agent.port), "1.3.6.1.2.1.25.3.2.1.5.1", "1.3.6.1.2.1.25.3.2.1.5.11")
    values = r.values()
    assert values["1.3.6.1.2.1.25.3.2.1.5.1"] == "INTEGER: 3"  # the array: warning
    assert values["1.3.6.1.2.1.25.3.2.1.5.11"] == "INTEGER: 5"  # bay 2: down


async def test_storage_disruption_new_and_cleared(agent: Agent, trapd: Snmptrapd) -> None:
    await traps_to(agent, trapd)
    bus = agent.device.events
    disk = {"disk_id": "RAID_DISK"}
    agent.device.params.update([("Storage.S0.Locked", "yes")], Role.ADMIN,
                               "root")  # write protection disrupts recording
    await eventually(lambda: trapd.count(ALARM_NEW), 10, "an alarmNew trap")
    assert (bus.state("tnsaxis:Storage/Disruption", disk) or {}).get("disruption") == "1"
    r = await tool("snmpget", *v2c("public", agent.port), "1.3.6.1.4.1.368.4.1.8.1.3.1")
    assert r.values()["1.3.6.1.4.1.368.4.1.8.1.3.1"] == "INTEGER: 2"
    assert "Check the RAID_DISK storage device" in trapd.text()
    agent.device.params.update([("Storage.S0.Locked", "no")], Role.ADMIN,
                               "root")
    await eventually(lambda: trapd.count(ALARM_CLEARED), 10, "an alarmCleared trap")


async def test_switched_off_kinds_are_not_sent(agent: Agent, trapd: Snmptrapd) -> None:
    agent.set(**(ALL_TRAPS | dict(SNMP__Trap__T0__WarmStart__Enabled="no", SNMP__Trap__T0__AuthFail__Enabled="no")),
              SNMP__Trap__T0__Address=f"127.0.0.1:{trapd.port}")
    await tool("snmpget", *v2c("guess", agent.port), "1.3.6.1.2.1.1.5.0")
    agent.set(SNMP__Trap__Enabled="no")
    bus = agent.device.events
    agent.device.params.update([("Storage.S0.Locked", "yes")], Role.ADMIN,
                               "root")
    assert (bus.state("tnsaxis:Storage/Disruption", {"disk_id": "RAID_DISK"}) or {}).get("disruption") == "1"
    agent.set(SNMP__Trap__Enabled="yes", SNMP__Trap__T0__ColdStart__Enabled="no", SNMP__V1WriteCommunity="write2")
    await agent.running()
    # a trap that is sent after all the others: the receiver has had time for any of them
    await tool("snmpset", *v2c("write2", agent.port), "1.3.6.1.2.1.11.30.0", "i", "1")
    await tool("snmpget", *v2c("guess", agent.port), "1.3.6.1.2.1.1.5.0")
    await eventually(lambda: trapd.count(AUTH), 10, "the last authenticationFailure trap")
    assert trapd.count(AUTH) == 1 and trapd.count(WARM) == 0 and trapd.count(ALARM_NEW) == 0


async def test_unreachable_receiver_is_reported(agent: Agent) -> None:
    agent.set(**ALL_TRAPS, SNMP__Trap__T0__Address="no-such-host.invalid", SNMP__V1ReadCommunity="public2")
    await agent.running()
    running = agent.service.agent
    assert running is not None
    await eventually(lambda: running.stats.traps_failed, 15, "a failed trap")
    assert "no-such-host.invalid" in agent.service.status()["lastTrapError"]
    r = await tool("snmpget", *v2c("public2", agent.port), "1.3.6.1.2.1.1.5.0")
    assert r.code == 0
