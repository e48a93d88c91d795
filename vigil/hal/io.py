"""The I/O port hardware interface: digital inputs (optionally supervised), outputs, relays.

A port's circuit is `open` or `closed`; a supervised input can also read `cut` or `short`
(the end-of-line resistor loop is broken or bridged).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vigil.core.registry import Key

CIRCUITS = ("open", "closed", "cut", "short")


@dataclass(frozen=True)
class PortSpec:
    index: int
    kind: str  # input | output | configurable | relay
    supervisable: bool


class IOHardware(Protocol):
    specs: list[PortSpec]

    def read(self, index: int) -> str: ...

    def drive(self, index: int, circuit: str) -> None: ...

    def set_direction(self, index: int, direction: str) -> None: ...

    def watch(self, callback: Callable[[int], None]) -> None: ...


IO_HARDWARE: Key[IOHardware] = Key("io")
