"""Simulated audio: the speaker is a sink that keeps every sample that reached it (tests read
its level, tone and duration back), the microphone a source tests feed, and, as in a real room,
the microphone also hears what the speaker plays. Both run in real time on the event loop's clock."""

from __future__ import annotations

import asyncio

import numpy as np

from vigil.hal.audio import PERIOD, RATE, AudioCapabilities, AudioError, AudioPath, as_samples

AHEAD = 0.1  # seconds the speaker's queue may hold before play() waits
ROOM_LIMIT = 10 * RATE  # samples the room keeps for a microphone that reads slowly

C1410 = AudioCapabilities(input_types=("internal",), power_types={"internal": ("Off",)},
                          input_gains=tuple(range(-30, 31)), output_gains=tuple(range(-60, 1)))


class SimulatedAudio:
    def __init__(self, capabilities: AudioCapabilities = C1410) -> None:
        self.capabilities = capabilities
        self.path = AudioPath(capabilities)
        self.sink: list[np.ndarray] = []  # what reached the speaker, in order
        self._queued_until = 0.0  # loop time at which the speaker has played all it was given
        self._fed = np.zeros(0, np.int16)
        self._room = np.zeros(0, np.int16)  # played, not yet heard by the microphone
        self._input_open = False
        self._next_block = 0.0

    # -- the device's side -------------------------------------------------------------
    async def play(self, samples: np.ndarray) -> None:
        out = self.path.outgoing(samples)
        now = asyncio.get_running_loop().time()
        self._queued_until = max(now, self._queued_until) + len(out) / RATE
        self.sink.append(out)
        if self._input_open:
            self._room = np.concatenate([self._room, out])[-ROOM_LIMIT:]
        wait = self._queued_until - now - AHEAD
        if wait > 0:
            await asyncio.sleep(wait)

    async def open_input(self) -> None:
        if not self.path.settings.input_enabled:
            raise AudioError("the audio input is turned off (Audio > Device settings)")
        if not self._input_open:
            self._input_open = True
            self._next_block = asyncio.get_running_loop().time()

    async def read(self) -> np.ndarray:
        if not self._input_open:
            raise AudioError("the audio input is not open")
        self._next_block += PERIOD / RATE
        wait = self._next_block - asyncio.get_running_loop().time()
        if wait > 0:
            await asyncio.sleep(wait)
        if len(self._fed) and len(self._room):  # both sound: mix them
            fed, self._fed = self._take(self._fed)
            room, self._room = self._take(self._room)
            mixed = np.clip(fed.astype(np.int32) + room.astype(np.int32), -32768, 32767).astype(np.int16)
        elif len(self._fed):  # one alone needs no mixing (a period every 40 ms: keep the simulation cheap)
            mixed, self._fed = self._take(self._fed)
        else:
            mixed, self._room = self._take(self._room)
        return self.path.incoming(mixed)

    async def close_input(self) -> None:
        self._input_open = False
        self._room = np.zeros(0, np.int16)

    async def close(self) -> None:
        await self.close_input()

    @staticmethod
    def _take(buffer: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        period = buffer[:PERIOD]
        if len(period) < PERIOD:
            period = np.concatenate([period, np.zeros(PERIOD - len(period), np.int16)])
        return period, buffer[PERIOD:]

    # -- the outside world's side ------------------------------------------------------
    def feed(self, samples: np.ndarray) -> None:
        """Sound reaching the microphone (mono at RATE), heard from its next block on."""
        self._fed = np.concatenate([self._fed, as_samples(samples)])

    @property
    def fed_seconds(self) -> float:
        """How much fed sound the microphone has yet to hear."""
        return len(self._fed) / RATE

    def sink_samples(self) -> np.ndarray:
        """Everything the speaker played, in order."""
        return np.concatenate(self.sink) if self.sink else np.zeros(0, np.int16)

    def clear_sink(self) -> None:
        self.sink.clear()
