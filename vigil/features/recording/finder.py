"""Finding cameras to record: the port the recorder's API offers for ONVIF cameras (found with
WS-Discovery, their stream addresses read with GetProfiles/GetStreamUri). The ONVIF feature
provides it (`device.features[CAMERA_FINDER]`); a recorder without ONVIF answers that it cannot."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Protocol

from vigil.core.registry import Key


class FinderError(Exception):
    """The search or the camera failed; the message says why."""


@dataclass(frozen=True)
class FoundCamera:
    """An ONVIF device that answered a probe."""

    address: str  # its device service (XAddr)
    name: str
    hardware: str
    endpoint: str

    def public(self) -> dict[str, str]:
        return asdict(self)


@dataclass(frozen=True)
class StreamOffer:
    """One media profile of a camera, as a source could record it."""

    profile: str  # the profile token
    name: str
    video: str  # H264, H265 ...
    width: int
    height: int
    url: str  # the stream's rtsp:// address, without credentials

    def public(self) -> dict[str, str | int]:
        return asdict(self)


class CameraFinder(Protocol):
    async def discover(self, timeout: float) -> list[FoundCamera]:
        """The ONVIF devices that answer a WS-Discovery probe within `timeout` seconds."""
        ...

    async def streams(self, address: str, username: str, password: str) -> list[StreamOffer]:
        """The media profiles of the device at `address` (its device service) and their stream
        addresses; FinderError when it cannot be reached or refuses."""
        ...


CAMERA_FINDER: Key[CameraFinder] = Key("camera finder")
