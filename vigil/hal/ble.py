"""The Bluetooth Low Energy radio interface: advertisements heard while scanning, and the
advertisements the device broadcasts.

Only what beacons need: an advertisement is its sender's address, the received signal strength
(RSSI, dBm) and its manufacturer-specific data by company identifier. The device broadcasts
non-connectable advertisements, each under a key of its own, until it withdraws them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from vigil.core.registry import Key


class BleError(RuntimeError):
    """The radio refused or failed (no adapter, BlueZ gone, too many advertisements)."""


@dataclass(frozen=True)
class Heard:
    """One advertisement as the scanner reports it."""

    address: str
    rssi: int
    manufacturer_data: Mapping[int, bytes] = field(default_factory=dict)


@dataclass(frozen=True)
class Broadcast:
    """One advertisement the device sends: manufacturer-specific data under a company identifier."""

    company: int
    data: bytes


class BleRadio(Protocol):
    def watch(self, callback: Callable[[Heard], None]) -> None:
        """Call `callback` for each advertisement heard while scanning."""

    async def start(self) -> None:
        """Begin scanning (and whatever the backend needs to broadcast)."""

    async def close(self) -> None: ...

    async def advertise(self, key: str, broadcast: Broadcast) -> None:
        """Put `broadcast` on the air under `key` (replacing what `key` sent before)."""

    async def withdraw(self, key: str) -> None:
        """Stop the advertisement of `key` (nothing when there is none)."""

    def on_air(self) -> dict[str, Broadcast]:
        """What the device broadcasts now, by key."""


BLE_RADIO: Key[BleRadio] = Key("ble")
