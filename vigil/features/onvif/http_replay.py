"""The ONVIF replay service (`trp`, /onvif/replay_service; Profile G's replay) of a recorder:
GetReplayUri gives the RTSP URI that replays a recording of the search service (the same
tokens: `recording_N`, every stored recording of camera N as one timeline) on the device's RTSP
server, with the replay semantics of the ONVIF Streaming Specification (vigil/rtsp/replay.py).
The replay configuration is the RTSP session timeout of those replays
(`Network.RTSP.ReplaySessionTimeout`): a replay session ends that long after its last request."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree
from lxml.builder import ElementMaker

from vigil.core.auth import Principal
from vigil.core.params import ParamTree
from vigil.core.store import Store
from vigil.features.onvif.const import ACTUATE, PRE_AUTH, READ_MEDIA, TRP
from vigil.features.onvif.endpoint import CALL, OnvifEndpoint
from vigil.features.onvif.http_search import recording_token
from vigil.features.onvif.media import Camera, cameras, check_stream_setup, replay_uri
from vigil.features.onvif.pullpoints import duration
from vigil.features.onvif.xml import TT_, invalid, text
from vigil.features.recording.recorder import RecordingService
from vigil.features.recording.replay import StoredFootage
from vigil.http.soap import SoapMessage
from vigil.rtsp.mounts import Track
from vigil.rtsp.protocol import RtspError
from vigil.rtsp.replay import ReplayTrack

TRP_ = ElementMaker(namespace=TRP, nsmap={"trp": TRP})
SESSION_TIMEOUT = "Network.RTSP.ReplaySessionTimeout"
SESSION_TIMEOUT_RANGE = (10, 3600)  # seconds a replay session may be kept without a request


class ReplayService:
    def __init__(self, recording: RecordingService, store: Store, params: ParamTree,
                 rtsp_port: Callable[[], int]) -> None:
        self.recording = recording
        self.store = store
        self.params = params
        self.rtsp_port = rtsp_port

    def camera(self, token: str | None) -> Camera:
        for camera in cameras(self.recording):
            if token == recording_token(camera):
                return camera
        raise invalid(f"There is no recording {str(token)[:64]!r}", "NoRecording")

    def session_timeout(self) -> int:
        return self.params.get_int(SESSION_TIMEOUT)

    # -- the RTSP mount ------------------------------------------------------------------------
    def tracks(self, query: dict[str, str]) -> list[Track]:
        """The mount provider of the replay path: `recording=recording_N`."""
        token = query.get("recording")
        if token is None:
            raise RtspError(404, "the replay URI names a recording: ?recording=recording_N")
        camera = next((c for c in cameras(self.recording) if recording_token(c) == token), None)
        if camera is None:
            raise RtspError(404, f"no recording {token[:64]!r}")
        return [ReplayTrack(StoredFootage.of_source(self.store, camera.source_id))]

    # -- operations ----------------------------------------------------------------------------
    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRP_.GetServiceCapabilitiesResponse(replay_capabilities())

    async def get_replay_uri(self, msg: SoapMessage, who: Principal) -> etree._Element:
        check_stream_setup(msg.body, "GetReplayUri")
        camera = self.camera(text(msg.body, "RecordingToken", required=True, limit=64))
        return TRP_.GetReplayUriResponse(TRP_.Uri(replay_uri(CALL.get().host, self.rtsp_port(),
                                                             recording_token(camera))))

    async def get_replay_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRP_.GetReplayConfigurationResponse(TRP_.Configuration(
            TT_.SessionTimeout(f"PT{self.session_timeout()}S")))

    async def set_replay_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        value = text(msg.body, "Configuration", "SessionTimeout", required=True, limit=64) or ""
        seconds = duration(value)
        low, high = SESSION_TIMEOUT_RANGE
        if seconds is None or seconds != int(seconds) or not low <= seconds <= high:
            raise invalid(f"SessionTimeout must be a duration of whole seconds from PT{low}S to PT{high}S, "
                          f"not {value[:40]!r}")
        self.params.set_internal({SESSION_TIMEOUT: str(int(seconds))}, who.name)
        return TRP_.SetReplayConfigurationResponse()


def replay_capabilities() -> etree._Element:
    """The replay service's capabilities (GetServiceCapabilities, GetServices)."""
    low, high = SESSION_TIMEOUT_RANGE
    return etree.Element(f"{{{TRP}}}Capabilities", ReversePlayback="true", SessionTimeoutRange=f"{low} {high}",
                         RTP_RTSP_TCP="true", nsmap={"trp": TRP})


def register(endpoint: OnvifEndpoint, service: ReplayService) -> None:
    for name, access, handler in (
        ("GetServiceCapabilities", PRE_AUTH, service.get_service_capabilities),
        ("GetReplayUri", READ_MEDIA, service.get_replay_uri),
        ("GetReplayConfiguration", READ_MEDIA, service.get_replay_configuration),
        ("SetReplayConfiguration", ACTUATE, service.set_replay_configuration),
    ):
        endpoint.add(TRP, name, access, handler)
