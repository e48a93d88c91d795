"""Indicators on a Linux machine: LEDs through the kernel's LED class (/sys/class/leds).

The kernel names an LED `devicename:color:function` (Documentation/leds/leds-class.rst); the
device's LED `status` in green is the entry whose colour is `green` and whose function is
`status` (`nvr:green:status`, or `green:status`). Each colour of a logical LED is one entry: the
colours it shows get their brightness (max_brightness scaled by the intensity), the others 0; a
pattern other than steady is the `timer` trigger, with delay_on/delay_off from the speed. A
buzzer wired as an LED-class GPIO (function `buzzer`) sounds the same way. Parts the machine
lacks are listed by `missing()` with the reason; the power button stays with the host (systemd-
logind handles KEY_POWER), so it is reported missing too.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from vigil.hal.indicators import OFF, LedState, SoundState

log = logging.getLogger("vigil.hal")
SYSFS_LEDS = Path("/sys/class/leds")
COLORS = ("red", "green", "blue", "amber", "white", "yellow", "orange")


def entries(root: Path) -> dict[tuple[str, str], Path]:
    """(function, colour) -> the LED-class directory, for every entry named with a colour."""
    found: dict[tuple[str, str], Path] = {}
    if not root.is_dir():
        return found
    for entry in sorted(root.iterdir()):
        parts = entry.name.split(":")
        if len(parts) >= 2 and parts[-2] in COLORS:
            found[(parts[-1], parts[-2])] = entry
    return found


class LinuxIndicators:
    def __init__(self, leds: tuple[str, ...], sounds: tuple[str, ...] = (), buttons: tuple[str, ...] = (),
                 root: Path = SYSFS_LEDS) -> None:
        self.leds = leds
        self.sounds = sounds
        self.buttons = buttons
        self.root = root
        self._entries = entries(root)
        self._leds = dict.fromkeys(leds, OFF)
        self._sounds: dict[str, SoundState | None] = dict.fromkeys(sounds)

    def _colors_of(self, function: str) -> dict[str, Path]:
        return {color: path for (f, color), path in self._entries.items() if f == function}

    def missing(self) -> dict[str, str]:
        why: dict[str, str] = {}
        where = f"{self.root}" if self.root.is_dir() else f"{self.root} (not there: no LED class on this machine)"
        for name in (*self.leds, *self.sounds):
            if not self._colors_of(name):
                why[name] = f"no LED-class entry named <device>:<colour>:{name} in {where}"
        for name in self.buttons:
            why[name] = "the host handles the power button (systemd-logind); the device does not read it"
        return why

    def set_led(self, name: str, state: LedState) -> None:
        self._leds[name] = state
        self._write(name, state)

    def led(self, name: str) -> LedState:
        return self._leds[name]

    def set_sound(self, name: str, state: SoundState | None) -> None:
        self._sounds[name] = state
        self._write(name, LedState(("red",), "blink" if state else "steady", 2, state.intensity) if state else OFF,
                    any_color=True)

    def sound(self, name: str) -> SoundState | None:
        return self._sounds[name]

    def watch_buttons(self, callback: Callable[[str, float], None]) -> None:
        return None  # see missing(): the host keeps the power button

    def _write(self, name: str, state: LedState, any_color: bool = False) -> None:
        for color, path in self._colors_of(name).items():
            lit = state.on and (any_color or color in state.colors)
            try:
                top = int((path / "max_brightness").read_text().strip() or "1")
                level = max(1, top * state.intensity // 100) if lit else 0
                blinking = lit and state.pattern.lower() != "steady"
                (path / "trigger").write_text("timer\n" if blinking else "none\n")
                if blinking:
                    period = max(50, 500 // max(1, state.speed))
                    (path / "delay_on").write_text(f"{period}\n")
                    (path / "delay_off").write_text(f"{period}\n")
                (path / "brightness").write_text(f"{level}\n")
            except OSError as err:  # a read-only or vanished entry: say so, keep the state
                log.warning("LED %s (%s) could not be set: %s", name, path, err)
