"""The VAPIX event service (event1, http://www.axis.com/vapix/ws/event1) at /vapix/services.

    GetEventInstances                                   viewer
    GetScheduledEvents [ScheduleFilter/ScheduleType Interval|Pulse]           operator
    AddScheduledEvent (NewScheduledEvent: Name, Schedule/ICalendar, optional EventID) -> EventID
                                                        admin
    RemoveScheduledEvent (EventID)                      admin
    ChangeVirtualInputState (port, active) -> stateChanged   operator, like virtualinput/activate.cgi

ICalendar text may use the web page's one-line form ("DTSTART:20111212T06:00 DTEND:... RRULE:...");
it is at most 8192 characters. A schedule still used by a rule cannot be removed.
"""

from __future__ import annotations

from lxml import etree

from vigil.core.auth import Principal
from vigil.core.events import NAMESPACES as TOPIC_NAMESPACES
from vigil.core.events import EventBus, Topic
from vigil.core.roles import Role
from vigil.core.schedules import INTERVAL, MAX_ICAL, PULSE, Scheduler
from vigil.features.events import filters
from vigil.features.events.const import EV
from vigil.features.events.http_soap import name_of, refusals_as_faults
from vigil.features.events.service import Events
from vigil.http.soap import NAMESPACES, SoapMessage, bool_of, child, element, sender, text_of, whole_number


class EventService:
    def __init__(self, bus: EventBus, schedules: Scheduler, events: Events) -> None:
        self.bus = bus
        self.schedules = schedules
        self.events = events

    # -- event instances -------------------------------------------------------------------
    async def get_event_instances(self, msg: SoapMessage, who: Principal) -> etree._Element:
        response = element("aev:GetEventInstancesResponse")
        topic_set = element("wstop:TopicSet", parent=response)
        nodes: dict[tuple[str, ...], etree._Element] = {}
        for topic in self.bus.topics():
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
            schedule = self.schedules.schedules.get(value)
            return schedule.name if schedule else ""
        declared = next((i for i in topic.source + topic.data if i.name == item), None)
        if declared is not None and value in declared.values and len(declared.value_nice) == len(declared.values):
            return declared.value_nice[declared.values.index(value)]
        return ""

    # -- schedules -------------------------------------------------------------------------
    async def get_scheduled_events(self, msg: SoapMessage, who: Principal) -> etree._Element:
        kind = ""
        flt = child(msg.body, "ScheduleFilter", EV)
        if flt is not None:
            kind = (text_of(flt, "ScheduleType", EV) or "").lower()
            if kind not in ("", "interval", "pulse"):
                raise sender(f"ScheduleType must be Interval or Pulse, not {kind[:40]!r}")
        response = element("aev:GetScheduledEventsResponse")
        holder = element("aev:ScheduledEvents", parent=response)
        for sid in sorted(self.schedules.schedules):
            schedule = self.schedules.schedules[sid]
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
        name = name_of(text_of(new, "Name", EV), "The scheduled event", required=True)
        schedule = child(new, "Schedule", EV)
        ical = text_of(schedule, "ICalendar", EV) if schedule is not None else None
        if not ical:
            raise sender("NewScheduledEvent needs Schedule/ICalendar")
        if len(ical) > MAX_ICAL:
            raise sender(f"The ICalendar text is {len(ical)} characters; at most {MAX_ICAL} are allowed")
        wanted = text_of(new, "EventID", EV) or None
        with refusals_as_faults():
            added = self.events.add_schedule(name, ical, who.name, wanted)
        response = element("aev:AddScheduledEventResponse")
        element("aev:EventID", added.id, parent=response)
        return response

    async def remove_scheduled_event(self, msg: SoapMessage, who: Principal) -> etree._Element:
        sid = text_of(msg.body, "EventID", EV, required=True) or ""
        with refusals_as_faults():
            self.events.remove_schedule(sid, who.name)
        return element("aev:RemoveScheduledEventResponse")

    # -- virtual inputs --------------------------------------------------------------------
    async def change_virtual_input(self, msg: SoapMessage, who: Principal) -> etree._Element:
        raw = text_of(msg.body, "port", EV)
        if raw is None:
            raw = text_of(msg.body, "Port", EV, required=True)
        port = whole_number(raw, "port")
        key = "active" if child(msg.body, "active", EV) is not None else "Active"
        if child(msg.body, key, EV) is None:
            raise sender("ChangeVirtualInputState needs active (true or false)")
        active = bool_of(msg.body, key, EV)
        with refusals_as_faults():
            changed = self.events.change_virtual_input(port, active, who.name)
        response = element("aev:ChangeVirtualInputStateResponse")
        element("aev:stateChanged", "true" if changed else "false", parent=response)
        return response


OPERATIONS = (
    ("GetEventInstances", Role.VIEWER, EventService.get_event_instances),
    ("GetScheduledEvents", Role.OPERATOR, EventService.get_scheduled_events),
    ("AddScheduledEvent", Role.ADMIN, EventService.add_scheduled_event),
    ("RemoveScheduledEvent", Role.ADMIN, EventService.remove_scheduled_event),
    ("ChangeVirtualInputState", Role.OPERATOR, EventService.change_virtual_input),
)
