"""The audio hardware interface: the speaker (output) and the microphone (input).

Audio crosses this interface as mono signed 16-bit samples at `RATE` in numpy arrays, in
periods of `PERIOD` samples (40 ms) on the input side. The settings of the manual's Audio >
Device settings take effect here, the same way in every backend (`AudioPath`): the output gain
and mute on every sample played, the input on/off, gain and mute on every sample captured,
and echo cancellation (the input is suppressed while the speaker plays, half duplex, so that a
two-way call does not hear itself).

Backends: `vigil.hal.sim.audio` (default: the speaker is a sink whose samples tests read back,
the microphone a source tests feed, and it hears the speaker as a real one does) and
`vigil.hal.linux.audio` (PulseAudio or PipeWire's pulse server: a sink and a source).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from vigil.core.registry import Key

RATE = 48_000  # samples per second, mono
BLOCK = RATE // 50  # 20 ms: what the microphone's listeners get at a time (one RTP packet's worth)
PERIOD = 2 * BLOCK  # 40 ms: what the input delivers at a time (the hardware's period). Whatever listens
# to the microphone wakes once a period: a wake-up costs more than the work done in it (bench/sip.py),
# so two blocks per wake-up halve what capturing costs, for 20 ms more latency
FULL_SCALE = 32768.0
SILENCE_DBFS = -120.0
ECHO_SUPPRESSION_DB = 40  # how far echo cancellation pulls the microphone down while the speaker plays
ECHO_THRESHOLD_DBFS = -50.0  # output above this level counts as the speaker playing
ECHO_HOLD = 0.2  # seconds the suppression lasts after a loud block was handed to the speaker: the
# backend's queue (at most about 100 ms) and the room's echo


class AudioError(Exception):
    """The audio hardware cannot do what was asked; the text is for the log and the user."""


@dataclass(frozen=True)
class AudioCapabilities:
    """What the hardware offers, as Audio Device Control lists it (getDevicesCapabilities)."""

    input_types: tuple[str, ...]  # connection types of the input (internal = the built-in microphone)
    power_types: dict[str, tuple[str, ...]]  # per input type
    input_gains: tuple[int, ...]  # dB
    output_gains: tuple[int, ...]  # dB
    output_type: str = "internal"


@dataclass
class AudioSettings:
    """The device settings the hardware path applies (Audio > Device settings)."""

    input_enabled: bool = True
    input_gain: int = 0  # dB
    input_mute: bool = False
    input_type: str = "internal"
    power_type: str = "Off"
    output_gain: int = 0  # dB
    output_mute: bool = False
    echo_cancellation: bool = False


def as_samples(data: np.ndarray) -> np.ndarray:
    """Any numeric samples as int16 (floats are -1..1)."""
    if data.dtype == np.int16:
        return data
    if np.issubdtype(data.dtype, np.floating):
        return np.clip(np.round(data * FULL_SCALE), -32768, 32767).astype(np.int16)
    return np.clip(data, -32768, 32767).astype(np.int16)


def apply_gain(samples: np.ndarray, gain_db: float, mute: bool) -> np.ndarray:
    """`samples` with the gain applied (clipped to full scale), or silence when muted."""
    if mute:
        return np.zeros(len(samples), np.int16)
    if gain_db == 0:
        return samples
    scaled = samples.astype(np.float64) * (10 ** (gain_db / 20))
    return np.clip(np.round(scaled), -32768, 32767).astype(np.int16)


def level_dbfs(samples: np.ndarray) -> float:
    """RMS level relative to a full-scale square wave (a full-scale sine reads -3 dBFS)."""
    if len(samples) == 0:
        return SILENCE_DBFS
    rms = float(np.sqrt(np.mean(np.square(samples.astype(np.float64)))))
    return max(SILENCE_DBFS, 20 * np.log10(rms / FULL_SCALE)) if rms > 0 else SILENCE_DBFS


def tone(frequency: float, seconds: float, level: float = -12.0, rate: int = RATE) -> np.ndarray:
    """A sine of `frequency` Hz whose RMS level is `level` dBFS."""
    t = np.arange(int(seconds * rate)) / rate
    amplitude = FULL_SCALE * np.sqrt(2) * 10 ** (level / 20)
    return as_samples(np.sin(2 * np.pi * frequency * t) * amplitude / FULL_SCALE)


def dominant_frequency(samples: np.ndarray, rate: int = RATE) -> float:
    """The frequency with the most energy (Hz)."""
    if len(samples) < 2:
        return 0.0
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64) * np.hanning(len(samples))))
    return float(np.fft.rfftfreq(len(samples), 1 / rate)[int(np.argmax(spectrum))])


def audible(samples: np.ndarray, threshold_dbfs: float = -60.0, block: int = BLOCK) -> np.ndarray:
    """The part of `samples` from the first to the last block above the threshold (what was heard)."""
    blocks = [i for i in range(0, len(samples), block) if level_dbfs(samples[i:i + block]) > threshold_dbfs]
    return samples[blocks[0]:blocks[-1] + block] if blocks else samples[:0]


@dataclass
class AudioPath:
    """The settings applied on the way to the speaker and from the microphone; each backend
    sends every sample through it."""

    capabilities: AudioCapabilities
    settings: AudioSettings = field(default_factory=AudioSettings)
    clock: Callable[[], float] = time.monotonic
    _loud_until: float = float("-inf")  # when echo suppression ends (`clock` time)

    def check(self, settings: AudioSettings) -> None:
        """Refuse what this hardware cannot do."""
        caps = self.capabilities
        if settings.input_type not in caps.input_types:
            raise AudioError(f"input type {settings.input_type!r} is not available: this device has "
                             f"{', '.join(caps.input_types)}")
        powers = caps.power_types.get(settings.input_type, ())
        if settings.power_type not in powers:
            raise AudioError(f"power type {settings.power_type!r} is not available for the {settings.input_type} "
                             f"input: choose {', '.join(powers)}")
        if settings.input_gain not in caps.input_gains:
            raise AudioError(f"input gain {settings.input_gain} dB is not available: "
                             f"{caps.input_gains[0]} to {caps.input_gains[-1]} dB")
        if settings.output_gain not in caps.output_gains:
            raise AudioError(f"output gain {settings.output_gain} dB is not available: "
                             f"{caps.output_gains[0]} to {caps.output_gains[-1]} dB")

    def configure(self, settings: AudioSettings) -> None:
        self.check(settings)
        self.settings = settings

    def outgoing(self, samples: np.ndarray) -> np.ndarray:
        """What reaches the speaker of `samples` played."""
        s = self.settings
        out = apply_gain(as_samples(samples), s.output_gain, s.output_mute)
        if s.echo_cancellation and level_dbfs(out) > ECHO_THRESHOLD_DBFS:
            self._loud_until = max(self._loud_until, self.clock()) + len(out) / RATE + ECHO_HOLD
        return out

    def incoming(self, samples: np.ndarray) -> np.ndarray:
        """What the device captures of `samples` from the microphone."""
        s = self.settings
        if not s.input_enabled:
            raise AudioError("the audio input is turned off (Audio > Device settings)")
        gain = s.input_gain
        if s.echo_cancellation and self.clock() <= self._loud_until:
            gain -= ECHO_SUPPRESSION_DB
        return apply_gain(as_samples(samples), gain, s.input_mute)


class AudioHardware(Protocol):
    capabilities: AudioCapabilities
    path: AudioPath  # the device settings every sample goes through

    async def play(self, samples: np.ndarray) -> None:
        """Play mono samples at RATE; returns once they are queued at most about 100 ms ahead
        of the speaker, so a caller feeding a stream is paced by the hardware."""
        ...

    async def open_input(self) -> None:
        """Start capturing (AudioError when the input is off or the source cannot be opened)."""
        ...

    async def read(self) -> np.ndarray:
        """The next PERIOD samples the microphone captured (after open_input), in real time."""
        ...

    async def close_input(self) -> None: ...

    async def close(self) -> None: ...


AUDIO_HARDWARE: Key[AudioHardware] = Key("audio")
