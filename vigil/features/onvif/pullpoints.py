"""ONVIF event subscriptions over the device's event bus (vigil.core.events): PullPoint ones,
which the client pulls, and base notification ones (Subscribe), whose events are delivered to
the client's consumer address as they come.

A subscription keeps the events its filter lets through (topic ConcreteSet and ItemFilter
content, the filters the event streams use) in a bounded queue until the client pulls them;
it starts with the current state of every property it covers (`Initialized`), and
SetSynchronizationPoint queues that state again. It ends at its termination time (device
clock), which Renew moves, or at Unsubscribe; an ended subscription is forgotten and its
address answers ResourceUnknown, which makes clients subscribe again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime

from vigil.core.clock import Clock
from vigil.core.events import Event, EventBus, Subscription
from vigil.features.eventstream.metadata import EventFilter, Probe
from vigil.features.onvif.const import MAX_PULL_POINTS, MAX_QUEUE, MAX_TERMINATION

log = logging.getLogger("vigil.onvif")
SEND_WAIT = 5.0  # seconds a sender waits for events before it looks at the termination time again
MAX_BATCH = 100  # events per Notify
_DURATION = re.compile(r"P(?:(\d{1,6})D)?(?:T(?:(\d{1,6})H)?(?:(\d{1,6})M)?(?:(\d{1,9}(?:\.\d{1,9})?)S)?)?")


def duration(text: str) -> float | None:
    """Seconds of an xsd:duration of days, hours, minutes and seconds (`PT60S`, `PT10M`, `P1D`),
    or None when `text` is no such duration."""
    value = text.strip()
    found = _DURATION.fullmatch(value)
    if not found or value in ("P", "PT") or value.endswith("T"):
        return None
    days, hours, minutes, seconds = (float(g) if g else 0.0 for g in found.groups())
    return ((days * 24 + hours) * 60 + minutes) * 60 + seconds


def termination(text: str, now: float) -> float:
    """An AbsoluteOrRelativeTimeType: an xsd:duration from now or an xsd:dateTime with a zone;
    ValueError when it is neither or lies in the past."""
    value = text.strip()
    relative = duration(value)
    if relative is not None:
        until = now + relative
    else:
        try:
            moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            raise ValueError(f"{value[:40]!r} is neither a duration (PT60S) nor a date and time") from None
        if moment.tzinfo is None:
            raise ValueError("a termination time needs a time zone (e.g. 2026-01-01T00:00:00Z)")
        until = moment.timestamp()
    if until <= now:
        raise ValueError("the termination time lies in the past")
    return min(until, now + MAX_TERMINATION)


class TooManySubscriptions(Exception):
    pass


Deliver = Callable[[str, list[Event]], Awaitable[None]]  # (consumer address, events): sends a Notify


@dataclass
class PullPoint:
    id: str
    filter: EventFilter
    expires: float  # device time
    queue: deque[Event] = field(default_factory=lambda: deque(maxlen=MAX_QUEUE))
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    subscription: Subscription | None = None
    consumer: str | None = None  # base notification: where the events go (None: the client pulls)
    sender: asyncio.Task | None = None

    def offer(self, event: Event) -> None:
        if self.filter.matches(event, Probe(event)):
            self.queue.append(event)
            self.arrived.set()


class PullPoints:
    def __init__(self, bus: EventBus, clock: Clock) -> None:
        self.bus = bus
        self.clock = clock
        self.active: dict[str, PullPoint] = {}

    def create(self, event_filter: EventFilter, expires: float, consumer: str | None = None,
               deliver: Deliver | None = None) -> PullPoint:
        """A PullPoint subscription, or with `consumer` and `deliver` a base notification one."""
        self.purge()
        if len(self.active) >= MAX_PULL_POINTS:
            raise TooManySubscriptions(f"at most {MAX_PULL_POINTS} subscriptions at a time")
        point = PullPoint(secrets.token_urlsafe(12), event_filter, expires, consumer=consumer)
        point.subscription = self.bus.subscribe(point.offer, initial=True)
        self.active[point.id] = point
        if consumer is not None and deliver is not None:
            point.sender = asyncio.get_running_loop().create_task(self._send(point, consumer, deliver))
        return point

    async def _send(self, point: PullPoint, consumer: str, deliver: Deliver) -> None:
        """Deliver a base notification subscription's events, a batch at a time, while it lasts."""
        while point.id in self.active:
            events = await self.pull(point, SEND_WAIT, MAX_BATCH)
            if point.expires <= self.clock.time():
                self.remove(point.id)
            elif events:
                try:
                    await deliver(consumer, events)
                except Exception as err:  # noqa: BLE001 - a consumer that is away loses these events, not the rest
                    log.warning("ONVIF notification to %s failed: %s", consumer[:200], err)

    def close(self) -> None:
        """End every subscription (the device stops)."""
        for point_id in list(self.active):
            self.remove(point_id)

    async def run(self) -> None:
        """A device service: when the device stops, every subscription ends (senders too)."""
        try:
            await asyncio.Event().wait()
        finally:
            senders = [p.sender for p in self.active.values() if p.sender is not None]
            self.close()
            for task in senders:
                task.cancel()

    def get(self, point_id: str) -> PullPoint | None:
        self.purge()
        return self.active.get(point_id)

    def purge(self) -> None:
        now = self.clock.time()
        for point_id in [i for i, p in self.active.items() if p.expires <= now]:
            self.remove(point_id)

    def remove(self, point_id: str) -> None:
        point = self.active.pop(point_id, None)
        if point is not None and point.subscription is not None:
            point.subscription.cancel()
            point.arrived.set()  # a pull waiting on it answers at once, and a sender ends

    def synchronize(self, point: PullPoint) -> None:
        """Queue the current state of every property the subscription covers, as Initialized."""
        for event in self.bus.properties():
            point.offer(Event(event.topic, event.source, event.data, event.time, "Initialized"))

    async def pull(self, point: PullPoint, timeout: float, limit: int) -> list[Event]:
        """Up to `limit` events; waits up to `timeout` seconds for the first one."""
        if not point.queue:
            point.arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(point.arrived.wait(), timeout)
        out = []
        while point.queue and len(out) < limit:
            out.append(point.queue.popleft())
        return out
