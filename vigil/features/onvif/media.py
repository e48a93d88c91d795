"""The media profiles a recorder offers over ONVIF: one per recorded camera (the recording
feature's sources, numbered as the live relay numbers them), each with its video source, video
source configuration, video encoder configuration (what the camera sends: the recorder relays
the stream as it comes) and metadata configuration. Tokens carry the camera number."""

from __future__ import annotations

from dataclasses import dataclass

from vigil.features.recording.http_snapshot import IMAGE_PATH
from vigil.features.recording.recorder import RecordingService

LIVE_PATH = "/axis-media/media.amp"  # the RTSP server's live relay (camera=N)


@dataclass(frozen=True)
class Camera:
    number: int  # 1-based, the live relay's camera=N
    source_id: str
    name: str
    codec: str  # h264 | h265 | "" (not known before the camera's first key frame)
    width: int
    height: int
    connected: bool

    @property
    def profile(self) -> str:
        return f"profile_{self.number}"

    @property
    def video_source(self) -> str:
        return f"videosource_{self.number}"

    @property
    def source_configuration(self) -> str:
        return f"videosourceconfig_{self.number}"

    @property
    def encoder(self) -> str:
        return f"videoencoder_{self.number}"

    @property
    def metadata(self) -> str:
        return f"metadata_{self.number}"

    @property
    def media1_encoding(self) -> str | None:
        """Media1 knows JPEG, MPEG4 and H264 only: an H.265 camera's profile has no encoder there."""
        return None if self.codec == "h265" else "H264"


def cameras(recording: RecordingService) -> list[Camera]:
    out = []
    for number, source in enumerate(recording.sources.numbered(), start=1):
        recorder = recording.recorders.get(source.id)
        out.append(Camera(number, source.id, source.name, recorder.video_codec if recorder else "",
                          recorder.width if recorder else 0, recorder.height if recorder else 0,
                          bool(recorder and recorder.connected)))
    return out


def live_uri(host: str, rtsp_port: int, camera: Camera) -> str:
    """The live relay of `camera` on the device's RTSP server, as the client reached the device."""
    shown = f"[{host}]" if ":" in host else host
    return f"rtsp://{shown}:{rtsp_port}{LIVE_PATH}?camera={camera.number}"


def snapshot_uri(base: str, camera: Camera) -> str:
    """The JPEG of `camera`'s latest key frame (VAPIX image.cgi), at `base` (scheme://host:port)."""
    return f"{base}{IMAGE_PATH}?camera={camera.number}"
