"""Media2 (`tr2`, /onvif/media2_service) for the speaker's audio (audio.py): the four audio
configurations with their options and Set... mapped onto the Audio parameters, and on a device
without recorded cameras (the C1410) the profile and GetStreamUri (the microphone's live stream)."""

from __future__ import annotations

from lxml import etree

from vigil.core.auth import Principal
from vigil.features.onvif.audio import (
    DECODER,
    ENCODER,
    OUTPUT_CONFIG,
    PROFILE,
    PROFILE_NAME,
    SOURCE_CONFIG,
    live_audio_uri,
)
from vigil.features.onvif.const import ACTUATE, PRE_AUTH, READ_MEDIA, TR2
from vigil.features.onvif.endpoint import CALL, OnvifEndpoint
from vigil.features.onvif.http_media2 import ALL_TYPES, STREAM_PROTOCOLS, media2_capabilities
from vigil.features.onvif.http_media_audio import AudioMediaBase, check_profile, input_off
from vigil.features.onvif.xml import TR2_, find_all, invalid, text
from vigil.http.soap import SoapMessage

TYPES = ("AudioSource", "AudioEncoder", "AudioOutput", "AudioDecoder")  # what the audio profile holds


class AudioMedia2Service(AudioMediaBase):
    ns = TR2_

    def chosen(self, msg: SoapMessage, token: str) -> bool:
        """Whether a Get...Configurations asks about `token`'s configuration (no token: all)."""
        wanted = text(msg.body, "ConfigurationToken", limit=64)
        profile = text(msg.body, "ProfileToken", limit=64)
        if wanted:
            self.model.check_token(wanted, token)
        if profile:
            check_profile(profile)
        return True

    def profile(self, types: set[str]) -> etree._Element:
        m = self.model
        profile = TR2_.Profiles(TR2_.Name(PROFILE_NAME), token=PROFILE, fixed="true")
        if types:
            configurations = TR2_.Configurations()
            if types & {"All", "AudioSource"}:
                configurations.append(m.source_configuration(TR2_, "AudioSource"))
            if types & {"All", "AudioEncoder"}:
                configurations.append(m.encoder2(TR2_, "AudioEncoder"))
            if types & {"All", "AudioOutput"}:
                configurations.append(m.output_configuration(TR2_, "AudioOutput"))
            if types & {"All", "AudioDecoder"}:
                configurations.append(m.decoder_configuration(TR2_, "AudioDecoder"))
            profile.append(configurations)
        return profile

    # -- profiles and streaming ----------------------------------------------------------------
    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TR2_.GetServiceCapabilitiesResponse(media2_capabilities(TYPES))

    async def get_profiles(self, msg: SoapMessage, who: Principal) -> etree._Element:
        types = {(t.text or "").strip() for t in find_all(msg.body, "Type")}
        if unknown := types - set(ALL_TYPES):
            raise invalid(f"unknown configuration Type {sorted(unknown)[0][:40]!r}")
        token = text(msg.body, "Token", limit=64)
        if token:
            check_profile(token)
        return TR2_.GetProfilesResponse(self.profile(types))

    async def get_stream_uri(self, msg: SoapMessage, who: Principal) -> etree._Element:
        protocol = text(msg.body, "Protocol", required=True) or ""
        if protocol not in STREAM_PROTOCOLS:
            raise invalid(f"Protocol {protocol[:40]!r} is not offered: use RtspUnicast", "InvalidStreamSetup")
        check_profile(text(msg.body, "ProfileToken", required=True, limit=64))
        if not self.model.audio.input_enabled:
            raise input_off()
        return TR2_.GetStreamUriResponse(TR2_.Uri(live_audio_uri(CALL.get().host, self.rtsp_port())))

    # -- configurations ------------------------------------------------------------------------
    async def get_source_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.chosen(msg, SOURCE_CONFIG)
        return TR2_.GetAudioSourceConfigurationsResponse(self.model.source_configuration(TR2_, "Configurations"))

    async def get_encoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.chosen(msg, ENCODER)
        return TR2_.GetAudioEncoderConfigurationsResponse(self.model.encoder2(TR2_, "Configurations"))

    async def get_output_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.chosen(msg, OUTPUT_CONFIG)
        return TR2_.GetAudioOutputConfigurationsResponse(self.model.output_configuration(TR2_, "Configurations"))

    async def get_decoder_configurations(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.chosen(msg, DECODER)
        return TR2_.GetAudioDecoderConfigurationsResponse(self.model.decoder_configuration(TR2_, "Configurations"))

    async def get_source_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.chosen(msg, SOURCE_CONFIG)
        return TR2_.GetAudioSourceConfigurationOptionsResponse(self.model.source_options(TR2_))

    async def get_encoder_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.chosen(msg, ENCODER)
        return TR2_.GetAudioEncoderConfigurationOptionsResponse(*self.model.encoder2_options(TR2_))

    async def get_output_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.chosen(msg, OUTPUT_CONFIG)
        return TR2_.GetAudioOutputConfigurationOptionsResponse(self.model.output_options(TR2_))

    async def get_decoder_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        """The decoder takes what the encodings send (tt:AudioEncoder2ConfigurationOptions)."""
        self.chosen(msg, DECODER)
        return TR2_.GetAudioDecoderConfigurationOptionsResponse(
            *(o for o in self.model.encoder2_options(TR2_) if o[0].text in ("PCMU", "mpeg4-generic")))


def register(endpoint: OnvifEndpoint, service: AudioMedia2Service, with_profiles: bool) -> None:
    s = service
    operations = [
        ("GetAudioSourceConfigurations", READ_MEDIA, s.get_source_configurations),
        ("GetAudioEncoderConfigurations", READ_MEDIA, s.get_encoder_configurations),
        ("GetAudioOutputConfigurations", READ_MEDIA, s.get_output_configurations),
        ("GetAudioDecoderConfigurations", READ_MEDIA, s.get_decoder_configurations),
        ("GetAudioSourceConfigurationOptions", READ_MEDIA, s.get_source_options),
        ("GetAudioEncoderConfigurationOptions", READ_MEDIA, s.get_encoder_options),
        ("GetAudioOutputConfigurationOptions", READ_MEDIA, s.get_output_options),
        ("GetAudioDecoderConfigurationOptions", READ_MEDIA, s.get_decoder_options),
        ("SetAudioSourceConfiguration", ACTUATE, s.set_source_configuration),
        ("SetAudioEncoderConfiguration", ACTUATE, s.set_encoder_configuration),
        ("SetAudioOutputConfiguration", ACTUATE, s.set_output_configuration),
        ("SetAudioDecoderConfiguration", ACTUATE, s.set_decoder_configuration),
    ]
    if with_profiles:
        operations += [
            ("GetServiceCapabilities", PRE_AUTH, s.get_service_capabilities),
            ("GetProfiles", READ_MEDIA, s.get_profiles),
            ("GetStreamUri", READ_MEDIA, s.get_stream_uri),
        ]
    for name, access, handler in operations:
        endpoint.add(TR2, name, access, handler)
