"""ONVIF on the C1410: the audio profile in Media1 and Media2 (audio source, encoder, output and
decoder configurations and their options), the device IO service's audio source and output,
Set... mapped onto the Audio parameters (the speaker's sink hears the new output level), refusals
with the ONVIF faults, and GetStreamUri giving the microphone's live stream, which ffprobe plays.
Every reply validates against its service's schema."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from lxml import etree

from tests.conftest import ADMIN, asgi_client, serving
from tests.onvif.conftest import Soap, add_onvif_accounts
from tests.onvif.schemas import assert_valid, request, security
from vigil.device import Device
from vigil.features.audio import const as audio_const
from vigil.features.onvif.const import (
    DEVICE_PATH,
    DEVICEIO_PATH,
    MEDIA2_PATH,
    MEDIA_PATH,
    TDS,
    TMD,
    TR2,
    TRT,
    TT,
)
from vigil.hal.audio import AUDIO_HARDWARE, level_dbfs, tone

NS = {"trt": TRT, "tr2": TR2, "tt": TT, "tds": TDS, "tmd": TMD}
RTSP_SETUP = ("<op:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol>"
              "</tt:Transport></op:StreamSetup><op:ProfileToken>profile_1</op:ProfileToken>")


@pytest.fixture
async def soap(c1410: Device) -> AsyncIterator[Soap]:
    add_onvif_accounts(c1410)
    async with asgi_client(c1410) as client:
        yield Soap(client, c1410)


async def call(soap: Soap, service: str, op: str, inner: str = "", level: str | None = "User") -> etree._Element:
    namespace, path = {"media": (TRT, MEDIA_PATH), "media2": (TR2, MEDIA2_PATH), "deviceio": (TMD, DEVICEIO_PATH),
                       "deviceio-trt": (TRT, DEVICEIO_PATH), "device": (TDS, DEVICE_PATH)}[service]
    reply = await soap(op, inner, namespace, as_level=level, path=path)
    assert reply.status_code == 200, reply.text
    return assert_valid(reply.content)


async def fault(soap: Soap, service: str, op: str, inner: str, level: str = "Operator") -> str:
    namespace, path = {"media": (TRT, MEDIA_PATH), "media2": (TR2, MEDIA2_PATH), "deviceio": (TMD, DEVICEIO_PATH)}[service]
    reply = await soap(op, inner, namespace, as_level=level, path=path)
    assert reply.status_code in (400, 500), reply.text
    return reply.text


def encoder1(encoding: str, bitrate: int, rate: int, name: str = "Microphone encoder") -> str:
    return (f'<op:Configuration token="audioencoder_0"><tt:Name>{name}</tt:Name><tt:UseCount>1</tt:UseCount>'
            f"<tt:Encoding>{encoding}</tt:Encoding><tt:Bitrate>{bitrate}</tt:Bitrate><tt:SampleRate>{rate}</tt:SampleRate>"
            "<tt:Multicast><tt:Address><tt:Type>IPv4</tt:Type><tt:IPv4Address>0.0.0.0</tt:IPv4Address></tt:Address>"
            "<tt:Port>0</tt:Port><tt:TTL>0</tt:TTL><tt:AutoStart>false</tt:AutoStart></tt:Multicast>"
            "<tt:SessionTimeout>PT60S</tt:SessionTimeout></op:Configuration><op:ForcePersistence>true</op:ForcePersistence>")


def output(level: str, token: str = "audiooutputconfig_0", extra: str = "") -> str:
    return (f'<op:Configuration token="{token}"><tt:Name>Speaker</tt:Name><tt:UseCount>1</tt:UseCount>'
            f"<tt:OutputToken>audiooutput_0</tt:OutputToken>{extra}<tt:OutputLevel>{level}</tt:OutputLevel>"
            "</op:Configuration><op:ForcePersistence>true</op:ForcePersistence>")


async def test_the_speaker_lists_media_media2_and_device_io_but_no_search(soap: Soap):
    services = await call(soap, "device", "GetServices", "<op:IncludeCapability>true</op:IncludeCapability>")
    namespaces = [s.findtext("tds:Namespace", namespaces=NS) for s in services]
    assert TRT in namespaces and TR2 in namespaces and TMD in namespaces
    assert "http://www.onvif.org/ver10/search/wsdl" not in namespaces
    media2 = next(s for s in services if s.findtext("tds:Namespace", namespaces=NS) == TR2)
    caps = media2.find("tds:Capabilities/tr2:Capabilities/tr2:ProfileCapabilities", NS)
    assert caps.get("ConfigurationsSupported") == "AudioSource AudioEncoder AudioOutput AudioDecoder"
    capabilities = await call(soap, "device", "GetCapabilities")
    deviceio = capabilities.find("tds:Capabilities/tt:Extension/tt:DeviceIO", NS)
    assert deviceio.findtext("tt:XAddr", namespaces=NS).endswith(DEVICEIO_PATH)
    assert deviceio.findtext("tt:AudioOutputs", namespaces=NS) == "1"


async def test_media1_has_the_audio_profile_and_every_configuration(soap: Soap):
    profiles = await call(soap, "media", "GetProfiles")
    [profile] = profiles
    assert profile.get("token") == "profile_1"
    assert profile.findtext("tt:AudioSourceConfiguration/tt:SourceToken", namespaces=NS) == "audiosource_0"
    assert profile.findtext("tt:AudioEncoderConfiguration/tt:Encoding", namespaces=NS) == "G711"
    assert profile.findtext("tt:Extension/tt:AudioOutputConfiguration/tt:OutputToken", namespaces=NS) == "audiooutput_0"
    assert profile.find("tt:Extension/tt:AudioDecoderConfiguration", NS) is not None
    for op, inner in (("GetProfile", "<op:ProfileToken>profile_1</op:ProfileToken>"), ("GetAudioSources", ""),
                      ("GetAudioOutputs", ""), ("GetAudioSourceConfigurations", ""),
                      ("GetAudioSourceConfiguration", "<op:ConfigurationToken>audiosourceconfig_0</op:ConfigurationToken>"),
                      ("GetAudioSourceConfigurationOptions", ""), ("GetAudioEncoderConfigurations", ""),
                      ("GetAudioEncoderConfiguration", "<op:ConfigurationToken>audioencoder_0</op:ConfigurationToken>"),
                      ("GetAudioEncoderConfigurationOptions", ""), ("GetAudioOutputConfigurations", ""),
                      ("GetAudioOutputConfiguration", "<op:ConfigurationToken>audiooutputconfig_0</op:ConfigurationToken>"),
                      ("GetAudioOutputConfigurationOptions", ""), ("GetAudioDecoderConfigurations", ""),
                      ("GetAudioDecoderConfiguration", "<op:ConfigurationToken>audiodecoderconfig_0</op:ConfigurationToken>"),
                      ("GetAudioDecoderConfigurationOptions", ""), ("GetVideoSources", ""),
                      ("GetCompatibleAudioEncoderConfigurations", "<op:ProfileToken>profile_1</op:ProfileToken>"),
                      ("GetCompatibleAudioOutputConfigurations", "<op:ProfileToken>profile_1</op:ProfileToken>"),
                      ("GetServiceCapabilities", "")):
        await call(soap, "media", op, inner)
    options = await call(soap, "media", "GetAudioEncoderConfigurationOptions")
    assert [o.findtext("tt:Encoding", namespaces=NS) for o in options.find("trt:Options", NS)] == ["G711", "AAC"]
    levels = await call(soap, "media", "GetAudioOutputConfigurationOptions")
    assert levels.findtext("trt:Options/tt:OutputLevelRange/tt:Min", namespaces=NS) == "-60"


async def test_set_encoder_and_output_level_change_the_audio_settings(soap: Soap):
    device = soap.device
    await call(soap, "media", "SetAudioEncoderConfiguration", encoder1("AAC", 32, 16), level="Operator")
    assert device.params.get(audio_const.ENCODING) == "aac"
    profile = (await call(soap, "media", "GetProfiles"))[0]
    assert profile.findtext("tt:AudioEncoderConfiguration/tt:Encoding", namespaces=NS) == "AAC"
    await call(soap, "media", "SetAudioOutputConfiguration", output("-20"), level="Operator")
    assert device.params.get(audio_const.OUTPUT_GAIN) == "-20"
    audio = device.hardware[AUDIO_HARDWARE]
    await audio.play(tone(1000, 0.1, -6.0))
    assert abs(level_dbfs(audio.sink_samples()) - -26.0) < 0.1  # the speaker plays 20 dB lower
    assert "onvifop" in device.logs.text("audit", audio_const.OUTPUT_GAIN)
    got = await call(soap, "deviceio", "GetAudioOutputConfiguration", "<op:AudioOutputToken>audiooutput_0</op:AudioOutputToken>")
    assert got.findtext("tmd:AudioOutputConfiguration/tt:OutputLevel", namespaces=NS) == "-20"


async def test_settings_the_device_cannot_take_get_onvif_faults_and_change_nothing(soap: Soap):
    device = soap.device
    before = {n: device.params.get(n) for n in (*audio_const.SETTINGS, audio_const.ENCODING)}
    for op, inner, subcode in (
        ("SetAudioEncoderConfiguration", encoder1("G726", 32, 8), "ConfigModify"),
        ("SetAudioEncoderConfiguration", encoder1("G711", 128, 8), "ConfigModify"),
        ("SetAudioEncoderConfiguration", encoder1("AAC", 32, 16, name="Other"), "ConfigModify"),
        ("SetAudioEncoderConfiguration", encoder1("AAC", 32, 16).replace("audioencoder_0", "enc9"), "NoConfig"),
        ("SetAudioOutputConfiguration", output("5"), "ConfigModify"),
        ("SetAudioOutputConfiguration", output("loud"), "ConfigModify"),
        ("SetAudioOutputConfiguration", output("-3", extra="<tt:SendPrimacy>www.onvif.org/ver20/HalfDuplex/Auto"
                                                    "</tt:SendPrimacy>"), "ConfigModify"),
        ("GetAudioEncoderConfiguration", "<op:ConfigurationToken>nope</op:ConfigurationToken>", "NoConfig"),
        ("GetStreamUri", RTSP_SETUP.replace("profile_1", "profile_2"), "NoProfile"),
    ):
        text = await fault(soap, "media", op, inner)
        assert f"ter:{subcode}" in text, (op, text)
    refused = await soap("SetAudioOutputConfiguration", output("-3"), TRT, as_level="User", path=MEDIA_PATH)
    assert refused.status_code == 400 and "NotAuthorized" in refused.text  # a media account only watches
    assert {n: device.params.get(n) for n in before} == before


async def test_media2_has_the_audio_profile_and_sets_opus(soap: Soap):
    profiles = await call(soap, "media2", "GetProfiles", "<op:Type>All</op:Type>")
    configurations = profiles[0].find("tr2:Configurations", NS)
    assert [etree.QName(c).localname for c in configurations] == ["AudioSource", "AudioEncoder", "AudioOutput",
                                                                   "AudioDecoder"]
    assert configurations.findtext("tr2:AudioEncoder/tt:Encoding", namespaces=NS) == "PCMU"
    for op in ("GetAudioSourceConfigurations", "GetAudioEncoderConfigurations", "GetAudioOutputConfigurations",
               "GetAudioDecoderConfigurations", "GetAudioSourceConfigurationOptions",
               "GetAudioEncoderConfigurationOptions", "GetAudioOutputConfigurationOptions",
               "GetAudioDecoderConfigurationOptions", "GetServiceCapabilities"):
        await call(soap, "media2", op)
    opus = ('<op:Configuration token="audioencoder_0"><tt:Name>Microphone encoder</tt:Name><tt:UseCount>1</tt:UseCount>'
            "<tt:Encoding>opus</tt:Encoding><tt:Bitrate>32</tt:Bitrate><tt:SampleRate>48</tt:SampleRate></op:Configuration>")
    await call(soap, "media2", "SetAudioEncoderConfiguration", opus, level="Operator")
    assert soap.device.params.get(audio_const.ENCODING) == "opus"
    media1 = (await call(soap, "media", "GetProfiles"))[0]
    assert media1.find("tt:AudioEncoderConfiguration", NS) is None  # Media1 has no name for Opus
    assert len(await call(soap, "media", "GetAudioEncoderConfigurations")) == 0
    uri = await call(soap, "media2", "GetStreamUri", "<op:Protocol>RtspUnicast</op:Protocol>"
                                                    "<op:ProfileToken>profile_1</op:ProfileToken>")
    assert uri.findtext("tr2:Uri", namespaces=NS).endswith("/axis-media/media.amp?audio=1")


async def test_device_io_lists_the_audio_source_and_output(soap: Soap):
    sources = await call(soap, "deviceio-trt", "GetAudioSources")
    assert sources[0].get("token") == "audiosource_0"
    outputs = await call(soap, "deviceio-trt", "GetAudioOutputs")
    assert outputs[0].get("token") == "audiooutput_0"
    for op, inner in (("GetServiceCapabilities", ""),
                      ("GetAudioSourceConfiguration", "<op:AudioSourceToken>audiosource_0</op:AudioSourceToken>"),
                      ("GetAudioSourceConfigurationOptions", "<op:AudioSourceToken>audiosource_0</op:AudioSourceToken>"),
                      ("GetAudioOutputConfigurationOptions", "<op:AudioOutputToken>audiooutput_0</op:AudioOutputToken>")):
        await call(soap, "deviceio", op, inner)
    await call(soap, "deviceio", "SetAudioOutputConfiguration", output("-6"), level="Operator")
    assert soap.device.params.get(audio_const.OUTPUT_GAIN) == "-6"
    text = await fault(soap, "deviceio", "GetAudioOutputConfiguration", "<op:AudioOutputToken>x</op:AudioOutputToken>")
    assert "ter:NoConfig" in text


async def test_stream_uri_of_the_audio_profile_plays_in_ffprobe(tmp_path: Path):
    async with serving("c1410", tmp_path / "data") as device:
        add_onvif_accounts(device)
        header = security("onvifmedia", "med1aPass")
        async with httpx.AsyncClient() as client:
            reply = await client.post(f"http://127.0.0.1:{device.ports.http}{MEDIA_PATH}",
                                      content=request("GetStreamUri", RTSP_SETUP, TRT, header),
                                      headers={"Content-Type": "application/soap+xml"})
        uri = assert_valid(reply.content).findtext("trt:MediaUri/tt:Uri", namespaces=NS)
        assert uri == f"rtsp://127.0.0.1:{device.ports.rtsp}/axis-media/media.amp?audio=1"
        with_user = uri.replace("rtsp://", f"rtsp://{ADMIN[0]}:{ADMIN[1]}@")
        proc = await asyncio.create_subprocess_exec(
            "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_type,codec_name",
            "-of", "csv=p=0", with_user, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        assert out.decode().strip() == "pcm_mulaw,audio"
