"""One bus subscription, many stream clients.

The bus calls subscribers synchronously, so nothing here may wait: each client (an RTSP
session, a WebSocket connection) has its own bounded outbox that its own task drains. A
client that falls behind loses events (counted and logged); it never holds up the bus or
the other clients. Each event is rendered once per wire format, however many clients get it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vigil.core.events import Event, EventBus
from vigil.core.registry import Key
from vigil.features.eventstream.metadata import EventFilter, Probe

log = logging.getLogger("vigil.eventstream")

OUTBOX_LIMIT = 1024  # events waiting for one client; beyond this they are dropped


class Outbox:
    """A client's queue. Events beyond the limit are dropped; replies (`force`) never are."""

    def __init__(self, name: str, limit: int = OUTBOX_LIMIT) -> None:
        self.name = name
        self.limit = limit
        self.dropped = 0
        self.closed = False
        self._items: deque[Any] = deque()
        self._ready = asyncio.Event()

    def __len__(self) -> int:
        return len(self._items)

    def put(self, item: Any, force: bool = False) -> bool:
        if self.closed:
            return False
        if not force and len(self._items) >= self.limit:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.warning("event stream client %s is too slow: %d events dropped so far", self.name, self.dropped)
            return False
        self._items.append(item)
        self._ready.set()
        return True

    async def get(self) -> Any | None:
        """The next item, or None once the outbox is closed."""
        while not self._items:
            if self.closed:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()

    def close(self) -> None:
        self.closed = True
        self._items.clear()
        self._ready.set()


@dataclass(eq=False)
class Listener:
    """One client of the fan-out: its filters, its wire format and its outbox.

    With `per_filter`, an event matching several filters is sent once per filter (the
    VAPIX WebSocket rule: each filter is a separate subscription)."""

    outbox: Outbox
    render: Callable[[Event], Any]
    filters: Sequence[EventFilter] = ()
    per_filter: bool = False

    def copies(self, event: Event, probe: Probe) -> int:
        hits = sum(1 for f in self.filters if f.matches(event, probe))
        return hits if self.per_filter else min(hits, 1)


@dataclass
class Fanout:
    bus: EventBus
    listeners: list[Listener] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._subscription = self.bus.subscribe(self._deliver)

    def start(self, listener: Listener, initial: bool = True) -> None:
        """Attach a listener; with `initial`, first queue every current property as Initialized.

        Runs without yielding, so no event is lost or doubled between the two steps."""
        if initial:
            for state in self.bus.properties():
                event = Event(state.topic, state.source, state.data, state.time, "Initialized")
                self._offer(listener, event, Probe(event), {})
        if listener not in self.listeners:
            self.listeners.append(listener)

    def stop(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)

    def close(self) -> None:
        self._subscription.cancel()
        self.listeners.clear()

    def _deliver(self, event: Event) -> None:
        probe = Probe(event)
        rendered: dict[Callable[[Event], Any], Any] = {}
        for listener in list(self.listeners):
            try:
                self._offer(listener, event, probe, rendered)
            except Exception:  # noqa: BLE001 - one client must not break the others
                log.exception("event stream client %s failed on %s", listener.outbox.name, event.topic)

    @staticmethod
    def _offer(listener: Listener, event: Event, probe: Probe, rendered: dict) -> None:
        copies = listener.copies(event, probe)
        if not copies:
            return
        payload = rendered.get(listener.render)
        if payload is None:
            payload = rendered[listener.render] = listener.render(event)
        for _ in range(copies):
            listener.outbox.put(payload)


EVENT_FANOUT: Key[Fanout] = Key("event-fanout")
