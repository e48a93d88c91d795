"""The indicator backend a device opens: simulated, unless VIGIL_HAL=linux (the kernel's LED
class, vigil/hal/linux/indicators.py)."""

from __future__ import annotations

import os

from vigil.hal.indicators import Indicators
from vigil.hal.sim.indicators import SimulatedIndicators


def open_indicators(leds: tuple[str, ...], sounds: tuple[str, ...] = (), buttons: tuple[str, ...] = ()) -> Indicators:
    if os.environ.get("VIGIL_HAL") == "linux":
        from vigil.hal.linux.indicators import LinuxIndicators  # sysfs writes, only on a real machine

        return LinuxIndicators(leds, sounds, buttons)
    return SimulatedIndicators(leds, sounds, buttons)
