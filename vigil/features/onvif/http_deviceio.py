"""The ONVIF device IO service (`tmd`, /onvif/deviceio_service) of a device with audio: its audio
source (the built-in microphone) and audio output (the speaker), their configurations and
options, and Set... mapped onto the Audio parameters (audio.py), as in Media1 and Media2.
GetAudioSources and GetAudioOutputs are Media1's elements (`trt`), as the WSDL binds them."""

from __future__ import annotations

from lxml import etree

from vigil.core.auth import Principal
from vigil.features.onvif.audio import OUTPUT, SOURCE, AudioModel
from vigil.features.onvif.const import ACTUATE, PRE_AUTH, READ_MEDIA, TMD, TRT
from vigil.features.onvif.endpoint import OnvifEndpoint
from vigil.features.onvif.xml import TMD_, TRT_, text
from vigil.http.soap import SoapMessage


def deviceio_capabilities() -> etree._Element:
    return etree.Element(f"{{{TMD}}}Capabilities", VideoSources="0", VideoOutputs="0", AudioSources="1",
                         AudioOutputs="1", RelayOutputs="0", SerialPorts="0", DigitalInputs="0",
                         DigitalInputOptions="false", nsmap={"tmd": TMD})


class DeviceIOService:
    def __init__(self, model: AudioModel) -> None:
        self.model = model

    def physical(self, msg: SoapMessage, element: str, token: str) -> None:
        self.model.check_token(text(msg.body, element, required=True, limit=64), token)

    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TMD_.GetServiceCapabilitiesResponse(deviceio_capabilities())

    async def get_audio_sources(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioSourcesResponse(self.model.source(TRT_))

    async def get_audio_outputs(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TRT_.GetAudioOutputsResponse(self.model.output(TRT_))

    async def get_audio_source_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.physical(msg, "AudioSourceToken", SOURCE)
        return TMD_.GetAudioSourceConfigurationResponse(
            self.model.source_configuration(TMD_, "AudioSourceConfiguration"))

    async def get_audio_output_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.physical(msg, "AudioOutputToken", OUTPUT)
        return TMD_.GetAudioOutputConfigurationResponse(
            self.model.output_configuration(TMD_, "AudioOutputConfiguration"))

    async def get_audio_source_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.physical(msg, "AudioSourceToken", SOURCE)
        return TMD_.GetAudioSourceConfigurationOptionsResponse(self.model.source_options(TMD_, "AudioSourceOptions"))

    async def get_audio_output_options(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.physical(msg, "AudioOutputToken", OUTPUT)
        return TMD_.GetAudioOutputConfigurationOptionsResponse(self.model.output_options(TMD_, "AudioOutputOptions"))

    async def set_audio_source_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.model.set_source(msg.body)
        return TMD_.SetAudioSourceConfigurationResponse()

    async def set_audio_output_configuration(self, msg: SoapMessage, who: Principal) -> etree._Element:
        self.model.set_output(msg.body, who)
        return TMD_.SetAudioOutputConfigurationResponse()


def register(endpoint: OnvifEndpoint, service: DeviceIOService) -> None:
    s = service
    for namespace, name, access, handler in (
        (TMD, "GetServiceCapabilities", PRE_AUTH, s.get_service_capabilities),
        (TRT, "GetAudioSources", READ_MEDIA, s.get_audio_sources),
        (TRT, "GetAudioOutputs", READ_MEDIA, s.get_audio_outputs),
        (TMD, "GetAudioSourceConfiguration", READ_MEDIA, s.get_audio_source_configuration),
        (TMD, "GetAudioOutputConfiguration", READ_MEDIA, s.get_audio_output_configuration),
        (TMD, "GetAudioSourceConfigurationOptions", READ_MEDIA, s.get_audio_source_options),
        (TMD, "GetAudioOutputConfigurationOptions", READ_MEDIA, s.get_audio_output_options),
        (TMD, "SetAudioSourceConfiguration", ACTUATE, s.set_audio_source_configuration),
        (TMD, "SetAudioOutputConfiguration", ACTUATE, s.set_audio_output_configuration),
    ):
        endpoint.add(namespace, name, access, handler)
