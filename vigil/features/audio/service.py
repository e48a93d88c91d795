"""The audio feature's domain: the device settings as parameters, applied to the audio
hardware's path as they change (a change the hardware cannot do is refused before it is
stored), and the microphone shared by everyone who listens (the live stream today; detection,
recording and the speaker test later) with one capture running while anyone does."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import numpy as np

from vigil.core.logs import Logs
from vigil.core.params import Change, ParamDef, ParamTree, applied
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.features.audio import const as c
from vigil.hal.audio import AudioError, AudioHardware, AudioSettings

log = logging.getLogger("vigil.audio")

OP = Role.OPERATOR
PATH = applied("audio", how="listener", note="applied to every sample played and captured (vigil/hal/audio.py)")
STREAM = applied("audio", how="read", note="the encoding of the input's live RTSP stream, read at DESCRIBE")

Listener = Callable[[np.ndarray], None]  # given each period the microphone captures (hal.audio.PERIOD)


def param_defs(hardware: AudioHardware) -> list[ParamDef]:
    caps = hardware.capabilities
    powers = tuple(dict.fromkeys(p for t in caps.input_types for p in caps.power_types.get(t, ())))
    return [
        ParamDef(c.INPUT_ENABLED, "yes", "bool", read=OP, write=OP, owner=PATH),
        ParamDef(c.INPUT_GAIN, "0", "int", minimum=caps.input_gains[0], maximum=caps.input_gains[-1], read=OP,
                 write=OP, owner=PATH),
        ParamDef(c.INPUT_MUTE, "no", "bool", read=OP, write=OP, owner=PATH),
        ParamDef(c.INPUT_TYPE, caps.input_types[0], "enum", caps.input_types, read=OP, write=OP, owner=PATH),
        ParamDef(c.POWER_TYPE, powers[0], "enum", powers, read=OP, write=OP, owner=PATH),
        ParamDef(c.OUTPUT_GAIN, "0", "int", minimum=caps.output_gains[0], maximum=caps.output_gains[-1], read=OP,
                 write=OP, owner=PATH),
        ParamDef(c.OUTPUT_MUTE, "no", "bool", read=OP, write=OP, owner=PATH),
        ParamDef(c.ECHO_CANCELLATION, "no", "bool", read=OP, write=OP, owner=PATH),
        ParamDef(c.ENCODING, "g711", "enum", c.ENCODINGS, read=Role.VIEWER, write=OP, owner=STREAM),
    ]


class AudioService:
    def __init__(self, hardware: AudioHardware, params: ParamTree, logs: Logs) -> None:
        self.hardware = hardware
        self.params = params
        self.logs = logs
        self.listeners: list[Listener] = []
        self.network_streams = 0  # the microphone's streams to clients (receive.cgi, RTSP): VMS calls count them
        self._stopped: dict[Listener, Callable[[], None]] = {}  # told when the capture ends without unlisten
        self._capture: asyncio.Task | None = None

    # -- settings ------------------------------------------------------------------------
    def settings(self, view: Callable[[str], str] | None = None) -> AudioSettings:
        get = view or self.params.get
        return AudioSettings(
            input_enabled=get(c.INPUT_ENABLED) == "yes", input_gain=int(get(c.INPUT_GAIN)),
            input_mute=get(c.INPUT_MUTE) == "yes", input_type=get(c.INPUT_TYPE), power_type=get(c.POWER_TYPE),
            output_gain=int(get(c.OUTPUT_GAIN)), output_mute=get(c.OUTPUT_MUTE) == "yes",
            echo_cancellation=get(c.ECHO_CANCELLATION) == "yes")

    def veto(self, new: dict[str, str]) -> tuple[str, str] | None:
        """A `ParamTree.vetoes` hook: refuse settings the hardware cannot do, before they are stored."""
        changed = [name for name in c.SETTINGS if name in new]
        if not changed:
            return None
        try:
            self.hardware.path.check(self.settings(lambda name: new.get(name, self.params.get(name))))
        except AudioError as err:
            return changed[0], str(err)
        return None

    def on_params(self, changes: list[Change], actor: str) -> None:
        if any(ch.name in c.SETTINGS for ch in changes):
            self.apply()
            if any(ch.name == c.INPUT_ENABLED for ch in changes) and not self.input_enabled:
                self.stop_capture()

    def apply(self) -> None:
        self.hardware.path.configure(self.settings())

    @property
    def input_enabled(self) -> bool:
        return self.params.get_bool(c.INPUT_ENABLED)

    @property
    def encoding(self) -> str:
        return self.params.get(c.ENCODING)

    # -- the microphone, shared --------------------------------------------------------
    def listen(self, listener: Listener, stopped: Callable[[], None] | None = None) -> None:
        """Call `listener` with each period the microphone captures, until `unlisten`; the
        capture starts with the first listener. AudioError when the input is off. `stopped` is
        called if the capture ends first (the input turned off, the hardware failed): a listener
        that is clocked by the blocks learns that they stopped."""
        if not self.input_enabled:
            raise AudioError("the audio input is turned off (Audio > Device settings)")
        self.listeners.append(listener)
        if stopped is not None:
            self._stopped[listener] = stopped
        if self._capture is None or self._capture.done():
            self._capture = asyncio.get_running_loop().create_task(self._run_capture())

    def unlisten(self, listener: Listener) -> None:
        if listener in self.listeners:
            self.listeners.remove(listener)
        self._stopped.pop(listener, None)

    def stop_capture(self) -> None:
        if self._capture is not None:
            self._capture.cancel()

    async def _run_capture(self) -> None:
        hw = self.hardware
        try:
            await hw.open_input()
            while self.listeners:
                period = await hw.read()
                for listener in list(self.listeners):
                    listener(period)
        except AudioError as err:
            self.logs.system(f"Audio capture stopped: {err}", "warning")
        finally:
            self.listeners.clear()
            stopped, self._stopped = list(self._stopped.values()), {}
            for tell in stopped:
                tell()
            with contextlib.suppress(AudioError):
                await hw.close_input()

    async def run(self) -> None:
        """The device service: the hardware closes with the device."""
        try:
            await asyncio.Event().wait()
        finally:
            self.stop_capture()
            await self.hardware.close()


AUDIO_SERVICE: Key[AudioService] = Key("audio")
