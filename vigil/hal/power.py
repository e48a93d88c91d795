"""The power input interface: the vehicle's ignition line on the power connector's terminal
block (on = the engine runs), as the power layer reads it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from vigil.core.registry import Key


class PowerHardware(Protocol):
    def ignition(self) -> bool:
        """Whether the ignition line is on."""

    def watch(self, callback: Callable[[bool], None]) -> None:
        """Call `callback` with the new state each time the ignition line changes."""


POWER_HARDWARE: Key[PowerHardware] = Key("power")
