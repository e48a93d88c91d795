"""The PoE switch hardware interface (power sourcing equipment, PSE): its ports, what is
detected on each (a powered device's class, or a device that takes no power), power on/off,
the measured draw, network on/off ("power only"), and the LLDP frames a port receives.

A recorder without a PoE switch (the S4000) has the same ports without power (`pse` False): a
device on one is seen by its link only, and the ports' network can still be turned off.

A backend that finds no PSE says why in `absent`; the feature then refuses every request
with that reason instead of pretending ports exist.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vigil.core.registry import Key

# The power a PSE delivers at the port for each IEEE 802.3af/at/bt class, in watts.
CLASS_POWER_W = {0: 15.4, 1: 4.0, 2: 7.0, 3: 15.4, 4: 30.0, 5: 45.0, 6: 60.0, 7: 75.0, 8: 90.0}
CLASSES = tuple(CLASS_POWER_W)


@dataclass(frozen=True)
class Detection:
    """What the PSE sees on a port: nothing (None elsewhere), a powered device of `poe_class`,
    or a device with a link that takes no power (`poe_class` None)."""

    poe_class: int | None
    link: bool = True


class PoeHardware(Protocol):
    ports: int  # numbered 1..ports
    budget_w: float
    port_class_limit: int  # the highest class a port powers
    pse: bool  # False: plain network ports (the S4000's), which detect a link and give no power
    absent: str  # why there is no PSE; empty when there is one

    def detect(self, port: int) -> Detection | None: ...

    def powered(self, port: int) -> bool: ...

    def set_power(self, port: int, on: bool) -> None: ...

    def draw_w(self, port: int) -> float: ...

    def set_network(self, port: int, on: bool) -> None: ...

    def watch(self, callback: Callable[[int], None]) -> None:
        """`callback(port)` when a device is connected to or removed from a port."""

    def watch_lldp(self, callback: Callable[[int, bytes], None]) -> None:
        """`callback(port, frame)` for each LLDP Ethernet frame a port receives."""


POE_HARDWARE: Key[PoeHardware] = Key("poe")
