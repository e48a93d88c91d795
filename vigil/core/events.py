"""The event bus: one stream of events in ONVIF form.

An event has a topic (`tns1:Device/Trigger/DigitalInput`), Source and Data simple items
(name -> string) and, when its topic is stateful, a property operation: Initialized the
first time a source reports, Changed when its data changes, Deleted when it goes away. The
bus keeps the current state of every stateful property so that a new subscriber (rules,
event streams, MQTT...) starts from the truth. Services declare the topics they emit: the
declarations are the event instances clients list.

Subscribers are called synchronously, in publication order; one that does I/O hands the
event to its own queue. A failing subscriber is logged and never stops the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from vigil.core.clock import Clock

log = logging.getLogger("vigil.events")

NAMESPACES = {
    "tns1": "http://www.onvif.org/ver10/topics",
    "tnsaxis": "http://www.axis.com/2009/event/topics",
}
# How MQTT and the JSON APIs spell the same namespaces.
SHORT_PREFIX = {"tns1": "onvif", "tnsaxis": "axis"}


@dataclass(frozen=True)
class Item:
    """A declared Source or Data simple item."""

    name: str
    type: str = "xsd:string"
    nice: str = ""
    values: tuple[str, ...] = ()  # the instances a client may choose from (e.g. port numbers)
    value_nice: tuple[str, ...] = ()  # what each of `values` is called for people, in order (a NiceName)
    state: bool = False  # isPropertyState: the item that carries a stateful topic's state


@dataclass(frozen=True)
class Topic:
    """A declared topic: what clients list as an event instance."""

    topic: str
    nice: str
    stateful: bool
    source: tuple[Item, ...] = ()
    data: tuple[Item, ...] = ()


@dataclass(frozen=True)
class Event:
    topic: str
    source: Mapping[str, str]
    data: Mapping[str, str]
    time: float
    operation: str | None = None  # Initialized | Changed | Deleted, or None when stateless

    @property
    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.topic, tuple(sorted(self.source.items()))

    @property
    def stateful(self) -> bool:
        return self.operation is not None


def normalize(topic: str) -> str:
    """One spelling per topic: a segment repeating its parent's prefix drops it
    (`tns1:Device/tnsaxis:IO/tnsaxis:Port` -> `tns1:Device/tnsaxis:IO/Port`)."""
    out: list[str] = []
    prefix = ""
    for part in topic.strip().split("/"):
        own, sep, rest = part.partition(":")
        if sep and own == prefix:
            part = rest
        elif sep:
            prefix = own
        out.append(part)
    return "/".join(out)


def to_short(topic: str) -> str:
    """`tns1:Device/tnsaxis:IO/Port` -> `onvif:Device/axis:IO/Port`."""
    parts = []
    for part in topic.split("/"):
        prefix, sep, rest = part.partition(":")
        parts.append(f"{SHORT_PREFIX.get(prefix, prefix)}:{rest}" if sep else part)
    return "/".join(parts)


def from_short(topic: str) -> str:
    long = {v: k for k, v in SHORT_PREFIX.items()}
    parts = []
    for part in topic.split("/"):
        prefix, sep, rest = part.partition(":")
        parts.append(f"{long.get(prefix, prefix)}:{rest}" if sep else part)
    return "/".join(parts)


def topic_matches(expression: str, topic: str) -> bool:
    """ONVIF ConcreteSet matching: `a|b` alternatives, `//.` for everything, `x//.` for x and below."""
    for alternative in expression.split("|"):
        alt = normalize(from_short(alternative.strip()))
        if alt in ("//.", "", "*"):
            return True
        if alt.endswith("//."):
            base = alt[:-3]
            if topic == base or topic.startswith(base + "/"):
                return True
        elif alt == topic:
            return True
    return False


Subscriber = Callable[[Event], None]


@dataclass
class Subscription:
    bus: EventBus
    callback: Subscriber

    def cancel(self) -> None:
        if self in self.bus._subscribers:
            self.bus._subscribers.remove(self)


@dataclass
class EventBus:
    clock: Clock
    _topics: dict[str, Topic] = field(default_factory=dict)
    _state: dict[str, dict[tuple, Event]] = field(default_factory=dict)  # topic -> source key -> event
    _subscribers: list[Subscription] = field(default_factory=list)
    declared_listeners: list[Callable[[Topic], None]] = field(default_factory=list)

    # -- declarations ------------------------------------------------------------------
    def declare(self, topic: Topic) -> None:
        self._topics[topic.topic] = topic
        for listener in self.declared_listeners:
            listener(topic)

    def undeclare(self, topic: str) -> None:
        self._topics.pop(topic, None)

    def topics(self) -> list[Topic]:
        return sorted(self._topics.values(), key=lambda t: t.topic)

    def topic(self, name: str) -> Topic | None:
        return self._topics.get(name)

    # -- publishing --------------------------------------------------------------------
    def publish(self, topic: str, source: Mapping[str, str], data: Mapping[str, str]) -> Event | None:
        """Emit an event. For a stateful topic, nothing is emitted when the data is unchanged."""
        declared = self._topics.get(topic)
        if declared is None:
            raise KeyError(f"topic {topic} was not declared")
        source, data = dict(source), dict(data)
        if declared.stateful:
            key = tuple(sorted(source.items()))
            states = self._state.setdefault(topic, {})
            previous = states.get(key)
            if previous is not None and dict(previous.data) == data:
                return None
            event = Event(topic, source, data, self.clock.time(), "Initialized" if previous is None else "Changed")
            states[key] = event
        else:
            event = Event(topic, source, data, self.clock.time())
        self._deliver(event)
        return event

    def delete(self, topic: str, source: Mapping[str, str]) -> None:
        """A stateful source went away (a removed virtual port, a deleted rule...)."""
        previous = self._state.get(topic, {}).pop(tuple(sorted(dict(source).items())), None)
        if previous is not None:
            self._deliver(Event(topic, dict(source), previous.data, self.clock.time(), "Deleted"))

    def _deliver(self, event: Event) -> None:
        for sub in list(self._subscribers):
            try:
                sub.callback(event)
            except Exception:  # noqa: BLE001 - one subscriber must not break the others
                log.exception("event subscriber failed on %s", event.topic)

    # -- reading -----------------------------------------------------------------------
    def state(self, topic: str, source: Mapping[str, str]) -> Mapping[str, str] | None:
        event = self._state.get(topic, {}).get(tuple(sorted(dict(source).items())))
        return event.data if event else None

    def states(self, topic: str) -> list[Event]:
        """The current state of every source of one stateful topic."""
        return list(self._state.get(topic, {}).values())

    def properties(self, expression: str = "//.") -> list[Event]:
        """The current state of every stateful property whose topic matches."""
        return [e for topic, states in self._state.items() if topic_matches(expression, topic)
                for e in states.values()]

    def subscribe(self, callback: Subscriber, initial: bool = False) -> Subscription:
        """Receive every event; with `initial`, first the current properties as Initialized."""
        sub = Subscription(self, callback)
        if initial:
            for event in self.properties():
                callback(Event(event.topic, event.source, event.data, event.time, "Initialized"))
        self._subscribers.append(sub)
        return sub


def declare_all(bus: EventBus, topics: Iterable[Topic]) -> None:
    for t in topics:
        bus.declare(t)
