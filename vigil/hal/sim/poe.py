"""A simulated PoE switch: a test (or the simulation API) connects a powered device of a class
with a measured draw, or a device that takes no power, disconnects it, and hands a port an LLDP
frame. The switch state (what is connected, what is powered, how often each device lost power)
lives in a file, so that a restarted device finds the ports as the hardware left them."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vigil.hal.poe import CLASS_POWER_W, Detection


@dataclass
class SimulatedDevice:
    poe_class: int | None  # None: a device that takes no power (its own supply)
    draw_w: float  # what it consumes while powered
    powered: bool = False
    network: bool = True
    power_cycles: int = 0  # how often it lost power: a kept port across a restart adds none


class SimulatedPoe:
    absent = ""

    def __init__(self, ports: int, budget_w: float, port_class_limit: int, state_file: Path | None = None,
                 pse: bool = True) -> None:
        self.ports = ports
        self.pse = pse
        self.budget_w = budget_w
        self.port_class_limit = port_class_limit
        self._file = state_file
        self._devices: dict[int, SimulatedDevice] = {}
        self._enabled_power: dict[int, bool] = {}  # ports the switch powers (with or without a device)
        self._watchers: list[Callable[[int], None]] = []
        self._lldp_watchers: list[Callable[[int, bytes], None]] = []
        self._load()

    # -- the device's side -------------------------------------------------------------
    def detect(self, port: int) -> Detection | None:
        found = self._devices.get(self._checked(port))
        if found is None:
            return None
        return Detection(found.poe_class if self.pse else None)  # a port without PSE sees only the link

    def powered(self, port: int) -> bool:
        return self._enabled_power.get(self._checked(port), False)

    def set_power(self, port: int, on: bool) -> None:
        self._checked(port)
        if on and not self.pse:
            raise ValueError(f"port {port} gives no power")
        if self._enabled_power.get(port, False) == on:
            return
        self._enabled_power[port] = on
        found = self._devices.get(port)
        if found is not None and found.poe_class is not None:
            if found.powered and not on:
                found.power_cycles += 1
            found.powered = on
        self._save()

    def draw_w(self, port: int) -> float:
        found = self._devices.get(self._checked(port))
        if found is None or not found.powered:
            return 0.0
        return found.draw_w

    def set_network(self, port: int, on: bool) -> None:
        self._checked(port)
        found = self._devices.get(port)
        if found is not None:
            found.network = on
        self._save()

    def watch(self, callback: Callable[[int], None]) -> None:
        self._watchers.append(callback)

    def watch_lldp(self, callback: Callable[[int, bytes], None]) -> None:
        self._lldp_watchers.append(callback)

    # -- the outside world's side ------------------------------------------------------
    def connect(self, port: int, poe_class: int | None, draw_w: float) -> None:
        """Plug a device into `port`: a powered device of `poe_class` (0-8) drawing `draw_w`
        watts once powered, or (`poe_class` None) a device with its own supply."""
        self._checked(port)
        if poe_class is not None and poe_class not in CLASS_POWER_W:
            raise ValueError("a PoE class is 0 to 8")
        if not 0 <= draw_w <= 100:
            raise ValueError("the draw is 0 to 100 W")
        if poe_class is not None and draw_w > CLASS_POWER_W[poe_class]:
            raise ValueError(f"a class {poe_class} device draws at most {CLASS_POWER_W[poe_class]} W")
        if port in self._devices:
            raise ValueError(f"port {port} already has a device; disconnect it first")
        self._devices[port] = SimulatedDevice(poe_class, draw_w)
        self._enabled_power[port] = False  # a PSE detects and classifies before it powers
        self._save()
        self._tell(port)

    def disconnect(self, port: int) -> None:
        self._checked(port)
        if self._devices.pop(port, None) is None:
            raise ValueError(f"port {port} has no device")
        self._enabled_power[port] = False
        self._save()
        self._tell(port)

    def receive_lldp(self, port: int, frame: bytes) -> None:
        """The device on `port` sent an LLDP frame (a whole Ethernet frame)."""
        self._checked(port)
        if port not in self._devices:
            raise ValueError(f"port {port} has no device to send LLDP")
        for watcher in list(self._lldp_watchers):
            watcher(port, frame)

    def device(self, port: int) -> SimulatedDevice | None:
        return self._devices.get(self._checked(port))

    # -- inside ------------------------------------------------------------------------
    def _checked(self, port: int) -> int:
        if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= self.ports:
            raise ValueError(f"a port is 1 to {self.ports}")
        return port

    def _tell(self, port: int) -> None:
        for watcher in list(self._watchers):
            watcher(port)

    def _load(self) -> None:
        if self._file is None or not self._file.exists():
            return
        try:
            state = json.loads(self._file.read_text())
            self._enabled_power = {int(k): bool(v) for k, v in state["power"].items()}
            self._devices = {int(k): SimulatedDevice(**v) for k, v in state["devices"].items()}
        except (ValueError, KeyError, TypeError):
            self._enabled_power, self._devices = {}, {}  # an unreadable file: an empty switch

    def _save(self) -> None:
        if self._file is None:
            return
        self._file.parent.mkdir(parents=True, exist_ok=True)
        state = {"power": self._enabled_power,
                 "devices": {port: vars(found) for port, found in self._devices.items()}}
        tmp = self._file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state))
        tmp.replace(self._file)
