"""Event wire formats and filters shared by the event streams.

* `to_xml`: one complete ONVIF `tt:MetadataStream` document per event, as the RTSP metadata
  stream carries it (the shape the `axis` client library parses).
* `to_notification`: the VAPIX `events:notify` JSON message of the WebSocket event stream.
* `EventFilter`: a topic filter (ONVIF ConcreteSet, e.g. `tns1:Device/tnsaxis:IO//.`) and an
  optional content filter (the ItemFilter XPath subset, e.g.
  `boolean(//SimpleItem[@Name="port" and @Value="1"])`), used by both streams.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from lxml import etree

from vigil.core.events import NAMESPACES, Event, topic_matches

TT = "http://www.onvif.org/ver10/schema"
WSNT = "http://docs.oasis-open.org/wsn/b-2"
SIMPLE_DIALECT = "http://docs.oasis-open.org/wsn/t-1/TopicExpression/Simple"
MAX_FILTER_LENGTH = 1024

_HEAD = (
    '<?xml version="1.0" encoding="UTF-8"?>\n'
    f'<tt:MetadataStream xmlns:tt="{TT}"><tt:Event>'
    f'<wsnt:NotificationMessage xmlns:tns1="{NAMESPACES["tns1"]}" xmlns:tnsaxis="{NAMESPACES["tnsaxis"]}" '
    f'xmlns:wsnt="{WSNT}">'
)
_TAIL = "</wsnt:NotificationMessage></tt:Event></tt:MetadataStream>"


def utc_time(epoch: float) -> str:
    """`2019-01-15T07:50:45.206264Z`."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _items(tag: str, items: Any) -> str:
    if not items:
        return f"<tt:{tag}/>"
    inner = "".join(f"<tt:SimpleItem Name={quoteattr(str(k))} Value={quoteattr(str(v))}/>" for k, v in items.items())
    return f"<tt:{tag}>{inner}</tt:{tag}>"


def to_xml(event: Event) -> bytes:
    """The event as one complete `tt:MetadataStream` document (UTF-8)."""
    operation = f' PropertyOperation="{event.operation}"' if event.operation else ""
    body = (
        f'<wsnt:Topic Dialect="{SIMPLE_DIALECT}">{escape(event.topic)}</wsnt:Topic>'
        f'<wsnt:Message><tt:Message UtcTime="{utc_time(event.time)}"{operation}>'
        f'{_items("Source", event.source)}<tt:Key/>{_items("Data", event.data)}'
        "</tt:Message></wsnt:Message>"
    )
    return (_HEAD + body + _TAIL).encode("utf-8")


def to_notification(event: Event) -> str:
    """The event as a VAPIX `events:notify` WebSocket message."""
    return json.dumps({
        "apiVersion": "1.0",
        "method": "events:notify",
        "params": {"notification": {
            "topic": event.topic,
            "timestamp": int(round(event.time * 1000)),
            "message": {"source": dict(event.source), "key": {}, "data": dict(event.data)},
        }},
    }, separators=(",", ":"))


# -- filters ----------------------------------------------------------------------------
class FilterError(ValueError):
    """A topic or content filter a client sent cannot be used."""


def normalize_topic_filter(expression: str) -> str:
    """Accept the spellings clients use: `onvif:`/`axis:` prefixes, `x//` for a subtree,
    spaces around `|`."""
    parts = []
    for alternative in expression.split("|"):
        alt = alternative.strip()
        if alt.endswith("//"):
            alt += "."
        parts.append(alt)
    return "|".join(parts)


# `tt:SimpleItem` and `SimpleItem` mean the same item in a content filter.
_TT_PREFIX = re.compile(r"\btt:(?=[A-Za-z])")


def _probe(event: Event) -> etree._ElementTree:
    """The event as the document a content filter is evaluated against."""
    root = etree.Element("Message")
    for tag, items in (("Source", event.source), ("Key", {}), ("Data", event.data)):
        parent = etree.SubElement(root, tag)
        for name, value in items.items():
            etree.SubElement(parent, "SimpleItem", Name=str(name), Value=str(value))
    return etree.ElementTree(root)


_SAMPLE = Event("tns1:Device/tnsaxis:IO/Port", {"port": "1"}, {"state": "0"}, 0.0, "Initialized")


def compile_content_filter(expression: str) -> etree.XPath:
    if len(expression) > MAX_FILTER_LENGTH:
        raise FilterError("contentFilter is too long")
    try:
        xpath = etree.XPath(_TT_PREFIX.sub("", expression))
        xpath(_probe(_SAMPLE))  # unknown functions and variables only show when evaluated
    except (etree.XPathError, ValueError) as err:
        raise FilterError(f"invalid contentFilter: {err}") from None
    return xpath


@dataclass
class Probe:
    """One event, with the filter document built at most once however many filters look at it."""

    event: Event
    _tree: etree._ElementTree | None = field(default=None, init=False)

    @property
    def tree(self) -> etree._ElementTree:
        if self._tree is None:
            self._tree = _probe(self.event)
        return self._tree


@dataclass
class EventFilter:
    """One subscription filter: topic (ONVIF ConcreteSet) and optional content (ItemFilter XPath)."""

    topic: str = "//."
    content: str | None = None
    _xpath: etree.XPath | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if len(self.topic) > MAX_FILTER_LENGTH:
            raise FilterError("topicFilter is too long")
        self.topic = normalize_topic_filter(self.topic)
        if self.content is not None and self.content.strip():
            self._xpath = compile_content_filter(self.content)

    def matches(self, event: Event, probe: Probe | None = None) -> bool:
        if not topic_matches(self.topic, event.topic):
            return False
        if self._xpath is None:
            return True
        try:
            result = self._xpath((probe or Probe(event)).tree)
        except etree.XPathError:
            return False
        return bool(result)


ALL_EVENTS = EventFilter()
