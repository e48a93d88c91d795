"""The media profiles a recorder offers over ONVIF: one per recorded camera (the recording
feature's sources, numbered as the live relay numbers them), each with its video source, video
source configuration, video encoder configuration (what the camera sends: the recorder relays
the stream as it comes) and metadata configuration. Tokens carry the camera number."""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from vigil.features.onvif.xml import find, invalid, text
from vigil.features.recording.http_snapshot import IMAGE_PATH
from vigil.features.recording.recorder import RecordingService

LIVE_PATH = "/axis-media/media.amp"  # the RTSP server's live relay (camera=N)
REPLAY_PATH = "/onvif-replay"  # the RTSP server's replay of a recording (recording=TOKEN)


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
    return f"{_rtsp_base(host, rtsp_port)}{LIVE_PATH}?camera={camera.number}"


def replay_uri(host: str, rtsp_port: int, recording_token: str) -> str:
    """The replay of an ONVIF recording on the device's RTSP server, as the client reached the device."""
    return f"{_rtsp_base(host, rtsp_port)}{REPLAY_PATH}?recording={recording_token}"


def _rtsp_base(host: str, rtsp_port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"rtsp://{shown}:{rtsp_port}"


def check_stream_setup(body: etree._Element, operation: str) -> None:
    """A StreamSetup the RTSP server serves: RTP unicast over RTSP, TCP or UDP; else a fault."""
    setup = find(body, "StreamSetup")
    if setup is None:
        raise invalid(f"{operation} needs a StreamSetup", "InvalidStreamSetup")
    stream = text(setup, "Stream", required=True)
    protocol = text(setup, "Transport", "Protocol", required=True)
    if stream != "RTP-Unicast":
        raise invalid(f"Stream {stream[:40]!r} is not offered: use RTP-Unicast", "InvalidStreamSetup")
    if protocol not in ("UDP", "TCP", "RTSP"):
        raise invalid(f"Transport {protocol[:40]!r} is not offered: use RTSP, TCP or UDP", "InvalidStreamSetup")


def snapshot_uri(base: str, camera: Camera) -> str:
    """The JPEG of `camera`'s latest key frame (VAPIX image.cgi), at `base` (scheme://host:port)."""
    return f"{base}{IMAGE_PATH}?camera={camera.number}"
