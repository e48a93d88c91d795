"""Camera events (recorders): the recorded cameras' own events (a camera's motion detection, a
W401's inputs) subscribed over VAPIX event streaming or ONVIF PullPoint (`service`, `vapix`,
`pullpoint`, on the ONVIF feature's client) and published on the device's bus as
CAMERA_EVENT properties, which rules use as conditions like any other event."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.cameraevents.service import CAMERA_EVENTS, CameraEvents
from vigil.features.recording.recorder import RECORDING_SERVICE

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    recording = device.features[RECORDING_SERVICE]
    service = CameraEvents(device.events, device.logs, recording.sources)
    service.declare()
    device.features[CAMERA_EVENTS] = service
    device.services.append(service.run)
