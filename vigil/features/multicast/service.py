"""The multicast controller: its sources (stored together, SRTP keys sealed), the groups the
speaker joins for them, and which stream has the speaker.

Who plays: of the sources whose stream arrives (an authenticated RTP packet within
STREAM_TIMEOUT), the one with the highest priority; at equal priority the one that plays keeps
the speaker. A source that starts above the one that plays takes the speaker at once; when the
stream that plays stops, the next source still arriving plays, or nothing. Towards the rest of
the speaker the controller is one live stream of the player (playback/player.py): it stops a
clip that plays, and while transmit.cgi or the ONVIF backchannel talks it is refused, its packets
dropped (the refusal is logged once) and the speaker asked again a stream timeout later.

Codecs: the controller's "Audio codec" (`codec`, the manual's global select) is the codec of
every source that names none of its own; a source may name its own (the issue's per-source
codec). Changing the controller's codec re-opens the sources that follow it.

The groups are joined on the network settings' interface when it is one of this machine's,
otherwise on the interface of the address the device listens on, or loopback when it listens there."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.features.discovery.interfaces import Interface, from_network, group_socket
from vigil.features.multicast import const as c
from vigil.features.multicast.model import Source, SourceError, merged
from vigil.features.multicast.receiver import Depacketizer, Receiver
from vigil.features.playback.player import Player, SpeakerBusy, with_volume
from vigil.hal.network import InterfaceState

log = logging.getLogger("vigil.multicast")

LOOPBACK = Interface("lo", "127.0.0.1", 1)
QUEUE = 200  # decoded blocks (50 ms each) waiting for the speaker: 10 s


@dataclass
class Reception:
    source: Source
    transport: asyncio.DatagramTransport
    depacketizer: Depacketizer
    codec: str  # what it was opened for: the source's own, or the controller's
    last: float = 0.0  # loop time of the last accepted packet
    arriving: bool = False
    warned: bool = False  # a stream of another codec was logged


class MulticastService:
    def __init__(self, store: Store, vault: Vault, player: Player, bus: EventBus, logs: Logs,
                 default_interfaces: Callable[[], list[Interface]]) -> None:
        self.store = store
        self.vault = vault
        self.player = player
        self.bus = bus
        self.logs = logs
        self.default_interfaces = default_interfaces
        self.enabled = False
        self.codec = c.DEFAULT_CODEC
        self.sources: dict[str, Source] = {}
        self._network: list[Interface] | None = None  # the network settings' interfaces, when on this host
        self._receptions: dict[str, Reception] = {}
        self._playing: str | None = None
        self._queue: asyncio.Queue[tuple[str, np.ndarray] | None] = asyncio.Queue(QUEUE)
        self._speaker: asyncio.Task | None = None
        self._busy_until = 0.0
        self._refusal_logged = False
        self._running = False

    # -- settings --------------------------------------------------------------------------
    def load(self) -> None:
        stored = json.loads(self.store.get_kv(c.KV_SETTINGS) or "{}")
        self.enabled = bool(stored.get("enabled", False))
        self.codec = stored.get("codec", c.DEFAULT_CODEC)
        self.sources = {s["id"]: Source(**s) for s in stored.get("sources", [])}
        self.bus.declare(Topic(c.PLAYING, "Multicast stream playing", True,
                               (Item("Source", "xsd:string", "Source"),),
                               (Item("Playing", "xsd:boolean", "Playing", state=True),
                                Item("Label", "xsd:string", "Label"))))
        for source in self.sources.values():
            self._publish(source, False)

    def _save(self) -> None:
        self.store.set_kv(c.KV_SETTINGS, json.dumps(
            {"enabled": self.enabled, "codec": self.codec, "sources": [s.stored() for s in self.sources.values()]}))

    def _checked(self, fields: dict[str, Any], source_id: str) -> Source:
        key = fields.pop("srtpKey", None)
        if key is not None:
            fields["srtp_key"] = self.vault.seal(key)
        source = Source(id=source_id, **{k: v for k, v in fields.items() if k != "id"})
        for other in self.sources.values():
            if other.id == source.id:
                continue
            if other.label == source.label:
                raise SourceError(f"the label {source.label} is used by source {other.id}", 409)
            if (other.address, other.port) == (source.address, source.port):
                raise SourceError(f"source {other.id} ({other.label}) already receives {source.address} port "
                                  f"{source.port}", 409)
        return source

    async def set_enabled(self, on: bool, who: str) -> None:
        self.enabled = on
        self._save()
        self.logs.audit(who, f"turned the multicast controller {'on' if on else 'off'}", "multicast")
        await self.sync()

    async def set_codec(self, codec: str, who: str) -> None:
        """The controller's codec (check_codec first): the sources without their own play it."""
        self.codec = codec
        self._save()
        self.logs.audit(who, f"set the multicast controller's audio codec to {codec}", "multicast")
        await self.sync()

    def codec_of(self, source: Source) -> str:
        return source.codec or self.codec

    async def add(self, data: Any, who: str) -> Source:
        if len(self.sources) >= c.MAX_SOURCES:
            raise SourceError(f"the multicast controller has {c.MAX_SOURCES} sources, the most it takes: remove one "
                              f"first", 409)
        number = max((int(i) for i in self.sources), default=0) + 1
        source = self._checked(merged(data, None), str(number))
        self.sources[source.id] = source
        self._save()
        self._publish(source, False)
        self.logs.audit(who, f"added the multicast source {source.id} ({source.label}, {source.address}:"
                             f"{source.port}, {self.codec_of(source)}, priority {source.priority})", "multicast")
        await self.sync()
        return source

    async def update(self, source_id: str, data: Any, who: str) -> Source:
        old = self.get(source_id)
        source = self._checked(merged(data, old.stored()), source_id)
        self.sources[source_id] = source
        self._save()
        changed = ", ".join(sorted(data)) if isinstance(data, dict) else ""
        self.logs.audit(who, f"changed the multicast source {source_id} ({source.label}): {changed}", "multicast")
        await self.sync()
        return source

    async def remove(self, source_id: str, who: str) -> None:
        source = self.get(source_id)
        del self.sources[source_id]
        self._save()
        self.logs.audit(who, f"removed the multicast source {source_id} ({source.label})", "multicast")
        await self.sync()
        self.bus.publish(c.PLAYING, {"Source": source_id}, {"Playing": "0", "Label": source.label})

    def get(self, source_id: str) -> Source:
        found = self.sources.get(source_id)
        if found is None:
            raise SourceError(f"there is no multicast source {source_id[:16]}", 404)
        return found

    @property
    def playing(self) -> Source | None:
        return self._receptions[self._playing].source if self._playing in self._receptions else None

    def arriving(self, source_id: str) -> bool:
        reception = self._receptions.get(source_id)
        return bool(reception and reception.arriving)

    # -- interfaces ------------------------------------------------------------------------
    def on_network(self, state: InterfaceState) -> None:
        """The network settings' interface changed (`NetworkService.on_interface`)."""
        self._network = from_network(state)
        if self._running:
            self._close_all()
            asyncio.get_running_loop().create_task(self.sync())

    def interfaces(self) -> list[Interface]:
        if self._network is not None:
            return self._network
        return self.default_interfaces() or [LOOPBACK]

    # -- reception -------------------------------------------------------------------------
    async def run(self) -> None:
        self._running = True
        try:
            await self.sync()
            while True:
                await asyncio.sleep(c.STREAM_TIMEOUT / 5)
                self._expire(asyncio.get_running_loop().time())
        finally:
            self._running = False
            self._close_all()

    async def sync(self) -> None:
        """Receive what the settings say: close what changed or went, open what is new."""
        if not self._running:
            return
        wanted = self.sources if self.enabled else {}
        for source_id, reception in list(self._receptions.items()):
            wanted_source = wanted.get(source_id)
            if wanted_source != reception.source or self.codec_of(reception.source) != reception.codec:
                self._close(source_id)
        loop = asyncio.get_running_loop()
        interfaces = self.interfaces()
        for source_id, source in wanted.items():
            if source_id in self._receptions:
                continue
            key = base64.b64decode(self.vault.unseal(source.srtp_key)) if source.srtp_key else None
            try:
                sock = group_socket(source.address, source.port, interfaces)
            except OSError as err:
                self.logs.system(f"Multicast source {source.label} cannot receive {source.address} port "
                                 f"{source.port}: {err.strerror or err}", "error")
                continue
            transport, _ = await loop.create_datagram_endpoint(
                lambda sid=source_id: Receiver(lambda packet: self._packet(sid, packet)), sock=sock)
            codec = self.codec_of(source)
            self._receptions[source_id] = Reception(source, transport, Depacketizer(codec, key), codec)
            log.info("joined %s:%d on %s", source.address, source.port, ", ".join(i.name for i in interfaces))

    def _close(self, source_id: str) -> None:
        reception = self._receptions.pop(source_id)
        reception.transport.close()
        if reception.arriving:
            self._stopped(reception)

    def _close_all(self) -> None:
        for source_id in list(self._receptions):
            self._close(source_id)

    def _packet(self, source_id: str, packet: bytes) -> None:
        reception = self._receptions.get(source_id)
        if reception is None:
            return
        payload = reception.depacketizer.payload(packet)
        if payload is None:
            wrong = reception.depacketizer.wrong_type
            if wrong is not None and not reception.warned:
                reception.warned = True
                expected = c.CODECS[reception.codec][1]
                self.logs.system(f"Multicast source {reception.source.label} receives RTP payload type {wrong}, not "
                                 f"{reception.codec} (payload type {expected} or a dynamic one; L16 is played mono "
                                 f"only): not played", "warning")
            return
        now = asyncio.get_running_loop().time()
        reception.last = now
        if not reception.arriving:
            reception.arriving = True
            self.logs.system(f"Multicast stream {reception.source.label} ({reception.source.address}:"
                             f"{reception.source.port}) arrives")
        playing = self.playing
        if now >= self._busy_until and (playing is None or reception.source.priority > playing.priority):
            self._take(reception)
        if self._playing != source_id:
            return
        samples = reception.depacketizer.samples(payload)
        if len(samples):
            with contextlib.suppress(asyncio.QueueFull):  # a sender faster than real time loses the excess
                self._queue.put_nowait((source_id, with_volume(samples, reception.source.volume)))
            if self._speaker is None or self._speaker.done():
                self._speaker = asyncio.get_running_loop().create_task(self._speak())

    def _take(self, reception: Reception) -> None:
        before = self.playing
        if before is not None:
            self._publish(before, False)
        self._playing = reception.source.id
        self._publish(reception.source, True)
        self.logs.system(f"Multicast stream {reception.source.label} (priority {reception.source.priority}) plays"
                         + (f", in place of {before.label}" if before else ""))

    def _expire(self, now: float) -> None:
        for reception in list(self._receptions.values()):
            if reception.arriving and now - reception.last > c.STREAM_TIMEOUT:
                self._stopped(reception)

    def _stopped(self, reception: Reception) -> None:
        reception.arriving = False
        self.logs.system(f"Multicast stream {reception.source.label} has stopped")
        if self._playing != reception.source.id:
            return
        self._publish(reception.source, False)
        self._playing = None
        waiting = [r for r in self._receptions.values() if r.arriving]
        if waiting:
            self._take(max(waiting, key=lambda r: r.source.priority))
        else:
            while not self._queue.empty():  # what is left of the stream is not played; the end always fits
                self._queue.get_nowait()
            self._queue.put_nowait(None)

    async def _speak(self) -> None:
        try:
            async with self.player.live_stream(self._priority, "the multicast controller's stream") as play:
                self._refusal_logged = False
                while (item := await self._queue.get()) is not None or self._playing is not None:
                    if item is not None and item[0] == self._playing:
                        await play(item[1])
        except SpeakerBusy as err:
            self._busy_until = asyncio.get_running_loop().time() + c.STREAM_TIMEOUT
            playing = self.playing
            if playing is not None:
                if not self._refusal_logged:
                    self.logs.system(f"Multicast stream {playing.label} is not played: {err}", "warning")
                    self._refusal_logged = True
                self._publish(playing, False)
                self._playing = None
            while not self._queue.empty():
                self._queue.get_nowait()

    def _priority(self) -> int:
        """The priority the controller holds the speaker with (against SIP calls): the playing source's."""
        playing = self.playing
        return playing.priority if playing is not None else 0

    def _publish(self, source: Source, playing: bool) -> None:
        self.bus.publish(c.PLAYING, {"Source": source.id}, {"Playing": "1" if playing else "0",
                                                            "Label": source.label})


MULTICAST_SERVICE: Key[MulticastService] = Key("multicast")
