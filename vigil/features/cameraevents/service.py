"""Camera events as rule conditions: for each recorded camera with an events address, the
recorder subscribes to the camera's events (VAPIX event stream where the camera offers it, else
ONVIF PullPoint) and keeps each camera event as a property of CAMERA_EVENT, so that a rule can
"record while the camera detects motion" (the record action's pre-event buffer applies as for
any condition).

A camera that refuses or vanishes: its properties are cleared (each goes inactive, then away),
CAMERA_EVENTS_CONNECTION goes to 0, the system log says why, and the recorder tries again after
1, 2, 4 ... up to 30 seconds. Sources are followed as they change (looked at every second).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.features.cameraevents import pullpoint, vapix
from vigil.features.cameraevents.const import (
    CAMERA_EVENT,
    CAMERA_EVENTS_CONNECTION,
    MAX_BACKOFF,
    MAX_EVENTS_PER_CAMERA,
)
from vigil.features.cameraevents.model import CameraEventsError, Received
from vigil.features.onvif.client import TIMEOUT, OnvifClient, OnvifError
from vigil.features.onvif.const import DEVICE_PATH
from vigil.features.recording.sources import Source, Sources

log = logging.getLogger("vigil.cameraevents")
LOOK_SECONDS = 1.0


@dataclass(frozen=True)
class Subscription:
    """What a camera's subscription depends on: a change starts it again."""

    url: str
    username: str
    password: str

    @classmethod
    def of(cls, source: Source) -> Subscription | None:
        return cls(source.events, source.username, source.password) if source.events and source.enabled else None


class CameraEvents:
    def __init__(self, bus: EventBus, logs: Logs, sources: Sources) -> None:
        self.bus = bus
        self.logs = logs
        self.sources = sources
        self._tasks: dict[str, tuple[Subscription, asyncio.Task]] = {}
        self._names: dict[str, set[str]] = {}  # source id -> the camera events it has as properties
        self.connected: dict[str, bool] = {}
        self._declared: tuple[str, ...] = ()

    def declare(self) -> None:
        ids = self._declared = tuple(sorted(self.sources.all))
        self.bus.declare(Topic(CAMERA_EVENT, "Camera event", True,
                               (Item("source", "xsd:string", "Camera", ids), Item("event", "xsd:string", "Event")),
                               (Item("active", "xsd:boolean", "Active", state=True),)))
        self.bus.declare(Topic(CAMERA_EVENTS_CONNECTION, "Camera events connection", True,
                               (Item("source", "xsd:string", "Camera", ids),),
                               (Item("connected", "xsd:boolean", "Connected", state=True),)))

    async def run(self) -> None:
        try:
            while True:
                self.reconcile()
                await asyncio.sleep(LOOK_SECONDS)
        finally:
            tasks = [task for _, task in self._tasks.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._tasks.clear()

    def reconcile(self) -> None:
        """Start, restart and stop subscriptions as the sources now want them."""
        wanted = {sid: sub for sid, source in self.sources.all.items() if (sub := Subscription.of(source))}
        if tuple(sorted(self.sources.all)) != self._declared:
            self.declare()
        for sid, (subscription, task) in list(self._tasks.items()):
            if wanted.get(sid) != subscription:
                task.cancel()
                del self._tasks[sid]
                self._lost(sid)
                if sid not in wanted:
                    self.connected.pop(sid, None)
                    self.bus.delete(CAMERA_EVENTS_CONNECTION, {"source": sid})
        for sid, subscription in wanted.items():
            if sid not in self._tasks:
                self.connected.setdefault(sid, False)
                self.bus.publish(CAMERA_EVENTS_CONNECTION, {"source": sid}, {"connected": "0"})
                self._tasks[sid] = (subscription, asyncio.ensure_future(self._follow(sid, subscription)))

    # -- one camera ---------------------------------------------------------------------
    async def _follow(self, sid: str, subscription: Subscription) -> None:
        backoff = 1.0
        while True:
            try:
                await self._subscribe(sid, subscription)
            except CameraEventsError as err:
                reason = str(err)
            except Exception as err:  # noqa: BLE001 - a camera's odd answer must not end its subscription for good
                log.exception("camera events of %s", sid)
                reason = f"internal error: {err}"
            was_connected = self.connected.get(sid)
            self._lost(sid)
            if was_connected:
                backoff = 1.0
            self.logs.system(f"camera {sid}: events not received ({reason}); retrying in {backoff:g} s", "warning")
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    async def _subscribe(self, sid: str, subscription: Subscription) -> None:
        url = subscription.url.rstrip("/")

        def opened() -> None:
            self.connected[sid] = True
            self.bus.publish(CAMERA_EVENTS_CONNECTION, {"source": sid}, {"connected": "1"})
            self.logs.system(f"camera {sid}: receiving its events from {urlsplit(url).netloc}")

        def received(event: Received) -> None:
            self._received(sid, event)

        if urlsplit(url).path not in ("", "/"):  # the ONVIF device service's address: PullPoint
            await self._pullpoint(url, subscription, received, opened)
            return
        auth = httpx.DigestAuth(subscription.username, subscription.password) if subscription.username else None
        # As the ONVIF client: cameras' own certificates are self-signed; Digest keeps the password off the wire.
        async with httpx.AsyncClient(timeout=TIMEOUT, auth=auth, verify=False, trust_env=False) as http:
            if await vapix.offers_vapix(http, url):
                await vapix.follow(http, url, received, opened)
                return
        await self._pullpoint(url + DEVICE_PATH, subscription, received, opened)

    @staticmethod
    async def _pullpoint(device_url: str, subscription: Subscription, received, opened) -> None:
        try:
            client = OnvifClient(device_url, subscription.username, subscription.password)
        except OnvifError as err:
            raise CameraEventsError(str(err)) from None
        try:
            await pullpoint.follow(client, received, opened)
        finally:
            await client.close()

    def _received(self, sid: str, event: Received) -> None:
        names = self._names.setdefault(sid, set())
        name = event.name
        if name not in names:
            if len(names) >= MAX_EVENTS_PER_CAMERA:
                if len(names) == MAX_EVENTS_PER_CAMERA:
                    self.logs.system(f"camera {sid} sends more than {MAX_EVENTS_PER_CAMERA} different events; "
                                     "the others are not used", "warning")
                    names.add("")  # said once
                return
            names.add(name)
        source = {"source": sid, "event": name}
        active = event.active
        if event.operation and active is not None:
            self.bus.publish(CAMERA_EVENT, source, {"active": "1" if active else "0"})
        elif not event.operation:  # a stateless camera event: a pulse
            self.bus.publish(CAMERA_EVENT, source, {"active": "1"})
            self.bus.publish(CAMERA_EVENT, source, {"active": "0"})

    def _lost(self, sid: str) -> None:
        """A camera's subscription ended: its events go inactive, then away."""
        if self.connected.get(sid):
            self.connected[sid] = False
            self.bus.publish(CAMERA_EVENTS_CONNECTION, {"source": sid}, {"connected": "0"})
        for name in self._names.pop(sid, set()) - {""}:
            self.bus.publish(CAMERA_EVENT, {"source": sid, "event": name}, {"active": "0"})
            self.bus.delete(CAMERA_EVENT, {"source": sid, "event": name})


CAMERA_EVENTS: Key[CameraEvents] = Key("camera events")
