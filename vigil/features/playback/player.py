"""Who has the speaker: clips and live streams, one at a time.

Priority (documented for users in docs/map.md and the Audio clips page):
- A clip play replaces the clip that plays: the newest request wins, as on the device (the old
  clip stops where it is, the new one starts at once). A play of several clips (`play`'s list)
  and repeats play back to back, without a gap or an overlap at the speaker.
- A live stream (transmit.cgi, the ONVIF backchannel, the multicast controller) takes the speaker
  from a clip (the clip stops) and keeps it until the stream ends. While one plays, a clip play
  and a second live stream are refused with `SpeakerBusy`: talk is never cut by an automatic
  announcement.

The event `CLIP_PLAYING` says whether a clip plays and which; it turns off once the last sample
has left the speaker (not when it was handed over), so a rule "when the clip has ended"
(the manual's pre-announcement tone) runs after the sound, not 100 ms before it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass

import numpy as np

from vigil.core.events import EventBus, Item, Topic
from vigil.core.logs import Logs
from vigil.features.playback import const as c
from vigil.hal.audio import RATE, AudioError, AudioHardware

log = logging.getLogger("vigil.playback")


class SpeakerBusy(Exception):
    """The speaker plays a live stream: the request was refused."""


def with_volume(samples: np.ndarray, volume: int) -> np.ndarray:
    """`samples` at `volume` percent (linear; above 100 amplifies, clipped at full scale)."""
    if volume == 100:
        return samples
    scaled = samples.astype(np.float32) * (volume / 100)
    return np.clip(np.round(scaled), -32768, 32767).astype(np.int16)


@dataclass(frozen=True)
class Play:
    """One clip play request: clips played in order, the whole list `repeat` more times (-1: until stopped)."""

    clips: tuple[tuple[str, Callable[[], Iterator[np.ndarray]]], ...]  # (clip id, its decoded blocks)
    volume: int = 100
    repeat: int = 0

    def rounds(self) -> Iterator[int]:
        n = 0
        while self.repeat == c.REPEAT_FOREVER or n <= self.repeat:
            yield n
            n += 1


@dataclass(eq=False)
class _Holder:
    priority: Callable[[], int] | None
    name: str
    taken_by: _Holder | None = None


class Player:
    def __init__(self, hardware: AudioHardware, bus: EventBus, logs: Logs) -> None:
        self.hardware = hardware
        self.bus = bus
        self.logs = logs
        self._clip_task: asyncio.Task | None = None
        self._holder: _Holder | None = None  # the live stream that has the speaker
        self._heard_until = 0.0  # loop time at which the speaker has played all it was handed

    def declare(self) -> None:
        self.bus.declare(Topic(c.CLIP_PLAYING, "Audio clip playing", True, (),
                               (Item("Playing", "xsd:boolean", "Playing", state=True),
                                Item("ClipId", "xsd:string", "Clip"))))
        self._publish(None)

    @property
    def playing_clip(self) -> str | None:
        state = self.bus.state(c.CLIP_PLAYING, {})
        return (state.get("ClipId") or None) if state and state.get("Playing") == "1" else None

    @property
    def current(self) -> asyncio.Task | None:
        """The task of the clip play that has the speaker."""
        return self._clip_task

    @property
    def live(self) -> bool:
        return self._holder is not None

    @property
    def talking(self) -> bool:
        """A stream without priority (talk: transmit.cgi, the backchannel) has the speaker."""
        return self._holder is not None and self._holder.priority is None

    @property
    def ahead(self) -> float:
        """Seconds of what was handed over that the speaker has yet to play: how far behind real
        time a live stream already is (one that fell behind may skip to keep its latency down)."""
        return max(0.0, self._heard_until - asyncio.get_running_loop().time())

    def _publish(self, clip_id: str | None) -> None:
        self.bus.publish(c.CLIP_PLAYING, {}, {"Playing": "1" if clip_id else "0", "ClipId": clip_id or ""})

    # -- clips ---------------------------------------------------------------------------
    async def play(self, request: Play) -> asyncio.Task:
        """Start `request`, replacing the clip that plays; SpeakerBusy during a live stream.
        Returns the task that plays it (done when the sound has ended or was stopped)."""
        if self.live:
            raise SpeakerBusy("the speaker plays a live audio stream")
        await self._cancel()  # no "stopped" in between: the state goes from one clip to the next
        while self._clip_task is not None:  # another play started while this one waited: the newest wins
            await self._cancel()
        if self.live:  # a live stream took the speaker meanwhile
            raise SpeakerBusy("the speaker plays a live audio stream")
        task = asyncio.get_running_loop().create_task(self._run(request))
        self._clip_task = task
        return task

    async def stop(self) -> bool:
        """Stop the clip that plays; whether one did."""
        stopped = await self._cancel()
        if stopped:
            self._publish(None)
        return stopped

    async def _cancel(self) -> bool:
        task, self._clip_task = self._clip_task, None
        if task is None or task.done():
            return False
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return True

    async def _hand_over(self, samples: np.ndarray) -> None:
        loop = asyncio.get_running_loop()
        self._heard_until = max(loop.time(), self._heard_until) + len(samples) / RATE
        await self.hardware.play(samples)

    async def _drain(self) -> None:
        wait = self._heard_until - asyncio.get_running_loop().time()
        if wait > 0:
            await asyncio.sleep(wait)

    async def _run(self, request: Play) -> None:
        try:
            for _ in request.rounds():
                for clip_id, decoded in request.clips:
                    first = True
                    for block in decoded():
                        if first:
                            self._publish(clip_id)
                            first = False
                        await self._hand_over(with_volume(block, request.volume))
            await self._drain()
        except AudioError as err:
            self.logs.system(f"Audio clip stopped: {err}", "warning")
        except Exception:  # a clip file that went bad on disk must not take the player down
            log.exception("audio clip playback failed")
            self.logs.system("Audio clip stopped: it could not be decoded", "error")
        finally:
            if self._clip_task is asyncio.current_task():
                self._clip_task = None
                self._publish(None)

    # -- live streams --------------------------------------------------------------------
    def free_for(self, priority: Callable[[], int] | None) -> bool:
        """Whether a live stream of `priority` would get the speaker now (see live_stream): a
        stream that lost it may ask this on each block it receives and take the speaker back then."""
        holder = self._holder
        return holder is None or (priority is not None and holder.priority is not None
                                  and priority() > holder.priority())

    @contextlib.asynccontextmanager
    async def live_stream(self, priority: Callable[[], int] | None = None,
                          name: str = "another live audio stream") -> AsyncIterator[Callable[[np.ndarray], object]]:
        """Hold the speaker for a live stream (stopping a clip); yields the coroutine function
        that plays its samples; the stream has ended, heard, when the block exits.

        Streams with a `priority` (the multicast controller's sources and SIP calls, as VAPIX
        ranks them against each other) take the speaker from a stream of lower priority: that
        stream's next samples raise SpeakerBusy. Otherwise, and always against talk (transmit.cgi,
        the backchannel: no priority), a stream that holds the speaker keeps it."""
        holder = self._holder
        if holder is not None and not self.free_for(priority):
            raise SpeakerBusy(f"the speaker plays {holder.name}")
        mine = _Holder(priority, name)
        if holder is not None:
            holder.taken_by = mine
            self.logs.system(f"{name.capitalize()} takes the speaker from {holder.name} (higher priority)")
        self._holder = mine

        async def play(samples: np.ndarray) -> None:
            if mine.taken_by is not None:
                raise SpeakerBusy(f"the speaker was taken by {mine.taken_by.name}, of higher priority")
            await self._hand_over(samples)

        try:
            await self.stop()
            yield play
            await self._drain()
        except asyncio.CancelledError:  # ended at once (a call hung up): what it handed over is not waited for
            if self._holder is mine:
                self._heard_until = min(self._heard_until, asyncio.get_running_loop().time())
            raise
        finally:
            if self._holder is mine:
                self._holder = None
