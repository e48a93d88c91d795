"""Audio detection (Detectors > Audio detection): the microphone's sound level as 0-100 against
the alarm level `AudioSource.A0.AlarmLevel`, and the stateful `tns1:AudioSource/tnsaxis:TriggerLevel`
event (`triggered` 1 while the level is above it), which rules use as "rises above" (triggered 1),
"falls below" (0) or "passes" (the event as a trigger, either way).

The level follows the VAPIX Audio API: 0 is -90 dBFS, 100 is 0 dBFS, linear in dB, measured on
each 40 ms period of the shared capture (after the input gain and mute, as on the device). The
event rises on the first period above the alarm level and falls once the level has stayed at or
below it for `HOLD` seconds, so that speech does not make it flap between syllables. Detection
listens while the input is on; with the input off the event is 0 and the level unknown."""

from __future__ import annotations

import asyncio
import collections
import contextlib
from typing import Any

import numpy as np

from vigil.core.events import EventBus, Item, Topic
from vigil.core.params import Change, ParamDef, ParamTree, applied
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.features.audio import const as c
from vigil.features.audio.service import AudioService
from vigil.hal.audio import PERIOD, RATE, AudioError, level_dbfs

FLOOR_DBFS = -90.0  # level 0
HOLD = 0.3  # seconds at or below the alarm level before the event falls
PEAK_PERIODS = round(0.2 * RATE / PERIOD)  # the indicator shows the loudest of the last 200 ms
SOURCE = {"channel": "1"}
TOPIC = Topic(c.TRIGGER_LEVEL, "Audio detection", True, (Item("channel", "xsd:int", "Channel", ("1",)),),
              (Item("triggered", "xsd:boolean", "Above alarm level", state=True),))


def level_percent(samples: np.ndarray) -> int:
    """The sound level of `samples` on the 0-100 scale of AudioSource.A0.AlarmLevel."""
    dbfs = max(FLOOR_DBFS, level_dbfs(samples))
    return int(round((dbfs - FLOOR_DBFS) / -FLOOR_DBFS * 100))


def param_defs() -> list[ParamDef]:
    return [ParamDef(c.ALARM_LEVEL, "50", "int", minimum=0, maximum=100, read=Role.VIEWER, write=Role.OPERATOR,
                     nice="Sound level", owner=applied("audio", how="read",
                                                       note="compared with every 40 ms period of the microphone (detection.py)"))]


class AudioDetection:
    def __init__(self, service: AudioService, bus: EventBus, params: ParamTree) -> None:
        self.service = service
        self.bus = bus
        self.params = params
        self.recent: collections.deque[int] = collections.deque(maxlen=PEAK_PERIODS)
        self.triggered = False
        self.quiet_samples = 0  # captured at or below the alarm level in a row, while triggered
        self.running = False

    def declare(self) -> None:
        self.bus.declare(TOPIC)
        self._publish(False)

    @property
    def alarm_level(self) -> int:
        return int(self.params.get(c.ALARM_LEVEL))

    def on_block(self, block: np.ndarray) -> None:
        level = level_percent(block)
        self.recent.append(level)
        if level > self.alarm_level:
            self.quiet_samples = 0
            if not self.triggered:
                self._publish(True)
        elif self.triggered:
            self.quiet_samples += len(block)
            if self.quiet_samples / RATE >= HOLD:
                self._publish(False)

    def _publish(self, triggered: bool) -> None:
        self.triggered = triggered
        self.quiet_samples = 0
        self.bus.publish(c.TRIGGER_LEVEL, SOURCE, {"triggered": "1" if triggered else "0"})

    def status(self) -> dict[str, Any]:
        listening = self.running and self.on_block in self.service.listeners
        return {"inputEnabled": self.service.input_enabled, "listening": listening,
                "level": max(self.recent) if listening and self.recent else None,
                "alarmLevel": self.alarm_level, "triggered": self.triggered}

    # -- following the input ---------------------------------------------------------------
    def _follow(self) -> None:
        """Listen while the input is on; with it off the level is unknown and nothing is above it."""
        if not self.running:
            return
        if self.service.input_enabled:
            if self.on_block not in self.service.listeners:
                with contextlib.suppress(AudioError):
                    self.service.listen(self.on_block)
        else:
            self.service.unlisten(self.on_block)
            self.recent.clear()
            if self.triggered:
                self._publish(False)

    def on_params(self, changes: list[Change], actor: str) -> None:
        if any(ch.name == c.INPUT_ENABLED for ch in changes):
            self._follow()

    async def run(self) -> None:
        """The device service. The capture ends when anything stops it (the input turned off, a
        failing source): detection listens again as soon as it can."""
        self.running = True
        try:
            while True:
                self._follow()
                await asyncio.sleep(1.0)
        finally:
            self.running = False
            self.service.unlisten(self.on_block)


AUDIO_DETECTION: Key[AudioDetection] = Key("audio-detection")
