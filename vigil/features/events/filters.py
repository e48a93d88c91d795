"""Event filters of action rules, as the VAPIX action service writes them, and back.

A start event or condition is a `wsnt:TopicExpression` (ConcreteSet dialect) plus an optional
`wsnt:MessageContent` in the ItemFilter dialect:

    <wsnt:TopicExpression Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">
        tns1:Device/tnsaxis:IO/Port</wsnt:TopicExpression>
    <wsnt:MessageContent Dialect="http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter">
        boolean(//SimpleItem[@Name="port" and @Value="1"]) and
        boolean(//SimpleItem[@Name="state" and @Value="1"])</wsnt:MessageContent>

It becomes a rule-engine `Condition(topic, items)`: the topic normalised (its prefixes are
resolved through the XML namespaces in scope, so any prefix bound to the ONVIF or Axis topic
namespace works, as do the short `onvif:`/`axis:` spellings), and one (name, value) item per
`boolean(//SimpleItem[...])` term. Supported: a single concrete topic (a trailing `//.` is
accepted when it names one declared topic), terms joined with `and`.

Inverted conditions ("Invert this condition" in the web pages): VAPIX has no flag for it; an
inverted condition is written with the state item's opposite value, e.g. "digital input is
inactive" is `@Name="state" and @Value="0"`, and stored as that value (the engine compares the
state item exactly). `not(boolean(//SimpleItem[@Name="<state item>" and @Value="v"]))` is also
read, as an inverted condition on v, and an engine condition with `invert` set is written back
that way (with the state's opposite value when it is a known pair: 1/0, true/false,
active/inactive).
"""

from __future__ import annotations

import re

from lxml import etree

from vigil.core.events import NAMESPACES as TOPIC_NAMESPACES
from vigil.core.events import EventBus, Topic, from_short, normalize
from vigil.core.rules import Condition
from vigil.http.soap import NAMESPACES, child, element, sender

WSNT = NAMESPACES["wsnt"]
CONCRETE_SET = "http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet"
ITEM_FILTER = "http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter"
TOPIC_DIALECTS = (
    CONCRETE_SET,
    "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Concrete",
    "http://docs.oasis-open.org/wsn/t-1/TopicExpression/ConcreteSet",
    "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Simple",
)
OPPOSITE = {"1": "0", "0": "1", "true": "false", "false": "true", "active": "inactive", "inactive": "active"}

_TERM = re.compile(
    r"""\s*(?P<not>not\s*\(\s*)?boolean\s*\(\s*//(?:\w+:)?SimpleItem\s*\[\s*
        @Name\s*=\s*(?P<q1>["'])(?P<name>.*?)(?P=q1)\s+and\s+
        @Value\s*=\s*(?P<q2>["'])(?P<value>.*?)(?P=q2)\s*\]\s*\)\s*""",
    re.VERBOSE,
)
_CLOSE = re.compile(r"\)\s*")
_AND = re.compile(r"and\b\s*")
_URI_PREFIX = {uri: prefix for prefix, uri in TOPIC_NAMESPACES.items()}


def parse_topic(el: etree._Element, bus: EventBus) -> Topic:
    """The declared topic a TopicExpression names; Sender fault otherwise."""
    dialect = (el.get("Dialect") or CONCRETE_SET).strip()
    if dialect not in TOPIC_DIALECTS:
        raise sender(f"Topic expression dialect {dialect} is not supported; use {CONCRETE_SET}")
    text = " ".join((el.text or "").split())
    if not text:
        raise sender("The topic expression is empty")
    if "|" in text:
        raise sender(f"Topic expression {text!r}: a rule condition names one topic; alternatives (|) "
                     "are not supported")
    base = text[:-3] if text.endswith("//.") else text
    if "*" in base or "//" in base:
        raise sender(f"Topic expression {text!r}: wildcards are not supported in rules; name one topic")
    parts = []
    for segment in base.split("/"):
        prefix, sep, local = segment.partition(":")
        if not sep:
            parts.append(segment)
            continue
        uri = el.nsmap.get(prefix)
        if uri is not None:
            canonical = _URI_PREFIX.get(uri)
            if canonical is None:
                raise sender(f"Topic expression {text!r}: prefix {prefix} is bound to {uri}, which is not "
                             f"an event topic namespace")
        elif prefix in TOPIC_NAMESPACES:
            canonical = prefix
        elif from_short(f"{prefix}:x").split(":")[0] in TOPIC_NAMESPACES:
            canonical = from_short(f"{prefix}:x").split(":")[0]
        else:
            raise sender(f"Topic expression {text!r}: the namespace prefix {prefix!r} is not declared")
        parts.append(f"{canonical}:{local}")
    name = normalize("/".join(parts))
    topic = bus.topic(name)
    if topic is None and text.endswith("//.") and any(t.topic.startswith(name + "/") for t in bus.topics()):
        raise sender(f"Topic expression {text!r} covers several topics: wildcards are not supported in rules; "
                     "name one topic")
    if topic is None:
        raise sender(f"Unknown event topic {text!r}: this device does not emit {name} "
                     "(GetEventInstances lists the topics)")
    return topic


def parse_items(expression: str, topic: Topic) -> tuple[tuple[tuple[str, str], ...], bool]:
    """ItemFilter terms as (name, value) items, and whether the condition is inverted."""
    text = expression.strip()
    items: list[tuple[str, str]] = []
    invert = False
    pos = 0
    while pos < len(text):
        m = _TERM.match(text, pos)
        if m is None:
            raise sender(f"Message content filter {expression!r} is not supported: write terms like "
                         'boolean(//SimpleItem[@Name="port" and @Value="1"]) joined with "and"')
        pos = m.end()
        if m.group("not"):
            close = _CLOSE.match(text, pos)
            if close is None:
                raise sender(f"Message content filter {expression!r}: not( is not closed")
            pos = close.end()
            if m.group("name") != state_item(topic):
                raise sender(f"Message content filter {expression!r}: not() is only supported around the "
                             f"state item of {topic.topic} ({state_item(topic) or 'none'})")
            invert = True
        items.append((m.group("name"), m.group("value")))
        if pos < len(text):
            joined = _AND.match(text, pos)
            if joined is None:
                raise sender(f"Message content filter {expression!r}: terms must be joined with \"and\"")
            pos = joined.end()
            if pos >= len(text):
                raise sender(f"Message content filter {expression!r} ends with \"and\"")
    names = [n for n, _ in items]
    for name in names:
        if names.count(name) > 1:
            raise sender(f"Message content filter {expression!r} gives {name} more than once")
    check_items(topic, items)
    return tuple(items), invert


def check_items(topic: Topic, items: list[tuple[str, str]] | tuple[tuple[str, str], ...]) -> None:
    """Every item must be declared; a value must be one the topic offers, where it lists them."""
    declared = {i.name: i for i in topic.source + topic.data}
    for name, value in items:
        item = declared.get(name)
        if item is None:
            raise sender(f"Topic {topic.topic} has no item {name!r} (it has "
                         f"{', '.join(declared) or 'none'})")
        if item.values and value not in item.values:
            what = item.nice.lower() or name
            raise sender(f"Topic {topic.topic} has no {what} {value!r} (valid: {', '.join(item.values)})")
        if item.type == "xsd:boolean" and value.lower() not in OPPOSITE:
            raise sender(f"Item {name} of {topic.topic} is a boolean: use 1/0 or true/false, not {value!r}")


def state_item(topic: Topic) -> str | None:
    for item in topic.data:
        if item.state:
            return item.name
    return topic.data[0].name if topic.stateful and topic.data else None


def parse_filter(el: etree._Element, bus: EventBus, what: str) -> Condition:
    """A StartEvent or Condition element (a wsnt FilterType) as an engine Condition."""
    topic_el = child(el, "TopicExpression", WSNT)
    if topic_el is None:
        raise sender(f"{what}: a wsnt:TopicExpression is required")
    topic = parse_topic(topic_el, bus)
    content = child(el, "MessageContent", WSNT)
    items: tuple[tuple[str, str], ...] = ()
    invert = False
    if content is not None:
        dialect = (content.get("Dialect") or ITEM_FILTER).strip()
        if dialect != ITEM_FILTER:
            raise sender(f"{what}: message content dialect {dialect} is not supported; use {ITEM_FILTER}")
        if (content.text or "").strip():
            items, invert = parse_items(content.text or "", topic)
    return Condition(topic.topic, items, invert)


def _true_value(topic: Topic, name: str) -> str:
    item = next((i for i in topic.data if i.name == name), None)
    if item is not None and item.values:
        return item.values[0]
    if item is not None and item.type == "xsd:boolean" and "tnsaxis:" not in topic.topic:
        return "true"  # ONVIF-standard booleans (DigitalInput LogicalState)
    return "1"


def _term(name: str, value: str) -> str:
    q = "'" if '"' in value else '"'
    return f'boolean(//SimpleItem[@Name="{name}" and @Value={q}{value}{q}])'


def render_items(c: Condition, topic: Topic | None) -> str:
    state = state_item(topic) if topic else None
    terms = []
    has_state = False
    for name, value in c.items:
        if c.invert and name == state:
            has_state = True
            if value in OPPOSITE:
                terms.append(_term(name, OPPOSITE[value]))
            else:
                terms.append(f"not({_term(name, value)})")
        else:
            terms.append(_term(name, value))
    if c.invert and not has_state and state is not None and topic is not None:
        true = _true_value(topic, state)
        terms.append(_term(state, OPPOSITE[true]) if true in OPPOSITE else f"not({_term(state, true)})")
    return " and ".join(terms)


def render_filter(tag: str, c: Condition, bus: EventBus) -> etree._Element:
    """A StartEvent/Condition element for GetActionRules."""
    el = element(tag)
    element("wsnt:TopicExpression", c.topic, {"Dialect": CONCRETE_SET}, parent=el)
    content = render_items(c, bus.topic(c.topic))
    if content:
        element("wsnt:MessageContent", content, {"Dialect": ITEM_FILTER}, parent=el)
    return el
