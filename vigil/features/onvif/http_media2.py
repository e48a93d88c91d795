"""The ONVIF media service 2 (Media2, `tr2`, /onvif/media2_service; Profile T) of a recorder:
the same profiles as Media1 (`media.py`: one per recorded camera), with encoder configurations
that name H.265 too, GetStreamUri for RTSP unicast (the camera's live relay) and GetSnapshotUri
(the camera's VAPIX snapshot, as in Media1).

As in Media1, the configurations describe what each camera sends and are read-only; OSDs, masks
and multicast are not offered (the capabilities say so)."""

from __future__ import annotations

from lxml import etree

from vigil.core.auth import Principal
from vigil.features.onvif.const import PRE_AUTH, READ_MEDIA, TR2
from vigil.features.onvif.endpoint import CALL, OnvifEndpoint
from vigil.features.onvif.http_media import MediaService
from vigil.features.onvif.media import Camera, cameras, live_uri, snapshot_uri
from vigil.features.onvif.xml import TR2_, TT_, find_all, invalid, text
from vigil.http.soap import SoapMessage

# Configuration types of a profile (tr2:ConfigurationEnumeration) that this device fills in.
TYPES = ("VideoSource", "VideoEncoder", "Metadata")
ALL_TYPES = ("All", "VideoSource", "VideoEncoder", "AudioSource", "AudioEncoder", "AudioOutput", "AudioDecoder",
             "Metadata", "Analytics", "PTZ", "Receiver")
STREAM_PROTOCOLS = ("RtspUnicast", "RTSP")  # RTSP: the older name of RTSP unicast


def media2_capabilities(types: tuple[str, ...] = TYPES) -> etree._Element:
    tr2 = f"{{{TR2}}}"
    caps = etree.Element(tr2 + "Capabilities", SnapshotUri="true", Rotation="false", VideoSourceMode="false",
                         OSD="false", TemporaryOSDText="false", Mask="false", SourceMask="false", nsmap={"tr2": TR2})
    etree.SubElement(caps, tr2 + "ProfileCapabilities", MaximumNumberOfProfiles="64",
                     ConfigurationsSupported=" ".join(types))
    etree.SubElement(caps, tr2 + "StreamingCapabilities", RTSPStreaming="true", RTPMulticast="false",
                     RTP_RTSP_TCP="true", NonAggregateControl="false", AutoStartMulticast="false")
    return caps


class Media2Service:
    def __init__(self, media: MediaService) -> None:
        self.media = media  # the cameras and the configurations Media1 and Media2 share

    @staticmethod
    def encoder(camera: Camera, tag: str = "Configurations", ns=TR2_) -> etree._Element:
        return getattr(ns, tag)(
            TT_.Name(f"{camera.name} ({camera.codec.upper() or 'H264'})"), TT_.UseCount("1"),
            TT_.Encoding(camera.codec.upper() or "H264"),
            TT_.Resolution(TT_.Width(str(camera.width)), TT_.Height(str(camera.height))),
            # Limits 0: the recorder passes on what the camera sends, it does not limit it.
            TT_.RateControl(TT_.FrameRateLimit("0"), TT_.BitrateLimit("0"), ConstantBitRate="false"),
            TT_.Quality("0"), token=camera.encoder)

    def profile(self, camera: Camera, types: set[str]) -> etree._Element:
        profile = TR2_.Profiles(TR2_.Name(camera.name), token=camera.profile, fixed="true")
        if types:
            configurations = TR2_.Configurations()
            if types & {"All", "VideoSource"}:
                configurations.append(self.media.source_configuration(camera, "VideoSource", TR2_))
            if types & {"All", "VideoEncoder"}:
                configurations.append(self.encoder(camera, "VideoEncoder"))
            if types & {"All", "Metadata"}:
                configurations.append(self.media.metadata_configuration(camera, "Metadata", TR2_))
            profile.append(configurations)
        return profile

    def chosen(self, msg: SoapMessage) -> list[Camera]:
        """The cameras a Get...Configurations asks about: by ConfigurationToken, ProfileToken or all."""
        token = text(msg.body, "ConfigurationToken", limit=64)
        profile = text(msg.body, "ProfileToken", limit=64)
        if token:
            return [self.media.camera(token, "configuration")]
        if profile:
            return [self.media.camera(profile, "profile")]
        return cameras(self.media.recording)

    # -- operations ----------------------------------------------------------------------------
    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TR2_.GetServiceCapabilitiesResponse(media2_capabilities())

    async def get_profiles(self, msg: SoapMessage, who: Principal) -> etree._Element:
        types = {(t.text or "").strip() for t in find_all(msg.body, "Type")}
        if unknown := types - set(ALL_TYPES):
            raise invalid(f"unknown configuration Type {sorted(unknown)[0][:40]!r}")
        token = text(msg.body, "Token", limit=64)
        chosen = [self.media.camera(token, "profile")] if token else cameras(self.media.recording)
        return TR2_.GetProfilesResponse(*(self.profile(c, types) for c in chosen))

    async def get_video_source_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TR2_.GetVideoSourceConfigurationsResponse(
            *(self.media.source_configuration(c, "Configurations", TR2_) for c in self.chosen(msg)))

    async def get_video_encoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TR2_.GetVideoEncoderConfigurationsResponse(*(self.encoder(c) for c in self.chosen(msg)))

    async def get_metadata_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TR2_.GetMetadataConfigurationsResponse(
            *(self.media.metadata_configuration(c, "Configurations", TR2_) for c in self.chosen(msg)))

    async def get_stream_uri(self, msg: SoapMessage, who: Principal) -> etree._Element:
        protocol = text(msg.body, "Protocol", required=True) or ""
        if protocol not in STREAM_PROTOCOLS:
            raise invalid(f"Protocol {protocol[:40]!r} is not offered: use RtspUnicast", "InvalidStreamSetup")
        camera = self.media.camera(text(msg.body, "ProfileToken", required=True, limit=64), "profile")
        return TR2_.GetStreamUriResponse(TR2_.Uri(live_uri(CALL.get().host, self.media.rtsp_port(), camera)))

    async def get_snapshot_uri(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self.media.camera(text(msg.body, "ProfileToken", required=True, limit=64), "profile")
        return TR2_.GetSnapshotUriResponse(TR2_.Uri(snapshot_uri(self.media.base(), camera)))


def register(endpoint: OnvifEndpoint, service: Media2Service) -> None:
    for name, access, handler in (
        ("GetServiceCapabilities", PRE_AUTH, service.get_service_capabilities),
        ("GetProfiles", READ_MEDIA, service.get_profiles),
        ("GetVideoSourceConfigurations", READ_MEDIA, service.get_video_source_configurations),
        ("GetVideoEncoderConfigurations", READ_MEDIA, service.get_video_encoder_configurations),
        ("GetMetadataConfigurations", READ_MEDIA, service.get_metadata_configurations),
        ("GetStreamUri", READ_MEDIA, service.get_stream_uri),
        ("GetSnapshotUri", READ_MEDIA, service.get_snapshot_uri),
    ):
        endpoint.add(TR2, name, access, handler)
