"""The indicator hardware interface: LEDs, sound makers (a recorder's alarm buzzer, a speaker's
siren) and push buttons (a recorder's power button).

An LED shows a `LedState`: its colours (none: off), a pattern (steady, blink, or a light
profile's pattern such as "Pulse"), a speed and an intensity. A sound maker plays a
`SoundState` or is silent (None). A button reports each press with how long it was held, so
that the layer above tells a short press from a long one. A backend that lacks a part says why
in `missing()`, which the Status page shows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vigil.core.registry import Key


@dataclass(frozen=True)
class LedState:
    colors: tuple[str, ...] = ()  # no colour: off
    pattern: str = "steady"  # steady | blink | a light profile's pattern
    speed: int = 1
    intensity: int = 100  # percent of full brightness

    @property
    def on(self) -> bool:
        return bool(self.colors) and self.intensity > 0

    def describe(self) -> str:
        if not self.on:
            return "off"
        return "/".join(self.colors) + ("" if self.pattern.lower() == "steady" else f", {self.pattern.lower()}")


OFF = LedState()


@dataclass(frozen=True)
class SoundState:
    pattern: str  # alarm | beep | a siren pattern
    intensity: int = 100  # percent of full volume


class Indicators(Protocol):
    leds: tuple[str, ...]  # the LEDs by name: status, disk1 ..., poe1 ..., light
    sounds: tuple[str, ...]  # buzzer | siren
    buttons: tuple[str, ...]  # power

    def set_led(self, name: str, state: LedState) -> None: ...

    def led(self, name: str) -> LedState: ...

    def set_sound(self, name: str, state: SoundState | None) -> None: ...

    def sound(self, name: str) -> SoundState | None: ...

    def watch_buttons(self, callback: Callable[[str, float], None]) -> None:
        """Call `callback(button, seconds held)` when a button is released."""

    def missing(self) -> dict[str, str]:
        """Each LED, sound or button this machine does not have, with the reason."""


INDICATORS: Key[Indicators] = Key("indicators")
