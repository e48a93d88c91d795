"""Feature packages, one per manual chapter; each is loaded only where the profile has it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vigil.device import Device


def register_features(device: Device) -> None:
    from vigil.features import io

    if device.profile.hardware.io_ports:
        io.register(device)
