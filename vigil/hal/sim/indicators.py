"""Simulated indicators: LEDs and sound makers keep the state the device sets, which tests (and
the simulation API) read; `press` is a hand on a button."""

from __future__ import annotations

from collections.abc import Callable

from vigil.hal.indicators import OFF, LedState, SoundState


class SimulatedIndicators:
    def __init__(self, leds: tuple[str, ...], sounds: tuple[str, ...] = (), buttons: tuple[str, ...] = ()) -> None:
        self.leds = leds
        self.sounds = sounds
        self.buttons = buttons
        self._leds = dict.fromkeys(leds, OFF)
        self._sounds: dict[str, SoundState | None] = dict.fromkeys(sounds)
        self._watchers: list[Callable[[str, float], None]] = []
        self.history: list[tuple[str, str]] = []  # (part, what it did), for tests of brief signals

    def set_led(self, name: str, state: LedState) -> None:
        if name not in self._leds:
            raise KeyError(f"no LED {name!r}")
        if self._leds[name] != state:
            self.history.append((name, state.describe()))
        self._leds[name] = state

    def led(self, name: str) -> LedState:
        return self._leds[name]

    def set_sound(self, name: str, state: SoundState | None) -> None:
        if name not in self._sounds:
            raise KeyError(f"no sound maker {name!r}")
        if self._sounds[name] != state:
            self.history.append((name, state.pattern if state else "silent"))
        self._sounds[name] = state

    def sound(self, name: str) -> SoundState | None:
        return self._sounds[name]

    def watch_buttons(self, callback: Callable[[str, float], None]) -> None:
        self._watchers.append(callback)

    def missing(self) -> dict[str, str]:
        return {}

    def press(self, button: str, seconds: float) -> None:
        """Someone holds `button` for `seconds` and lets go."""
        if button not in self.buttons:
            raise KeyError(f"no button {button!r}")
        for watcher in list(self._watchers):
            watcher(button, seconds)
