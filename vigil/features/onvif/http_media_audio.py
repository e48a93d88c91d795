"""Media1 (`trt`, /onvif/media_service) for the speaker's audio (audio.py): the audio sources and
outputs, the four audio configurations with their options, Set... mapped onto the Audio
parameters, and on a device without recorded cameras (the C1410) the profiles and GetStreamUri,
which gives the microphone's live stream on the device's RTSP server."""

from __future__ import annotations

from lxml import etree
from lxml.builder import ElementMaker

from vigil.core.auth import Principal
from vigil.features.onvif.audio import (
    DECODER,
    ENCODER,
    OUTPUT_CONFIG,
    PROFILE,
    PROFILE_NAME,
    SOURCE_CONFIG,
    AudioModel,
    live_audio_uri,
)
from vigil.features.onvif.const import ACTUATE, INVALID_ARG_VAL, PRE_AUTH, READ_MEDIA, TER, TRT
from vigil.features.onvif.endpoint import CALL, OnvifEndpoint
from vigil.features.onvif.http_media import media_capabilities
from vigil.features.onvif.xml import TR2_, TRT_, TT_, find, invalid, text
from vigil.http.soap import SoapFault, SoapMessage, receiver, sender


def input_off() -> SoapFault:
    """Receiver / ter:Action / ter:IncompleteConfiguration: there is no stream to give."""
    return receiver("The audio input is turned off (Audio > Device settings): turn it on to stream it",
                    etree.QName(TER, "Action"), etree.QName(TER, "IncompleteConfiguration"))


def check_profile(token: str | None) -> None:
    """The audio services' only profile is PROFILE: any other token gets ter:NoProfile."""
    if token != PROFILE:
        raise sender(f"There is no profile {str(token)[:64]!r}", INVALID_ARG_VAL, etree.QName(TER, "NoProfile"))


class AudioMediaBase:
    """What Media1 and Media2 share: the model, the RTSP port and the Set...Configuration
    operations, answered in the version's namespace `ns` (TRT_ or TR2_)."""

    ns: ElementMaker

    def __init__(self, model: AudioModel, rtsp_port) -> None:
        self.model = model
        self.rtsp_port = rtsp_port  # () -> the port the RTSP server listens on now

    async def set_source_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.model.set_source(msg.body)
        return self.ns.SetAudioSourceConfigurationResponse()

    async def set_encoder_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.model.set_encoder(msg.body, who, media2=self.ns is TR2_)
        return self.ns.SetAudioEncoderConfigurationResponse()

    async def set_output_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.model.set_output(msg.body, who)
        return self.ns.SetAudioOutputConfigurationResponse()

    async def set_decoder_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.model.set_decoder(msg.body)
        return self.ns.SetAudioDecoderConfigurationResponse()


class AudioMediaService(AudioMediaBase):
    ns = TRT_

    def profile(self, tag: str = "Profiles") -> etree._Element:
        m = self.model
        parts = [TT_.Name(PROFILE_NAME), m.source_configuration()]
        encoder = m.encoder1()
        if encoder is not None:
            parts.append(encoder)
        parts.append(TT_.Extension(m.output_configuration(), m.decoder_configuration()))
        return getattr(TRT_, tag)(*parts, token=PROFILE, fixed="true")

    @staticmethod
    def check_profile(msg: SoapMessage) -> None:
        check_profile(text(msg.body, "ProfileToken", required=True, limit=64))

    def token(self, msg: SoapMessage, known: str) -> None:
        self.model.check_token(text(msg.body, "ConfigurationToken", required=True, limit=64), known)

    # -- profiles and streaming (a device without recorded cameras) -------------------------
    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetServiceCapabilitiesResponse(media_capabilities())

    async def get_profiles(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetProfilesResponse(self.profile())

    async def get_profile(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.check_profile(msg)
        return TRT_.GetProfileResponse(self.profile("Profile"))

    async def get_video_sources(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetVideoSourcesResponse()  # a speaker has none

    async def get_stream_uri(self, msg: SoapMessage, who: Principal) -> etree._Element:
        setup = find(msg.body, "StreamSetup")
        if setup is None:
            raise invalid("GetStreamUri needs a StreamSetup", "InvalidStreamSetup")
        stream = text(setup, "Stream", required=True) or ""
        protocol = text(setup, "Transport", "Protocol", required=True) or ""
        if stream != "RTP-Unicast":
            raise invalid(f"Stream {stream[:40]!r} is not offered: use RTP-Unicast", "InvalidStreamSetup")
        if protocol not in ("UDP", "TCP", "RTSP"):
            raise invalid(f"Transport {protocol[:40]!r} is not offered: use RTSP, TCP or UDP", "InvalidStreamSetup")
        self.check_profile(msg)
        if not self.model.audio.input_enabled:
            raise input_off()
        uri = live_audio_uri(CALL.get().host, self.rtsp_port())
        return TRT_.GetStreamUriResponse(TRT_.MediaUri(TT_.Uri(uri), TT_.InvalidAfterConnect("false"),
                                                       TT_.InvalidAfterReboot("false"), TT_.Timeout("PT0S")))

    # -- sources and outputs -----------------------------------------------------------------
    async def get_audio_sources(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioSourcesResponse(self.model.source(TRT_))

    async def get_audio_outputs(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioOutputsResponse(self.model.output(TRT_))

    # -- configurations ------------------------------------------------------------------------
    async def get_source_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioSourceConfigurationsResponse(self.model.source_configuration(TRT_, "Configurations"))

    async def get_source_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.token(msg, SOURCE_CONFIG)
        return TRT_.GetAudioSourceConfigurationResponse(self.model.source_configuration(TRT_, "Configuration"))

    async def get_compatible_source_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.check_profile(msg)
        return TRT_.GetCompatibleAudioSourceConfigurationsResponse(
            self.model.source_configuration(TRT_, "Configurations"))

    async def get_source_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioSourceConfigurationOptionsResponse(self.model.source_options(TRT_))

    def _encoder(self, tag: str) -> etree._Element:
        encoder = self.model.encoder1(TRT_, tag)
        if encoder is None:
            raise invalid(f"The microphone is encoded as {self.model.encoding.media2}, which Media1 cannot "
                          f"describe: see Media2", "NoConfig")
        return encoder

    async def get_encoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        encoder = self.model.encoder1(TRT_, "Configurations")
        return TRT_.GetAudioEncoderConfigurationsResponse(*([encoder] if encoder is not None else []))

    async def get_encoder_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.token(msg, ENCODER)
        return TRT_.GetAudioEncoderConfigurationResponse(self._encoder("Configuration"))

    async def get_compatible_encoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.check_profile(msg)
        encoder = self.model.encoder1(TRT_, "Configurations")
        return TRT_.GetCompatibleAudioEncoderConfigurationsResponse(*([encoder] if encoder is not None else []))

    async def get_encoder_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioEncoderConfigurationOptionsResponse(self.model.encoder1_options(TRT_))

    async def get_output_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioOutputConfigurationsResponse(self.model.output_configuration(TRT_, "Configurations"))

    async def get_output_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.token(msg, OUTPUT_CONFIG)
        return TRT_.GetAudioOutputConfigurationResponse(self.model.output_configuration(TRT_, "Configuration"))

    async def get_compatible_output_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.check_profile(msg)
        return TRT_.GetCompatibleAudioOutputConfigurationsResponse(
            self.model.output_configuration(TRT_, "Configurations"))

    async def get_output_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioOutputConfigurationOptionsResponse(self.model.output_options(TRT_))

    async def get_decoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioDecoderConfigurationsResponse(self.model.decoder_configuration(TRT_, "Configurations"))

    async def get_decoder_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.token(msg, DECODER)
        return TRT_.GetAudioDecoderConfigurationResponse(self.model.decoder_configuration(TRT_, "Configuration"))

    async def get_compatible_decoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.check_profile(msg)
        return TRT_.GetCompatibleAudioDecoderConfigurationsResponse(
            self.model.decoder_configuration(TRT_, "Configurations"))

    async def get_decoder_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioDecoderConfigurationOptionsResponse(self.model.decoder_options(TRT_))


def register(endpoint: OnvifEndpoint, service: AudioMediaService, with_profiles: bool) -> None:
    """The audio operations; `with_profiles`: also the profile and streaming operations (the
    device's only profile is the audio one)."""
    s = service
    operations = [
        ("GetAudioSources", READ_MEDIA, s.get_audio_sources),
        ("GetAudioOutputs", READ_MEDIA, s.get_audio_outputs),
        ("GetAudioSourceConfigurations", READ_MEDIA, s.get_source_configurations),
        ("GetAudioSourceConfiguration", READ_MEDIA, s.get_source_configuration),
        ("GetCompatibleAudioSourceConfigurations", READ_MEDIA, s.get_compatible_source_configurations),
        ("GetAudioSourceConfigurationOptions", READ_MEDIA, s.get_source_options),
        ("SetAudioSourceConfiguration", ACTUATE, s.set_source_configuration),
        ("GetAudioEncoderConfigurations", READ_MEDIA, s.get_encoder_configurations),
        ("GetAudioEncoderConfiguration", READ_MEDIA, s.get_encoder_configuration),
        ("GetCompatibleAudioEncoderConfigurations", READ_MEDIA, s.get_compatible_encoder_configurations),
        ("GetAudioEncoderConfigurationOptions", READ_MEDIA, s.get_encoder_options),
        ("SetAudioEncoderConfiguration", ACTUATE, s.set_encoder_configuration),
        ("GetAudioOutputConfigurations", READ_MEDIA, s.get_output_configurations),
        ("GetAudioOutputConfiguration", READ_MEDIA, s.get_output_configuration),
        ("GetCompatibleAudioOutputConfigurations", READ_MEDIA, s.get_compatible_output_configurations),
        ("GetAudioOutputConfigurationOptions", READ_MEDIA, s.get_output_options),
        ("SetAudioOutputConfiguration", ACTUATE, s.set_output_configuration),
        ("GetAudioDecoderConfigurations", READ_MEDIA, s.get_decoder_configurations),
        ("GetAudioDecoderConfiguration", READ_MEDIA, s.get_decoder_configuration),
        ("GetCompatibleAudioDecoderConfigurations", READ_MEDIA, s.get_compatible_decoder_configurations),
        ("GetAudioDecoderConfigurationOptions", READ_MEDIA, s.get_decoder_options),
        ("SetAudioDecoderConfiguration", ACTUATE, s.set_decoder_configuration),
    ]
    if with_profiles:
        operations += [
            ("GetServiceCapabilities", PRE_AUTH, s.get_service_capabilities),
            ("GetProfiles", READ_MEDIA, s.get_profiles),
            ("GetProfile", READ_MEDIA, s.get_profile),
            ("GetVideoSources", READ_MEDIA, s.get_video_sources),
            ("GetStreamUri", READ_MEDIA, s.get_stream_uri),
        ]
    for name, access, handler in operations:
        endpoint.add(TRT, name, access, handler)
