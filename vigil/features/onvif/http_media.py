"""The ONVIF media service (Media1, `trt`, /onvif/media_service; Profile S) of a recorder:
its profiles (one per recorded camera, `media.py`), their configurations, the video sources,
and GetStreamUri, which gives the camera's live relay on the device's own RTSP server.

The configurations describe the stream each camera sends, which the recorder relays as it
comes: they are read-only here (there is no Set...Configuration). GetSnapshotUri gives the
camera's VAPIX snapshot (image.cgi: a JPEG of its latest key frame), on the scheme, host and
port the client reached the device by."""

from __future__ import annotations

from lxml import etree

from vigil.core.auth import Principal
from vigil.features.onvif.const import INVALID_ARG_VAL, PRE_AUTH, READ_MEDIA, TER, TRT
from vigil.features.onvif.endpoint import CALL, OnvifEndpoint
from vigil.features.onvif.media import Camera, cameras, check_stream_setup, live_uri, snapshot_uri
from vigil.features.onvif.xml import TRT_, TT_, invalid, text
from vigil.features.recording.recorder import RecordingService
from vigil.http.soap import SoapMessage, sender

SESSION_TIMEOUT = "PT60S"  # RTSP session timeout the relay keeps an idle session for


def media_capabilities() -> etree._Element:
    """trt:Capabilities: what GetServiceCapabilities and GetServices (with capabilities) report."""
    trt = f"{{{TRT}}}"
    caps = etree.Element(trt + "Capabilities", SnapshotUri="true", Rotation="false", nsmap={"trt": TRT})
    etree.SubElement(caps, trt + "ProfileCapabilities", MaximumNumberOfProfiles="64")
    etree.SubElement(caps, trt + "StreamingCapabilities", RTPMulticast="false", RTP_TCP="true",
                     RTP_RTSP_TCP="true", NonAggregateControl="false")
    return caps


def no_multicast() -> list[etree._Element]:
    """The Multicast element a configuration must have: multicast is off (address 0.0.0.0)."""
    return [TT_.Multicast(TT_.Address(TT_.Type("IPv4"), TT_.IPv4Address("0.0.0.0")), TT_.Port("0"),
                          TT_.TTL("0"), TT_.AutoStart("false"))]


class MediaService:
    def __init__(self, recording: RecordingService, rtsp_port, base) -> None:
        self.recording = recording
        self.rtsp_port = rtsp_port  # () -> the port the RTSP server listens on now
        self.base = base  # () -> scheme://host:port of the device as the current call reached it

    # -- the model as XML ----------------------------------------------------------------------
    @staticmethod
    def video_source(camera: Camera) -> etree._Element:
        return TRT_.VideoSources(TT_.Framerate("0"), TT_.Resolution(TT_.Width(str(camera.width)),
                                                                    TT_.Height(str(camera.height))),
                                 token=camera.video_source)

    @staticmethod
    def source_configuration(camera: Camera, tag: str = "VideoSourceConfiguration", ns=TT_) -> etree._Element:
        return getattr(ns, tag)(TT_.Name(camera.name), TT_.UseCount("1"), TT_.SourceToken(camera.video_source),
                                TT_.Bounds(x="0", y="0", width=str(camera.width), height=str(camera.height)),
                                token=camera.source_configuration)

    @staticmethod
    def encoder_configuration(camera: Camera, tag: str = "VideoEncoderConfiguration", ns=TT_) -> etree._Element:
        # Limits 0: the recorder passes on what the camera sends, it does not limit it.
        return getattr(ns, tag)(
            TT_.Name(f"{camera.name} ({camera.media1_encoding})"), TT_.UseCount("1"),
            TT_.Encoding(camera.media1_encoding or "H264"),
            TT_.Resolution(TT_.Width(str(camera.width)), TT_.Height(str(camera.height))),
            TT_.Quality("0"),
            TT_.RateControl(TT_.FrameRateLimit("0"), TT_.EncodingInterval("1"), TT_.BitrateLimit("0")),
            TT_.H264(TT_.GovLength("0"), TT_.H264Profile("High")),
            *no_multicast(), TT_.SessionTimeout(SESSION_TIMEOUT), token=camera.encoder)

    @staticmethod
    def metadata_configuration(camera: Camera, tag: str = "MetadataConfiguration", ns=TT_) -> etree._Element:
        return getattr(ns, tag)(TT_.Name(f"{camera.name} metadata"), TT_.UseCount("1"), TT_.Events(),
                                *no_multicast(), TT_.SessionTimeout(SESSION_TIMEOUT), token=camera.metadata)

    def profile(self, camera: Camera, tag: str = "Profiles") -> etree._Element:
        parts = [TT_.Name(camera.name), self.source_configuration(camera)]
        if camera.media1_encoding is not None:
            parts.append(self.encoder_configuration(camera))
        parts.append(self.metadata_configuration(camera))
        return getattr(TRT_, tag)(*parts, token=camera.profile, fixed="true")

    def camera(self, token: str | None, kind: str) -> Camera:
        for camera in cameras(self.recording):
            if token in (camera.profile, camera.video_source, camera.source_configuration, camera.encoder,
                         camera.metadata):
                return camera
        detail = "NoProfile" if kind == "profile" else "NoConfig"
        raise sender(f"There is no {kind} {str(token)[:64]!r}", INVALID_ARG_VAL, etree.QName(TER, detail))

    # -- operations ----------------------------------------------------------------------------
    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetServiceCapabilitiesResponse(media_capabilities())

    async def get_profiles(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetProfilesResponse(*(self.profile(c) for c in cameras(self.recording)))

    async def get_profile(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self.camera(text(msg.body, "ProfileToken", required=True, limit=64), "profile")
        return TRT_.GetProfileResponse(self.profile(camera, "Profile"))

    async def get_video_sources(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetVideoSourcesResponse(*(self.video_source(c) for c in cameras(self.recording)))

    async def get_video_source_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetVideoSourceConfigurationsResponse(
            *(self.source_configuration(c, "Configurations", TRT_) for c in cameras(self.recording)))

    async def get_video_source_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self.camera(text(msg.body, "ConfigurationToken", required=True, limit=64), "configuration")
        return TRT_.GetVideoSourceConfigurationResponse(self.source_configuration(camera, "Configuration", TRT_))

    async def get_video_encoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetVideoEncoderConfigurationsResponse(
            *(self.encoder_configuration(c, "Configurations", TRT_) for c in cameras(self.recording)
              if c.media1_encoding is not None))

    async def get_video_encoder_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self.camera(text(msg.body, "ConfigurationToken", required=True, limit=64), "configuration")
        if camera.media1_encoding is None:
            raise invalid(f"Camera {camera.number} sends H.265, which Media1 cannot describe", "NoConfig")
        return TRT_.GetVideoEncoderConfigurationResponse(self.encoder_configuration(camera, "Configuration", TRT_))

    async def get_metadata_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetMetadataConfigurationsResponse(
            *(self.metadata_configuration(c, "Configurations", TRT_) for c in cameras(self.recording)))

    async def get_metadata_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self.camera(text(msg.body, "ConfigurationToken", required=True, limit=64), "configuration")
        return TRT_.GetMetadataConfigurationResponse(self.metadata_configuration(camera, "Configuration", TRT_))

    def _profile_camera(self, msg: SoapMessage) -> Camera:
        return self.camera(text(msg.body, "ProfileToken", required=True, limit=64), "profile")

    async def get_compatible_video_source_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._profile_camera(msg)
        return TRT_.GetCompatibleVideoSourceConfigurationsResponse(
            self.source_configuration(camera, "Configurations", TRT_))

    async def get_compatible_video_encoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._profile_camera(msg)
        found = [self.encoder_configuration(camera, "Configurations", TRT_)] if camera.media1_encoding else []
        return TRT_.GetCompatibleVideoEncoderConfigurationsResponse(*found)

    async def get_compatible_metadata_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._profile_camera(msg)
        return TRT_.GetCompatibleMetadataConfigurationsResponse(
            self.metadata_configuration(camera, "Configurations", TRT_))

    async def get_video_encoder_configuration_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        """What a client may choose: only what the camera sends (the recorder does not re-encode)."""
        token = text(msg.body, "ConfigurationToken", limit=64) or text(msg.body, "ProfileToken", limit=64)
        chosen = [self.camera(token, "configuration")] if token else cameras(self.recording)
        options = TRT_.Options(TT_.QualityRange(TT_.Min("0"), TT_.Max("0")))
        if any(c.media1_encoding for c in chosen):
            options.append(TT_.H264(
                *(TT_.ResolutionsAvailable(TT_.Width(str(c.width)), TT_.Height(str(c.height)))
                  for c in chosen if c.media1_encoding),
                TT_.GovLengthRange(TT_.Min("0"), TT_.Max("0")), TT_.FrameRateRange(TT_.Min("0"), TT_.Max("0")),
                TT_.EncodingIntervalRange(TT_.Min("1"), TT_.Max("1")), TT_.H264ProfilesSupported("High")))
        return TRT_.GetVideoEncoderConfigurationOptionsResponse(options)

    async def get_guaranteed_number_of_video_encoder_instances(self, msg: SoapMessage,
                                                               who: Principal) -> etree._Element:
        self.camera(text(msg.body, "ConfigurationToken", required=True, limit=64), "configuration")
        return TRT_.GetGuaranteedNumberOfVideoEncoderInstancesResponse(TRT_.TotalNumber("1"), TRT_.H264("1"))

    async def get_stream_uri(self, msg: SoapMessage, who: Principal) -> etree._Element:
        check_stream_setup(msg.body, "GetStreamUri")
        camera = self.camera(text(msg.body, "ProfileToken", required=True, limit=64), "profile")
        uri = live_uri(CALL.get().host, self.rtsp_port(), camera)
        return TRT_.GetStreamUriResponse(TRT_.MediaUri(TT_.Uri(uri), TT_.InvalidAfterConnect("false"),
                                                       TT_.InvalidAfterReboot("false"), TT_.Timeout("PT0S")))

    async def get_snapshot_uri(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self.camera(text(msg.body, "ProfileToken", required=True, limit=64), "profile")
        return TRT_.GetSnapshotUriResponse(TRT_.MediaUri(TT_.Uri(snapshot_uri(self.base(), camera)),
                                                         TT_.InvalidAfterConnect("false"),
                                                         TT_.InvalidAfterReboot("false"), TT_.Timeout("PT0S")))


def register(endpoint: OnvifEndpoint, service: MediaService) -> None:
    for name, access, handler in (
        ("GetServiceCapabilities", PRE_AUTH, service.get_service_capabilities),
        ("GetProfiles", READ_MEDIA, service.get_profiles),
        ("GetProfile", READ_MEDIA, service.get_profile),
        ("GetVideoSources", READ_MEDIA, service.get_video_sources),
        ("GetVideoSourceConfigurations", READ_MEDIA, service.get_video_source_configurations),
        ("GetVideoSourceConfiguration", READ_MEDIA, service.get_video_source_configuration),
        ("GetVideoEncoderConfigurations", READ_MEDIA, service.get_video_encoder_configurations),
        ("GetVideoEncoderConfiguration", READ_MEDIA, service.get_video_encoder_configuration),
        ("GetMetadataConfigurations", READ_MEDIA, service.get_metadata_configurations),
        ("GetMetadataConfiguration", READ_MEDIA, service.get_metadata_configuration),
        ("GetCompatibleVideoSourceConfigurations", READ_MEDIA, service.get_compatible_video_source_configurations),
        ("GetCompatibleVideoEncoderConfigurations", READ_MEDIA, service.get_compatible_video_encoder_configurations),
        ("GetCompatibleMetadataConfigurations", READ_MEDIA, service.get_compatible_metadata_configurations),
        ("GetVideoEncoderConfigurationOptions", READ_MEDIA, service.get_video_encoder_configuration_options),
        ("GetGuaranteedNumberOfVideoEncoderInstances", READ_MEDIA,
         service.get_guaranteed_number_of_video_encoder_instances),
        ("GetStreamUri", READ_MEDIA, service.get_stream_uri),
        ("GetSnapshotUri", READ_MEDIA, service.get_snapshot_uri),
    ):
        endpoint.add(TRT, name, access, handler)
