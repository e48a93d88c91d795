"""Feature packages, one per manual chapter; each is loaded only where the profile has it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vigil.device import Device


def register_features(device: Device) -> None:
    from vigil.features import events, io, mqtt, recording, storage

    if device.profile.hardware.io_ports:
        io.register(device)
    if device.profile.has("recording"):
        recording.register(device)
    if device.profile.has("storage") or device.profile.has("networkshare"):
        storage.register(device)  # after recording: it tells the recorder where footage goes
    events.register(device)
    mqtt.register(device)  # every profile has the MQTT client
