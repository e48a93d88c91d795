"""A simulated Bluetooth LE radio: scripted advertisers that tests (or the simulation API) make
the device hear, at a signal strength of their choosing, and a view of what the device has on
the air. No radio is touched."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from vigil.hal.ble import BleError, Broadcast, Heard

MAX_ADVERTISEMENTS = 5  # what a common adapter offers (BlueZ's SupportedInstances)


class SimulatedBle:
    def __init__(self) -> None:
        self._watchers: list[Callable[[Heard], None]] = []
        self._on_air: dict[str, Broadcast] = {}
        self._air_watchers: list[Callable[[dict[str, Broadcast]], None]] = []
        self.scanning = True  # the simulated radio listens from the start, services running or not

    # -- the device's side -------------------------------------------------------------
    def watch(self, callback: Callable[[Heard], None]) -> None:
        self._watchers.append(callback)

    async def start(self) -> None:
        self.scanning = True

    async def close(self) -> None:
        self.scanning = False
        self._on_air.clear()

    async def advertise(self, key: str, broadcast: Broadcast) -> None:
        if key not in self._on_air and len(self._on_air) >= MAX_ADVERTISEMENTS:
            raise BleError(f"the radio broadcasts at most {MAX_ADVERTISEMENTS} advertisements at once")
        self._on_air[key] = broadcast
        self._changed()

    async def withdraw(self, key: str) -> None:
        if self._on_air.pop(key, None) is not None:
            self._changed()

    def on_air(self) -> dict[str, Broadcast]:
        return dict(self._on_air)

    # -- the outside world's side ------------------------------------------------------
    def hear(self, address: str, rssi: int, manufacturer_data: Mapping[int, bytes]) -> None:
        """A scripted advertiser sends one advertisement, heard at `rssi` dBm (while scanning)."""
        if not self.scanning:
            return
        heard = Heard(address, rssi, dict(manufacturer_data))
        for watcher in list(self._watchers):
            watcher(heard)

    def watch_air(self, callback: Callable[[dict[str, Broadcast]], None]) -> None:
        """Call `callback` with what is on the air whenever it changes (a listening camera)."""
        self._air_watchers.append(callback)

    def _changed(self) -> None:
        on_air = self.on_air()
        for watcher in list(self._air_watchers):
            watcher(on_air)
