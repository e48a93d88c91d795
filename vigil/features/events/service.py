"""`POST /vapix/services`: the VAPIX event service (event1) and action service (action1).

SOAP 1.2 (`application/soap+xml`) or SOAP 1.1 (`text/xml` + SOAPAction); the operation is
the Body element's namespace and name. Roles: GetEventInstances viewer; the other listings
and ChangeVirtualInputState (like virtualinput/activate.cgi) operator; every change admin.

event1 (http://www.axis.com/vapix/ws/event1):
    GetEventInstances, GetScheduledEvents [ScheduleFilter/ScheduleType Interval|Pulse],
    AddScheduledEvent (NewScheduledEvent: Name, Schedule/ICalendar, optional EventID) -> EventID,
    RemoveScheduledEvent (EventID), ChangeVirtualInputState (port, active) -> stateChanged
action1 (http://www.axis.com/vapix/ws/action1):
    GetActionTemplates, GetActionConfigurations, AddActionConfiguration -> ConfigurationID,
    RemoveActionConfiguration, GetActionRules, AddActionRule -> RuleID, RemoveActionRule,
    GetRecipientTemplates, GetRecipientConfigurations, AddRecipientConfiguration ->
    ConfigurationID, RemoveRecipientConfiguration, and (Vigil, the web page's Test button)
    TestRecipientConfiguration with either ConfigurationID (a stored recipient) or
    NewRecipientConfiguration (settings not saved yet): an empty response when the test
    message was delivered, a Receiver fault with the reason when it was not.

Every refusal is a SOAP Fault: Sender for a wrong request (malformed XML, unknown operation,
topic, item value, recipient, action or rule id, limits), Receiver when the device could not
do it (delivery failed, internal error). A request is validated in full before anything is
stored. A schedule or recipient still used by a rule or action cannot be removed.
ICalendar text may use the page's one-line form ("DTSTART:20111212T06:00 DTEND:... RRULE:...").
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from lxml import etree
from starlette.requests import Request
from starlette.responses import Response

from vigil.core.auth import Principal
from vigil.core.events import NAMESPACES as TOPIC_NAMESPACES
from vigil.core.events import Topic
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.core.rules import Condition, Rule, RuleError
from vigil.core.schedules import INTERVAL, PULSE, ScheduleError
from vigil.features import notify
from vigil.features.events import filters
from vigil.features.events.recipients import (
    NOTIFICATION_ACTIONS,
    NUMERIC,
    RECIPIENT_TEMPLATES,
    NotificationActions,
    RecipientConfigError,
    RecipientStore,
    seal_params,
    shown_params,
    to_recipient,
)
from vigil.features.io.service import IO_SERVICE, IOError_
from vigil.http.routing import refuse
from vigil.http.soap import (
    NAMESPACES,
    SoapMessage,
    SoapService,
    bool_of,
    child,
    children,
    element,
    int_of,
    receiver,
    sender,
    text_of,
)

if TYPE_CHECKING:
    from vigil.device import Device

EV = NAMESPACES["aev"]
AA = NAMESPACES["aa"]
PATH = "/vapix/services"
_DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
_ICAL_SPLIT = re.compile(r"(?:\r?\n|\\n)+|\s+(?=(?:BEGIN|END|DTSTART|DTEND|DURATION|RRULE|EXDATE|RDATE|UID|"
                         r"SUMMARY|DTSTAMP)[;:])")
_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _name(value: str | None, what: str, required: bool = False) -> str:
    value = (value or "").strip()
    if required and not value:
        raise sender(f"{what} needs a Name")
    if len(value) > 128 or any(ord(c) < 32 for c in value):
        raise sender(f"{what}: the name must be at most 128 characters, without control characters")
    return value


def _params(parent: etree._Element, ns: str) -> dict[str, str]:
    out: dict[str, str] = {}
    holder = child(parent, "Parameters", ns)
    if holder is None:
        return out
    for p in children(holder, "Parameter", ns):
        name = (p.get("Name") or "").strip()
        if not name:
            raise sender("Every Parameter needs a Name attribute")
        if name in out:
            raise sender(f"Parameter {name} is given more than once")
        value = p.get("Value")
        out[name] = value if value is not None else (p.text or "")
    return out


def _parameter_list(parent: etree._Element, params: dict[str, str] | tuple[str, ...], with_values: bool) -> None:
    holder = element("aa:Parameters", parent=parent)
    if with_values:
        assert isinstance(params, dict)
        for name, value in params.items():
            element("aa:Parameter", attrib={"Name": name, "Value": value}, parent=holder)
    else:
        for name in params:
            element("aa:Parameter", attrib={"Name": name, "Type": "xsd:int" if name in NUMERIC else "xsd:string"},
                    parent=holder)


def parse_duration(text: str) -> float:
    text = text.strip()
    try:
        return float(text)
    except ValueError:
        pass
    m = _DURATION.match(text)
    if not m or text in ("P", "PT"):
        raise sender(f"ActivationTimeout {text!r} is not an xsd:duration such as PT30S")
    d, h, mi, s = m.groups()
    return int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def format_duration(seconds: float) -> str:
    return f"PT{int(seconds)}S" if seconds == int(seconds) else f"PT{seconds:g}S"


def normalize_ical(text: str) -> str:
    """One property per line; DTSTART/DTEND values without separators (20111212T0600)."""
    lines = []
    for raw in _ICAL_SPLIT.split(text.strip()):
        line = raw.strip()
        if not line:
            continue
        name, sep, value = line.partition(":")
        if sep and name.split(";")[0].upper() in ("DTSTART", "DTEND"):
            date, t, clock = value.partition("T")
            line = f"{name}:{date.replace('-', '')}{t}{clock.replace(':', '')}"
        lines.append(line)
    return "\n".join(lines)


class EventServices:
    def __init__(self, device: Device, recipients: RecipientStore, notifications: NotificationActions) -> None:
        self.device = device
        self.recipients = recipients
        self.notifications = notifications
        self.soap = SoapService()
        ops = self.soap.add
        ops(EV, "GetEventInstances", Role.VIEWER, self.get_event_instances)
        ops(EV, "GetScheduledEvents", Role.OPERATOR, self.get_scheduled_events)
        ops(EV, "AddScheduledEvent", Role.ADMIN, self.add_scheduled_event)
        ops(EV, "RemoveScheduledEvent", Role.ADMIN, self.remove_scheduled_event)
        ops(EV, "ChangeVirtualInputState", Role.OPERATOR, self.change_virtual_input)
        ops(AA, "GetActionTemplates", Role.OPERATOR, self.get_action_templates)
        ops(AA, "GetActionConfigurations", Role.OPERATOR, self.get_action_configurations)
        ops(AA, "AddActionConfiguration", Role.ADMIN, self.add_action_configuration)
        ops(AA, "RemoveActionConfiguration", Role.ADMIN, self.remove_action_configuration)
        ops(AA, "GetActionRules", Role.OPERATOR, self.get_action_rules)
        ops(AA, "AddActionRule", Role.ADMIN, self.add_action_rule)
        ops(AA, "RemoveActionRule", Role.ADMIN, self.remove_action_rule)
        ops(AA, "GetRecipientTemplates", Role.OPERATOR, self.get_recipient_templates)
        ops(AA, "GetRecipientConfigurations", Role.OPERATOR, self.get_recipient_configurations)
        ops(AA, "AddRecipientConfiguration", Role.ADMIN, self.add_recipient_configuration)
        ops(AA, "RemoveRecipientConfiguration", Role.ADMIN, self.remove_recipient_configuration)
        ops(AA, "TestRecipientConfiguration", Role.ADMIN, self.test_recipient_configuration)

    def register(self) -> None:
        async def handle(request: Request, who: Principal) -> Response:
            return await self.soap.handle(request, who, refuse)

        self.device.router.add(PATH, handle, self.soap.min_role, methods=("POST",), kind="xml")

    # -- event1: event instances ---------------------------------------------------------
    async def get_event_instances(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aev:GetEventInstancesResponse")
        topic_set = element("wstop:TopicSet", parent=response)
        nodes: dict[tuple[str, ...], etree._Element] = {}
        for topic in self.device.events.topics():
            parent, path = topic_set, ()
            for segment in topic.topic.split("/"):
                prefix, sep, local = segment.partition(":")
                if sep and prefix in TOPIC_NAMESPACES:
                    tag = f"{{{TOPIC_NAMESPACES[prefix]}}}{local}"
                else:
                    tag = local if sep else segment
                path += (tag,)
                node = nodes.get(path)
                if node is None:
                    node = nodes[path] = etree.SubElement(parent, tag)
                parent = node
            self._message_instance(parent, topic)
        return response

    def _message_instance(self, node: etree._Element, topic: Topic) -> None:
        node.set(f"{{{NAMESPACES['wstop']}}}topic", "true")
        node.set(f"{{{EV}}}NiceName", topic.nice)
        instance = element("aev:MessageInstance", parent=node)
        if topic.stateful:
            instance.set(f"{{{EV}}}isProperty", "true")
        state = filters.state_item(topic) if topic.stateful else None
        for kind, items in (("aev:SourceInstance", topic.source), ("aev:DataInstance", topic.data)):
            if not items:
                continue
            holder = element(kind, parent=instance)
            for item in items:
                simple = element("aev:SimpleItemInstance", parent=holder,
                                 attrib={"aev:NiceName": item.nice or item.name, "Type": item.type, "Name": item.name})
                if kind == "aev:DataInstance" and item.name == state:
                    simple.set("isPropertyState", "true")
                for value in item.values:
                    v = element("aev:Value", value, parent=simple)
                    nice = self._value_nice(topic, item.name, value)
                    if nice:
                        v.set(f"{{{EV}}}NiceName", nice)
        if not topic.stateful and not topic.source and not topic.data:
            instance.set(f"{{{EV}}}isProperty", "false")  # never an empty MessageInstance: clients index it

    def _value_nice(self, topic: Topic, item: str, value: str) -> str:
        if topic.topic in (INTERVAL, PULSE) and item == "id":
            schedule = self.device.schedules.schedules.get(value)
            return schedule.name if schedule else ""
        return ""

    # -- event1: schedules ---------------------------------------------------------------
    async def get_scheduled_events(self, msg: SoapMessage, who: Principal) -> etree._Element:
        kind = ""
        flt = child(msg.body, "ScheduleFilter", EV)
        if flt is not None:
            kind = (text_of(flt, "ScheduleType", EV) or "").lower()
            if kind not in ("", "interval", "pulse"):
                raise sender(f"ScheduleType must be Interval or Pulse, not {kind!r}")
        response = element("aev:GetScheduledEventsResponse")
        holder = element("aev:ScheduledEvents", parent=response)
        for sid in sorted(self.device.schedules.schedules):
            schedule = self.device.schedules.schedules[sid]
            if kind and (kind == "pulse") != schedule.pulse:
                continue
            event = element("aev:ScheduledEvent", parent=holder)
            element("aev:EventID", sid, parent=event)
            element("aev:Name", schedule.name, parent=event)
            element("aev:ICalendar", schedule.ical, parent=element("aev:Schedule", parent=event))
        return response

    async def add_scheduled_event(self, msg: SoapMessage, who: Principal) -> etree._Element:
        new = child(msg.body, "NewScheduledEvent", EV)
        if new is None:
            raise sender("AddScheduledEvent needs a NewScheduledEvent")
        name = _name(text_of(new, "Name", EV), "The scheduled event", required=True)
        schedule = child(new, "Schedule", EV)
        ical = text_of(schedule, "ICalendar", EV) if schedule is not None else None
        if not ical:
            raise sender("NewScheduledEvent needs Schedule/ICalendar")
        wanted = text_of(new, "EventID", EV) or None
        if wanted is not None and not _ID.match(wanted):
            raise sender(f"EventID {wanted!r}: use 1 to 64 letters, digits, '.', '_' or '-'")
        try:
            added = self.device.schedules.add(name, normalize_ical(ical), who.name, wanted)
        except ScheduleError as err:
            raise sender(str(err)) from None
        response = element("aev:AddScheduledEventResponse")
        element("aev:EventID", added.id, parent=response)
        return response

    async def remove_scheduled_event(self, msg: SoapMessage, who: Principal) -> etree._Element:
        sid = text_of(msg.body, "EventID", EV, required=True) or ""
        if sid not in self.device.schedules.schedules:
            raise sender(f"Unknown scheduled event {sid!r}")
        users = [f"{r.id} ({r.name})" for r in self.device.rules.rules.values()
                 if any(c.topic in (INTERVAL, PULSE) and ("id", sid) in c.items
                        for c in r.conditions + ((r.trigger,) if r.trigger else ()))]
        if users:
            raise sender(f"Scheduled event {sid} is used by rule(s) {', '.join(users)}; remove them first")
        try:
            self.device.schedules.remove(sid, who.name)
        except ScheduleError as err:
            raise sender(str(err)) from None
        return element("aev:RemoveScheduledEventResponse")

    # -- event1: virtual inputs ----------------------------------------------------------
    async def change_virtual_input(self, msg: SoapMessage, who: Principal) -> etree._Element:
        io = self.device.features.get(IO_SERVICE)
        if io is None:
            raise sender("This device has no virtual inputs")
        raw = text_of(msg.body, "port", EV)
        if raw is None:
            raw = text_of(msg.body, "Port", EV, required=True)
        try:
            port = int(raw or "")
        except ValueError:
            raise sender(f"port must be a number, not {raw!r}") from None
        key = "active" if child(msg.body, "active", EV) is not None else "Active"
        if child(msg.body, key, EV) is None:
            raise sender("ChangeVirtualInputState needs active (true or false)")
        active = bool_of(msg.body, key, EV)
        try:
            changed = io.set_virtual(port, active, who.name)
        except IOError_ as err:
            raise sender(str(err)) from None
        response = element("aev:ChangeVirtualInputStateResponse")
        element("aev:stateChanged", "true" if changed else "false", parent=response)
        return response

    # -- action1: action templates and configurations ------------------------------------
    async def get_action_templates(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetActionTemplatesResponse")
        holder = element("aa:ActionTemplates", parent=response)
        for token in sorted(self.device.rules.types):
            kind = self.device.rules.types[token]
            template = element("aa:ActionTemplate", parent=holder)
            element("aa:TemplateToken", token, parent=template)
            own = kind.params
            if kind.recipient:
                element("aa:RecipientTemplate", kind.recipient, parent=template)
                recipient_params = RECIPIENT_TEMPLATES[kind.recipient].params \
                    if kind.recipient in RECIPIENT_TEMPLATES else ()
                own = tuple(p for p in kind.params if p not in recipient_params)
            _parameter_list(template, own, with_values=False)
        return response

    async def get_action_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetActionConfigurationsResponse")
        holder = element("aa:ActionConfigurations", parent=response)
        for aid in sorted(self.device.rules.actions):
            config = self.device.rules.actions[aid]
            el = element("aa:ActionConfiguration", parent=holder)
            element("aa:ConfigurationID", str(config.id), parent=el)
            element("aa:Name", config.name, parent=el)
            element("aa:TemplateToken", config.template, parent=el)
            _parameter_list(el, shown_params(self.recipients.vault, config.params, who.role >= Role.ADMIN),
                            with_values=True)
        return response

    async def add_action_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        new = child(msg.body, "NewActionConfiguration", AA)
        if new is None:
            raise sender("AddActionConfiguration needs a NewActionConfiguration")
        name = _name(text_of(new, "Name", AA), "The action configuration")
        token = text_of(new, "TemplateToken", AA, required=True) or ""
        params = _params(new, AA)
        if token not in self.device.rules.types:
            raise sender(f"Unknown action template {token!r} (GetActionTemplates lists them)")
        if token in NOTIFICATION_ACTIONS:
            params = seal_params(self.recipients.vault, params)
        try:
            config = self.device.rules.add_action(name, token, params, who.name)
        except RuleError as err:
            raise sender(str(err)) from None
        response = element("aa:AddActionConfigurationResponse")
        element("aa:ConfigurationID", str(config.id), parent=response)
        return response

    async def remove_action_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        aid = int_of(msg.body, "ConfigurationID", AA)
        try:
            self.device.rules.remove_action(aid, who.name)
        except RuleError as err:
            raise sender(str(err)) from None
        return element("aa:RemoveActionConfigurationResponse")

    # -- action1: rules ------------------------------------------------------------------
    async def get_action_rules(self, msg: SoapMessage, who: Principal) -> etree._Element:
        bus = self.device.events
        response = element("aa:GetActionRulesResponse")
        holder = element("aa:ActionRules", parent=response)
        for rid in sorted(self.device.rules.rules):
            rule = self.device.rules.rules[rid]
            el = element("aa:ActionRule", parent=holder)
            element("aa:RuleID", str(rule.id), parent=el)
            element("aa:Name", rule.name, parent=el)
            element("aa:Enabled", "true" if rule.enabled else "false", parent=el)
            if rule.trigger is not None:
                el.append(filters.render_filter("aa:StartEvent", rule.trigger, bus))
            if rule.conditions:
                conditions = element("aa:Conditions", parent=el)
                for c in rule.conditions:
                    conditions.append(filters.render_filter("aa:Condition", c, bus))
            if rule.wait:
                element("aa:ActivationTimeout", format_duration(rule.wait), parent=el)
            element("aa:PrimaryAction", str(rule.action), parent=el)
        return response

    async def add_action_rule(self, msg: SoapMessage, who: Principal) -> etree._Element:
        new = child(msg.body, "NewActionRule", AA)
        if new is None:
            raise sender("AddActionRule needs a NewActionRule")
        bus = self.device.events
        name = _name(text_of(new, "Name", AA), "The action rule", required=True)
        enabled = bool_of(new, "Enabled", AA, default=True)
        start = child(new, "StartEvent", AA)
        trigger = filters.parse_filter(start, bus, "StartEvent") if start is not None else None
        conditions = []
        holder = child(new, "Conditions", AA)
        if holder is not None:
            for n, c in enumerate(children(holder, "Condition", AA), 1):
                conditions.append(filters.parse_filter(c, bus, f"Condition {n}"))
        for c in conditions + ([trigger] if trigger else []):
            self._check_schedule(c)
        failover = child(new, "FailoverAction", AA)
        if failover is not None and (failover.text or "").strip():
            raise sender("Fallback (failover) actions are not supported")
        timeout = text_of(new, "ActivationTimeout", AA)
        wait = parse_duration(timeout) if timeout else 0.0
        primary = int_of(new, "PrimaryAction", AA)
        if primary not in self.device.rules.actions:
            raise sender(f"Unknown action configuration {primary} (PrimaryAction)")
        try:
            rule = self.device.rules.add_rule(Rule(0, name, enabled, primary, tuple(conditions), trigger, wait),
                                              who.name)
        except RuleError as err:
            raise sender(str(err)) from None
        response = element("aa:AddActionRuleResponse")
        element("aa:RuleID", str(rule.id), parent=response)
        return response

    def _check_schedule(self, c: Condition) -> None:
        """A schedule condition must name an existing schedule of the right kind (interval/pulse)."""
        if c.topic not in (INTERVAL, PULSE):
            return
        for name, value in c.items:
            schedule = self.device.schedules.schedules.get(value) if name == "id" else None
            if name == "id" and (schedule is None or schedule.pulse != (c.topic == PULSE)):
                kind = "pulse" if c.topic == PULSE else "schedule"
                raise sender(f"Topic {c.topic} has no {kind} {value!r} (GetScheduledEvents lists them)")

    async def remove_action_rule(self, msg: SoapMessage, who: Principal) -> etree._Element:
        rid = int_of(msg.body, "RuleID", AA)
        try:
            self.device.rules.remove_rule(rid, who.name)
        except RuleError as err:
            raise sender(str(err)) from None
        return element("aa:RemoveActionRuleResponse")

    # -- action1: recipients -------------------------------------------------------------
    async def get_recipient_templates(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetRecipientTemplatesResponse")
        holder = element("aa:RecipientTemplates", parent=response)
        for token, template in RECIPIENT_TEMPLATES.items():
            el = element("aa:RecipientTemplate", parent=holder)
            element("aa:TemplateToken", token, parent=el)
            _parameter_list(el, template.params, with_values=False)
        return response

    async def get_recipient_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aa:GetRecipientConfigurationsResponse")
        holder = element("aa:RecipientConfigurations", parent=response)
        for config in self.recipients.list():
            el = element("aa:RecipientConfiguration", parent=holder)
            element("aa:ConfigurationID", str(config.id), parent=el)
            element("aa:Name", config.name, parent=el)
            element("aa:TemplateToken", config.template, parent=el)
            _parameter_list(el, shown_params(self.recipients.vault, config.params, who.role >= Role.ADMIN),
                            with_values=True)
        return response

    def _new_recipient(self, msg: SoapMessage) -> tuple[str, str, dict[str, str]]:
        new = child(msg.body, "NewRecipientConfiguration", AA)
        if new is None:
            raise sender(f"{msg.operation[1]} needs a NewRecipientConfiguration")
        name = _name(text_of(new, "Name", AA), "The recipient", required=True)
        token = text_of(new, "TemplateToken", AA, required=True) or ""
        if token not in RECIPIENT_TEMPLATES:
            raise sender(f"Unknown recipient template {token!r} (GetRecipientTemplates lists them)")
        return name, token, _params(new, AA)

    async def add_recipient_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        name, token, params = self._new_recipient(msg)
        try:
            config = self.recipients.add(name, token, params, who.name)
        except RecipientConfigError as err:
            raise sender(str(err)) from None
        response = element("aa:AddRecipientConfigurationResponse")
        element("aa:ConfigurationID", str(config.id), parent=response)
        return response

    async def remove_recipient_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        rid = int_of(msg.body, "ConfigurationID", AA)
        try:
            self.recipients.remove(rid, who.name, self.notifications.users_of(rid, self.device.rules.actions))
        except RecipientConfigError as err:
            raise sender(str(err)) from None
        return element("aa:RemoveRecipientConfigurationResponse")

    async def test_recipient_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        try:
            if child(msg.body, "ConfigurationID", AA) is not None:
                config = self.recipients.get(int_of(msg.body, "ConfigurationID", AA))
                label = f"{config.id} {config.name!r}"
                recipient = self.recipients.recipient(config)
            else:
                name, token, params = self._new_recipient(msg)
                self.recipients.check(name, token, params)
                label = f"{name!r} (not saved)"
                recipient = to_recipient(token, name, params)
        except (RecipientConfigError, notify.RecipientError) as err:
            raise sender(str(err)) from None
        try:
            await notify.test_recipient(recipient)
        except notify.RecipientError as err:
            self.device.logs.audit(who.name, f"tested recipient {label}: failed: {err}", "events")
            raise receiver(f"The test message was not delivered: {err}") from None
        self.device.logs.audit(who.name, f"tested recipient {label}: delivered", "events")
        return element("aa:TestRecipientConfigurationResponse")


EVENT_SERVICES: Key[EventServices] = Key("events")
