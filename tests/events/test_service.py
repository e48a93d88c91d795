"""The event service (event instances, schedules, virtual inputs) and the action service
(templates, configurations, rules) over SOAP; refusals are faults and store nothing."""

from __future__ import annotations

import subprocess
import sys

import httpx
import pytest
from lxml import etree

from tests.conftest import client_as, eventually, make_device
from tests.peers.servers import (
    EV,
    NS,
    PORT_TOPIC,
    WSTOP,
    add_action,
    add_action_xml,
    add_rule,
    add_rule_xml,
    call,
    envelope,
    fault,
    item_filter,
    param_update,
    parse_fault,
    post,
    settle,
)
from vigil.core.events import NAMESPACES as TOPIC_NS
from vigil.device import Device
from vigil.hal.io import IO_HARDWARE

TOGGLE_ONCE = "com.axis.action.fixed.io.toggle"
TOGGLE_WHILE = "com.axis.action.unlimited.io.toggle"
VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"
INTERVAL = "tns1:UserAlarm/tnsaxis:Recurring/Interval"
PULSE = "tns1:UserAlarm/tnsaxis:Recurring/Pulse"


def stored(device: Device, table: str) -> int:
    return device.store.query(f"SELECT count(*) FROM {table}")[0][0]


async def outputs_on(admin: httpx.AsyncClient, *ports: int) -> None:
    await param_update(admin, **{f"IOPort.I{p}.Direction": "output" for p in ports})


# -- event instances ---------------------------------------------------------------------
async def test_event_instances_topic_tree(admin401: httpx.AsyncClient):
    r = await call(admin401, "<aev:GetEventInstances/>")
    topic_set = r.find("wstop:TopicSet", NS)
    port = topic_set.find(f"{{{TOPIC_NS['tns1']}}}Device/{{{TOPIC_NS['tnsaxis']}}}IO/Port")
    assert port is not None, etree.tostring(topic_set)[:500]
    assert port.get(f"{{{WSTOP}}}topic") == "true"
    assert port.get(f"{{{EV}}}NiceName")
    instance = port.find("aev:MessageInstance", NS)
    assert instance.get(f"{{{EV}}}isProperty") == "true"
    source = instance.find("aev:SourceInstance/aev:SimpleItemInstance", NS)
    assert (source.get("Name"), source.get("Type")) == ("port", "xsd:int")
    assert [v.text for v in source.iterfind("aev:Value", NS)] == [str(n) for n in range(1, 10)]
    state = instance.find("aev:DataInstance/aev:SimpleItemInstance", NS)
    assert (state.get("Name"), state.get("isPropertyState")) == ("state", "true")
    # A stateless topic has no isProperty; the ONVIF-standard trigger topic nests plainly.
    failed = topic_set.find(f"{{{TOPIC_NS['tns1']}}}Device/{{{TOPIC_NS['tnsaxis']}}}SystemMessage/ActionFailed")
    assert failed.find("aev:MessageInstance", NS).get(f"{{{EV}}}isProperty") is None
    assert topic_set.find(f"{{{TOPIC_NS['tns1']}}}Device/Trigger/DigitalInput") is not None


async def test_event_instances_on_a_device_without_io(admin):
    r = await call(admin, "<aev:GetEventInstances/>")
    topics = r.find("wstop:TopicSet", NS)
    assert topics.find(f"{{{TOPIC_NS['tns1']}}}Device/{{{TOPIC_NS['tnsaxis']}}}IO/Port") is None
    assert topics.find(f"{{{TOPIC_NS['tns1']}}}UserAlarm/{{{TOPIC_NS['tnsaxis']}}}Recurring/Interval") is not None


# -- action templates and configurations -------------------------------------------------
async def test_action_templates(admin401: httpx.AsyncClient):
    r = await call(admin401, "<aa:GetActionTemplates/>")
    templates = {t.findtext("aa:TemplateToken", namespaces=NS): t
                 for t in r.iterfind("aa:ActionTemplates/aa:ActionTemplate", NS)}
    assert {TOGGLE_ONCE, TOGGLE_WHILE, "com.axis.action.fixed.notification.http",
            "com.axis.action.fixed.notification.smtp"} <= set(templates)
    names = [p.get("Name") for p in templates[TOGGLE_ONCE].iterfind("aa:Parameters/aa:Parameter", NS)]
    assert names == ["port", "state", "duration"]
    assert templates[TOGGLE_ONCE].find("aa:RecipientTemplate", NS) is None
    smtp = templates["com.axis.action.fixed.notification.smtp"]
    assert smtp.findtext("aa:RecipientTemplate", namespaces=NS) == "com.axis.recipient.smtp"
    own = [p.get("Name") for p in smtp.iterfind("aa:Parameters/aa:Parameter", NS)]
    assert own == ["message", "subject", "recipient_id"]  # the recipient's own parameters come from its template


async def test_action_configuration_add_list_remove(w401: Device, admin401: httpx.AsyncClient):
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "8", "state": "high", "duration": "3"}, "Pulse relay")
    r = await call(admin401, "<aa:GetActionConfigurations/>")
    (config,) = r.iterfind("aa:ActionConfigurations/aa:ActionConfiguration", NS)
    assert config.findtext("aa:ConfigurationID", namespaces=NS) == str(aid)
    assert config.findtext("aa:Name", namespaces=NS) == "Pulse relay"
    assert config.findtext("aa:TemplateToken", namespaces=NS) == TOGGLE_ONCE
    await call(admin401, f"<aa:RemoveActionConfiguration><aa:ConfigurationID>{aid}</aa:ConfigurationID>"
                         "</aa:RemoveActionConfiguration>")
    assert stored(w401, "actions") == 0
    assert "removed action configuration" in w401.logs.text("audit")


@pytest.mark.parametrize("template, params, reason", [
    ("com.axis.action.fixed.teleport", {}, "Unknown action template"),
    (TOGGLE_ONCE, {"port": "99", "state": "high"}, "There is no port 99"),
    (TOGGLE_ONCE, {"port": "1", "colour": "red"}, "has no parameter(s) colour"),
    (TOGGLE_ONCE, {"port": "1", "state": "sideways"}, "state must be high"),
])
async def test_bad_action_configurations_store_nothing(w401, admin401, template, params, reason):
    f = await fault(admin401, add_action_xml(template, params))
    assert f.code == "SOAP-ENV:Sender" and reason in f.reason
    assert stored(w401, "actions") == 0 and not w401.rules.actions


async def test_remove_unknown_or_used_action(w401, admin401):
    f = await fault(admin401, "<aa:RemoveActionConfiguration><aa:ConfigurationID>5</aa:ConfigurationID>"
                              "</aa:RemoveActionConfiguration>")
    assert "Unknown action configuration 5" in f.reason
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_WHILE, {"port": "1", "state": "high"})
    await add_rule(admin401, "r", aid, conditions=((VIRTUAL, item_filter(port="1", active="1")),))
    f = await fault(admin401, f"<aa:RemoveActionConfiguration><aa:ConfigurationID>{aid}</aa:ConfigurationID>"
                              "</aa:RemoveActionConfiguration>")
    assert "is used by rule(s): r" in f.reason
    assert stored(w401, "actions") == 1


# -- rules -------------------------------------------------------------------------------
async def test_rule_round_trip(w401, admin401):
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high", "duration": "1"})
    start = (PORT_TOPIC, item_filter(port="1", state="1"))
    await call(admin401, "<aev:AddScheduledEvent><aev:NewScheduledEvent><aev:Name>Always</aev:Name><aev:Schedule>"
                         "<aev:ICalendar>DTSTART:20000101T000000 DTEND:20991231T000000</aev:ICalendar></aev:Schedule>"
                         "</aev:NewScheduledEvent></aev:AddScheduledEvent>")
    conditions = ((VIRTUAL, item_filter(port="3", active="1")), (INTERVAL, item_filter(id="S0", active="1")))
    rid = await add_rule(admin401, "Round trip", aid, start=start, conditions=conditions, timeout="PT1M5S",
                         enabled=False)
    r = await call(admin401, "<aa:GetActionRules/>")
    (rule,) = r.iterfind("aa:ActionRules/aa:ActionRule", NS)
    assert rule.findtext("aa:RuleID", namespaces=NS) == str(rid)
    assert rule.findtext("aa:Name", namespaces=NS) == "Round trip"
    assert rule.findtext("aa:Enabled", namespaces=NS) == "false"
    assert rule.findtext("aa:StartEvent/wsnt:TopicExpression", namespaces=NS) == PORT_TOPIC
    assert rule.findtext("aa:StartEvent/wsnt:MessageContent", namespaces=NS) == start[1]
    got = [(c.findtext("wsnt:TopicExpression", namespaces=NS), c.findtext("wsnt:MessageContent", namespaces=NS))
           for c in rule.iterfind("aa:Conditions/aa:Condition", NS)]
    assert got == list(conditions)
    assert rule.findtext("aa:ActivationTimeout", namespaces=NS) == "PT65S"
    assert rule.findtext("aa:PrimaryAction", namespaces=NS) == str(aid)
    assert w401.rules.rules[rid].wait == 65
    # The text returned is accepted again as is.
    again = etree.tostring(rule.find("aa:StartEvent", NS)).decode()
    body = (f"<aa:AddActionRule><aa:NewActionRule><aa:Name>copy</aa:Name>{again}"
            f"<aa:PrimaryAction>{aid}</aa:PrimaryAction></aa:NewActionRule></aa:AddActionRule>")
    await call(admin401, body)
    await call(admin401, f"<aa:RemoveActionRule><aa:RuleID>{rid}</aa:RuleID></aa:RemoveActionRule>")
    assert [r.name for r in w401.rules.rules.values()] == ["copy"]


async def test_topic_prefixes_are_resolved_through_namespaces(w401, admin401):
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    for n, (decl, text) in enumerate([
        ('xmlns:o="http://www.onvif.org/ver10/topics" xmlns:x="http://www.axis.com/2009/event/topics"',
         "o:Device/x:IO/x:Port"),
        ("", "onvif:Device/axis:IO/Port"),
        ("", "tns1:Device/tnsaxis:IO/tnsaxis:Port//."),
    ]):
        body = (f"<aa:AddActionRule><aa:NewActionRule><aa:Name>n{n}</aa:Name><aa:StartEvent>"
                f'<wsnt:TopicExpression {decl} Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">'
                f"{text}</wsnt:TopicExpression></aa:StartEvent><aa:PrimaryAction>{aid}</aa:PrimaryAction>"
                f"</aa:NewActionRule></aa:AddActionRule>")
        await call(admin401, body)
    assert {r.trigger.topic for r in w401.rules.rules.values()} == {PORT_TOPIC}


BAD_RULES = [
    ({"start": ("tns1:Device/tnsaxis:IO/Teleport", "")}, "Unknown event topic"),
    ({"start": ("tns1:Device/tnsaxis:IO/Port|tns1:Device/Trigger/Relay", "")}, "alternatives"),
    ({"start": ("tns1:Device//.", "")}, "wildcards are not supported"),
    ({"start": ("zz:Device/IO/Port", "")}, "prefix 'zz' is not declared"),
    ({"start": (PORT_TOPIC, item_filter(port="42"))}, "has no port '42'"),
    ({"start": (PORT_TOPIC, item_filter(colour="red"))}, "has no item 'colour'"),
    ({"start": (PORT_TOPIC, item_filter(state="maybe"))}, "is a boolean"),
    ({"start": (PORT_TOPIC, 'boolean(//SimpleItem[@Name="port" and @Value="1"]) or x')}, "joined with"),
    ({"start": (PORT_TOPIC, "count(//SimpleItem) > 1")}, "is not supported"),
    ({"start": (PORT_TOPIC, item_filter(port="1") + " and " + item_filter(port="1"))}, "more than once"),
    ({"start": (PORT_TOPIC, 'not(boolean(//SimpleItem[@Name="port" and @Value="1"]))')}, "only supported around"),
    ({"conditions": (("tns1:Device/tnsaxis:SystemMessage/ActionFailed", ""),)}, "stateless event"),
    ({"conditions": ((VIRTUAL, item_filter(port="33")),)}, "has no port '33'"),
    ({"conditions": ((INTERVAL, item_filter(id="nope")),)}, "has no schedule 'nope'"),
    ({}, "needs at least one condition"),
]


@pytest.mark.parametrize("parts, reason", BAD_RULES)
async def test_bad_rules_are_faults_and_store_nothing(w401, admin401, parts, reason):
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    f = await fault(admin401, add_rule_xml("bad", aid, **parts))
    assert f.code == "SOAP-ENV:Sender", f
    assert reason in f.reason, f.reason
    assert stored(w401, "rules") == 0 and not w401.rules.rules


async def test_rule_references_and_shape_errors(w401, admin401):
    start = (PORT_TOPIC, item_filter(port="1"))
    f = await fault(admin401, add_rule_xml("r", 42, start=start))
    assert "Unknown action configuration 42" in f.reason
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    f = await fault(admin401, add_rule_xml("", aid, start=start))
    assert "needs a Name" in f.reason
    f = await fault(admin401, add_rule_xml("r", aid, start=start, timeout="soon"))
    assert "xsd:duration" in f.reason
    body = add_rule_xml("r", aid, start=start).replace("<aa:PrimaryAction>",
                                                       "<aa:FailoverAction>3</aa:FailoverAction><aa:PrimaryAction>")
    assert "failover" in (await fault(admin401, body)).reason
    f = await fault(admin401, add_rule_xml("r", aid, start=start).replace("true</aa:Enabled>", "yes</aa:Enabled>"))
    assert "Enabled must be true or false" in f.reason
    f = await fault(admin401, add_rule_xml("r", aid, start=start).replace("ConcreteSet", "XPath"))
    assert "dialect" in f.reason
    f = await fault(admin401, "<aa:RemoveActionRule><aa:RuleID>9</aa:RuleID></aa:RemoveActionRule>")
    assert "Unknown rule 9" in f.reason
    assert stored(w401, "rules") == 0


async def test_the_257th_rule_is_refused(w401, admin401):
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    for n in range(256):
        await add_rule(admin401, f"rule {n}", aid, conditions=((VIRTUAL, item_filter(port=str(n % 32 + 1),
                                                                                    active="1")),))
    f = await fault(admin401, add_rule_xml("one too many", aid, start=(PORT_TOPIC, item_filter(port="1"))))
    assert f.code == "SOAP-ENV:Sender" and "At most 256 rules" in f.reason
    assert stored(w401, "rules") == 256 and len(w401.rules.rules) == 256


async def test_inverted_condition_written_as_the_opposite_state(w401, admin401):
    """VAPIX has no invert flag: "input 1 inactive" is state=0; not(...) is read as an inversion."""
    io = w401.hardware[IO_HARDWARE]
    await outputs_on(admin401, 1, 2)
    on1 = await add_action(admin401, TOGGLE_WHILE, {"port": "1", "state": "high"})
    on2 = await add_action(admin401, TOGGLE_WHILE, {"port": "2", "state": "high"})
    await add_rule(admin401, "input 1 inactive", on1, conditions=((PORT_TOPIC, item_filter(port="1", state="0")),))
    not_active = 'boolean(//SimpleItem[@Name="port" and @Value="1"]) and ' \
                 'not(boolean(//SimpleItem[@Name="state" and @Value="1"]))'
    await add_rule(admin401, "not input 1 active", on2, conditions=((PORT_TOPIC, not_active),))
    rule2 = next(r for r in w401.rules.rules.values() if r.name == "not input 1 active")
    assert rule2.conditions[0].invert and ("state", "1") in rule2.conditions[0].items
    await settle()
    assert io.output(1) == io.output(2) == "closed"  # input 1 reads inactive: both rules active
    io.set_input(0, "closed")  # Input.Trig=closed by default: a closed loop is active
    await eventually(lambda: io.output(1) == io.output(2) == "open", what="both rules to stop")
    r = await call(admin401, "<aa:GetActionRules/>")
    contents = [c.text for c in r.iterfind("aa:ActionRules/aa:ActionRule/aa:Conditions/aa:Condition/"
                                           "wsnt:MessageContent", NS)]
    assert contents == [item_filter(port="1", state="0")] * 2


async def test_rules_survive_a_restart(tmp_path, clock, w401, admin401):
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_WHILE, {"port": "1", "state": "high"})
    await add_rule(admin401, "virtual 5", aid, conditions=((VIRTUAL, item_filter(port="5", active="1")),))
    w401.close()
    again = make_device(tmp_path, clock, "w401")
    try:
        async with client_as(again, "admin") as c:
            r = await call(c, "<aa:GetActionRules/>")
            assert r.findtext("aa:ActionRules/aa:ActionRule/aa:Name", namespaces=NS) == "virtual 5"
            await call(c, "<aev:ChangeVirtualInputState><aev:port>5</aev:port><aev:active>1</aev:active>"
                          "</aev:ChangeVirtualInputState>")
            await eventually(lambda: again.hardware[IO_HARDWARE].output(1) == "closed", what="the restored rule to act")
    finally:
        again.close()


# -- virtual inputs ----------------------------------------------------------------------
async def test_change_virtual_input_state(w401, admin401):
    body = "<aev:ChangeVirtualInputState><aev:port>3</aev:port><aev:active>{}</aev:active></aev:ChangeVirtualInputState>"
    r = await call(admin401, body.format("true"))
    assert r.findtext("aev:stateChanged", namespaces=NS) == "true"
    assert w401.events.state(VIRTUAL, {"port": "3"}) == {"active": "1"}
    r = await call(admin401, body.format("1"))
    assert r.findtext("aev:stateChanged", namespaces=NS) == "false"
    r = await call(admin401, body.format("false"))
    assert r.findtext("aev:stateChanged", namespaces=NS) == "true"
    f = await fault(admin401, body.format("1").replace(">3<", ">99<"))
    assert "numbered 1 to 32" in f.reason
    f = await fault(admin401, body.format("perhaps"))
    assert "active must be true or false" in f.reason
    async with client_as(w401, "operator") as operator:
        assert (await post(operator, body.format("1"))).status_code == 200


async def test_virtual_inputs_without_io(device, admin):
    """The S3016 has no I/O ports, and its manual triggers work all the same."""
    r = await call(admin, "<aev:ChangeVirtualInputState><aev:port>1</aev:port><aev:active>1</aev:active>"
                          "</aev:ChangeVirtualInputState>")
    assert r.findtext("aev:stateChanged", namespaces=NS) == "true"
    assert device.events.state(VIRTUAL, {"port": "1"}) == {"active": "1"}


# -- schedules ---------------------------------------------------------------------------
def schedule_xml(name: str, ical: str, event_id: str = "") -> str:
    eid = f"<aev:EventID>{event_id}</aev:EventID>" if event_id else ""
    return (f"<aev:AddScheduledEvent><aev:NewScheduledEvent>{eid}<aev:Name>{name}</aev:Name><aev:Schedule>"
            f"<aev:ICalendar>{ical}</aev:ICalendar></aev:Schedule></aev:NewScheduledEvent></aev:AddScheduledEvent>")


async def test_scheduled_events_add_list_remove(w401, admin401):
    # The page's own example, on one line with colons in the times.
    r = await call(admin401, schedule_xml("My schedule",
                                          "DTSTART:20111212T06:00 DTEND:20111212T09:00 RRULE:FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"))
    sid = r.findtext("aev:EventID", namespaces=NS)
    await call(admin401, schedule_xml("Every 5 minutes", "DTSTART:20240101T000000\nRRULE:FREQ=MINUTELY;INTERVAL=5",
                                      "com.axis.schedules.genid.id-7"))
    r = await call(admin401, "<aev:GetScheduledEvents/>")
    events = {e.findtext("aev:EventID", namespaces=NS): e for e in r.iterfind("aev:ScheduledEvents/aev:ScheduledEvent", NS)}
    assert set(events) == {sid, "com.axis.schedules.genid.id-7"}
    assert events[sid].findtext("aev:Name", namespaces=NS) == "My schedule"
    assert "DTSTART:20111212T0600" in events[sid].findtext("aev:Schedule/aev:ICalendar", namespaces=NS)
    r = await call(admin401, "<aev:GetScheduledEvents><aev:ScheduleFilter><aev:ScheduleType>Pulse</aev:ScheduleType>"
                             "</aev:ScheduleFilter></aev:GetScheduledEvents>")
    assert [e.findtext("aev:EventID", namespaces=NS) for e in r.iterfind("aev:ScheduledEvents/aev:ScheduledEvent", NS)] \
        == ["com.axis.schedules.genid.id-7"]
    # Event instances list the schedules with their names.
    r = await call(admin401, "<aev:GetEventInstances/>")
    values = r.findall(f".//{{{TOPIC_NS['tnsaxis']}}}Recurring/Interval//aev:Value", NS)
    assert [(v.text, v.get(f"{{{EV}}}NiceName")) for v in values] == [(sid, "My schedule")]
    await call(admin401, f"<aev:RemoveScheduledEvent><aev:EventID>{sid}</aev:EventID></aev:RemoveScheduledEvent>")
    assert stored(w401, "schedules") == 1
    f = await fault(admin401, f"<aev:RemoveScheduledEvent><aev:EventID>{sid}</aev:EventID></aev:RemoveScheduledEvent>")
    assert "Unknown scheduled event" in f.reason


@pytest.mark.parametrize("name, ical, reason", [
    ("x", "RRULE:FREQ=DAILY", "needs DTSTART"),
    ("x", "DTSTART:20240101T100000 DTEND:20240101T090000", "DTEND must come after DTSTART"),
    ("x", "DTSTART:20240101T100000 RRULE:FREQ=SOMETIMES", "bad RRULE"),
    ("", "DTSTART:20240101T100000", "needs a Name"),
])
async def test_bad_schedules_store_nothing(w401, admin401, name, ical, reason):
    f = await fault(admin401, schedule_xml(name, ical))
    assert f.code == "SOAP-ENV:Sender" and reason in f.reason
    assert stored(w401, "schedules") == 0


async def test_schedule_as_a_condition(w401, admin401, clock):
    """An interval schedule holds an output while it is active; the FakeClock moves time."""
    io = w401.hardware[IO_HARDWARE]
    await outputs_on(admin401, 1, 2)
    # The fake clock starts at 2023-11-14 22:13:20 UTC (a Tuesday).
    r = await call(admin401, schedule_xml("Night shift", "DTSTART:20231114T230000 DTEND:20231114T233000 "
                                                         "RRULE:FREQ=DAILY"))
    night = r.findtext("aev:EventID", namespaces=NS)
    hold = await add_action(admin401, TOGGLE_WHILE, {"port": "1", "state": "high"})
    await add_rule(admin401, "Light at night", hold, conditions=((INTERVAL, item_filter(id=night, active="1")),))
    # A pulse every 5 minutes as the trigger of a fixed action.
    r = await call(admin401, schedule_xml("Every 5 min", "DTSTART:20231114T000000 RRULE:FREQ=MINUTELY;INTERVAL=5"))
    pulse = r.findtext("aev:EventID", namespaces=NS)
    once = await add_action(admin401, TOGGLE_ONCE, {"port": "2", "state": "high"})
    await add_rule(admin401, "Heartbeat", once, start=(PULSE, item_filter(id=pulse)))
    await settle()
    assert io.output(1) == "open" and io.output(2) == "open"

    clock.advance(50 * 60)  # 23:03:20: inside the schedule, and a pulse at 22:15 ... 23:00 passed
    w401.schedules.tick()
    await eventually(lambda: io.output(1) == "closed", what="the schedule to start the action")
    await eventually(lambda: io.output(2) == "closed", what="the pulse to trigger")
    clock.advance(30 * 60)  # 23:33:20: the occurrence is over
    w401.schedules.tick()
    await eventually(lambda: io.output(1) == "open", what="the schedule to stop the action")
    f = await fault(admin401, f"<aev:RemoveScheduledEvent><aev:EventID>{night}</aev:EventID>"
                              "</aev:RemoveScheduledEvent>")
    assert "is used by rule(s)" in f.reason and stored(w401, "schedules") == 2


async def test_soap11_add_rule_works_too(w401, admin401):
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    r = await post(admin401, envelope(add_rule_xml("eleven", aid, start=(PORT_TOPIC, item_filter(port="2"))), "1.1"),
                   version="1.1")
    assert r.status_code == 200 and b"RuleID" in r.content


# -- filters, directly ---------------------------------------------------------------------
def test_inverted_conditions_render_with_the_opposite_or_not(w401):
    from vigil.core.rules import Condition
    from vigil.features.events import filters

    bus = w401.events
    relay = bus.topic("tns1:Device/Trigger/Relay")
    digital = bus.topic("tns1:Device/Trigger/DigitalInput")
    supervised = bus.topic("tns1:Device/tnsaxis:IO/SupervisedPort")
    port = bus.topic(PORT_TOPIC)
    assert filters.render_items(Condition(relay.topic, (("RelayToken", "8"),), True), relay) == \
        'boolean(//SimpleItem[@Name="RelayToken" and @Value="8"]) and ' \
        'boolean(//SimpleItem[@Name="LogicalState" and @Value="inactive"])'
    assert filters.render_items(Condition(digital.topic, (), True), digital).endswith('@Value="false"])')
    assert filters.render_items(Condition(port.topic, (("port", "1"),), True), port).endswith('@Value="0"])')
    inverted = Condition(supervised.topic, (("port", "1"), ("tampered", "1")), True)
    assert filters.render_items(inverted, supervised).endswith('@Name="tampered" and @Value="0"])')
    # Parsing gives back what the engine needs.
    items, invert = filters.parse_items('not(boolean(//SimpleItem[@Name="tampered" and @Value=\'1\']))', supervised)
    assert items == (("tampered", "1"),) and invert


def test_ical_one_line_form_is_normalised():
    from vigil.features.events.service import format_duration, normalize_ical, parse_duration

    assert normalize_ical("DTSTART:20111212T06:00 DTEND:20111212T09:00 RRULE:FREQ=WEEKLY;BYDAY=MO,TU") == \
        "DTSTART:20111212T0600\nDTEND:20111212T0900\nRRULE:FREQ=WEEKLY;BYDAY=MO,TU"
    assert normalize_ical("BEGIN:VEVENT\r\nDTSTART:2024-01-01T10:00:00\r\nEND:VEVENT") == \
        "BEGIN:VEVENT\nDTSTART:20240101T100000\nEND:VEVENT"
    assert parse_duration("PT1H2M3S") == 3723 and parse_duration("P1D") == 86400 and parse_duration("30") == 30
    assert format_duration(65) == "PT65S" and format_duration(1.5) == "PT1.5S"


# -- refusals of numbers and text that are not what they claim (probe findings 4, 5, 14) -----
@pytest.mark.parametrize("timeout", ["NaN", "nan", "inf", "-inf", "1e309", "-5", "86401"])
async def test_activation_timeout_must_be_a_finite_number_of_seconds(w401, admin401, timeout):
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    f = await fault(admin401, add_rule_xml("timeout", aid, start=(PORT_TOPIC, item_filter(port="1")), timeout=timeout))
    assert f.code == "SOAP-ENV:Sender" and "Wait between actions must be 0 to 86400 seconds" in f.reason, f.reason
    assert stored(w401, "rules") == 0
    assert (await post(admin401, envelope("<aa:GetActionRules/>"))).status_code == 200


async def test_get_action_rules_works_after_a_nan_wait_was_stored(tmp_path, clock, w401, admin401):
    """What an older version stored (ActivationTimeout NaN) no longer breaks the rule listing."""
    await outputs_on(admin401, 1)
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    rid = await add_rule(admin401, "nan", aid, start=(PORT_TOPIC, item_filter(port="1")), timeout="PT5S")
    (body,) = w401.store.query("SELECT body FROM rules")[0]
    with w401.store.transaction() as db:
        db.execute("UPDATE rules SET body=?", (body.replace('"wait": 5.0', '"wait": NaN'),))
    w401.close()
    again = make_device(tmp_path, clock, "w401")
    try:
        async with client_as(again, "admin") as admin:
            r = await call(admin, "<aa:GetActionRules/>")
            (rule,) = r.iterfind("aa:ActionRules/aa:ActionRule", NS)
            assert rule.findtext("aa:RuleID", namespaces=NS) == str(rid)
            assert rule.find("aa:ActivationTimeout", NS) is None  # repaired to no wait
    finally:
        again.close()


async def test_huge_numbers_in_rules_schedules_and_triggers_are_sender_faults(w401, admin401):
    huge = "9" * 5000
    aid = await add_action(admin401, TOGGLE_ONCE, {"port": "1", "state": "high"})
    for body in (add_rule_xml("r", aid, start=(PORT_TOPIC, item_filter(port="1")), timeout=f"P{huge}D"),
                 add_rule_xml("r", aid, start=(PORT_TOPIC, item_filter(port="1"))).replace(
                     f"<aa:PrimaryAction>{aid}<", f"<aa:PrimaryAction>{huge}<"),
                 schedule_xml("s", f"DTSTART:20240101T000000\nDURATION:P{huge}W"),
                 f"<aa:RemoveActionRule><aa:RuleID>{huge}</aa:RuleID></aa:RemoveActionRule>",
                 f"<aev:ChangeVirtualInputState><aev:port>{huge}</aev:port><aev:active>1</aev:active>"
                 "</aev:ChangeVirtualInputState>"):
        r = await post(admin401, envelope(body))
        f = parse_fault(r)
        assert (r.status_code, f.code) == (400, "SOAP-ENV:Sender"), f.reason
        assert len(f.reason) < 400  # the huge value is not echoed back
    assert stored(w401, "rules") == 0 and stored(w401, "schedules") == 0


async def test_ical_text_is_limited(w401, admin401):
    """The probe's ReDoS text: refused for its size before any parsing."""
    f = await fault(admin401, schedule_xml("r", "DTSTART:19700101T080000" + " " * 32_000 + "x"))
    assert f.code == "SOAP-ENV:Sender" and "at most 8192" in f.reason, f.reason
    assert stored(w401, "schedules") == 0


def test_ical_splitting_is_linear():
    """Splitting iCalendar text into properties is one pass: two million blanks before a non-property
    take well under a second here, where the old backtracking split took 15 s for 32,000 (quadratic:
    hours for this text). The bound is a ceiling the old code exceeds by orders of magnitude."""
    code = ("import vigil.features.events.service as s; s.MAX_ICAL = 10**9; "
            "out = s.normalize_ical('DTSTART:19700101T080000' + ' ' * 2_000_000 + 'x'); "
            "assert out == 'DTSTART:19700101T080000' + ' ' * 2_000_000 + 'x', out[:80]")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_ical_properties_split_at_blanks_before_a_property_name_only():
    from vigil.features.events.service import split_properties

    assert split_properties("SUMMARY:Night shift  DTSTART:20240101T2200 \\n RRULE:FREQ=DAILY\r\n\r\nEND:VEVENT") == [
        "SUMMARY:Night shift", "DTSTART:20240101T2200", "RRULE:FREQ=DAILY", "END:VEVENT"]
    assert split_properties("SUMMARY:a DTSTARTX b") == ["SUMMARY:a DTSTARTX b"]
