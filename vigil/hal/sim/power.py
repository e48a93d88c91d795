"""A simulated ignition line: tests (or the simulation API) turn the vehicle's ignition on and
off. The line is the vehicle's, not the device's: it keeps its state over the device's restarts
(in `state_file`), and starts on, as when a device is installed with the engine running."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path


class SimulatedPower:
    def __init__(self, state_file: Path | None = None) -> None:
        self.state_file = state_file
        self._ignition = state_file is None or not state_file.exists() or state_file.read_text().strip() != "off"
        self._watchers: list[Callable[[bool], None]] = []

    def ignition(self) -> bool:
        return self._ignition

    def watch(self, callback: Callable[[bool], None]) -> None:
        self._watchers.append(callback)

    def set_ignition(self, on: bool) -> None:
        """The outside world's side: the ignition key is turned."""
        if on == self._ignition:
            return
        self._ignition = on
        if self.state_file is not None:
            self.state_file.parent.mkdir(parents=True, exist_ok=True)
            self.state_file.write_text("on\n" if on else "off\n")
        for watcher in list(self._watchers):
            watcher(on)
