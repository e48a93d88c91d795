"""Simulated I/O ports: a test (or the simulation API) closes, opens, cuts or shorts an
input's loop, and reads what the device drives on its outputs."""

from __future__ import annotations

from collections.abc import Callable

from vigil.hal.io import CIRCUITS, PortSpec


class SimulatedIO:
    def __init__(self, specs: list[PortSpec]) -> None:
        self.specs = specs
        self._circuit = {s.index: "open" for s in specs}
        self._direction = {s.index: ("output" if s.kind in ("output", "relay") else "input") for s in specs}
        self._watchers: list[Callable[[int], None]] = []

    # -- the device's side -------------------------------------------------------------
    def read(self, index: int) -> str:
        return self._circuit[index]

    def drive(self, index: int, circuit: str) -> None:
        if self._direction[index] != "output":
            raise ValueError(f"port {index} is not an output")
        self._circuit[index] = circuit

    def set_direction(self, index: int, direction: str) -> None:
        self._direction[index] = direction
        self._circuit[index] = "open"

    def watch(self, callback: Callable[[int], None]) -> None:
        self._watchers.append(callback)

    # -- the outside world's side ------------------------------------------------------
    def set_input(self, index: int, circuit: str) -> None:
        """Change what is wired to an input: open, closed, cut or short."""
        if circuit not in CIRCUITS:
            raise ValueError(f"circuit must be one of {', '.join(CIRCUITS)}")
        if self._direction[index] != "input":
            raise ValueError(f"port {index} is not an input")
        if self._circuit[index] != circuit:
            self._circuit[index] = circuit
            for watcher in list(self._watchers):
                watcher(index)

    def output(self, index: int) -> str:
        """What the device drives on an output: open or closed."""
        return self._circuit[index]
