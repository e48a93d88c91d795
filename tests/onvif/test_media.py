"""The media service in process: one profile per recorded camera, tokens, GetStreamUri = the
live relay URI, and every reply valid against media.wsdl."""

from __future__ import annotations

from tests.onvif.conftest import Soap
from tests.onvif.schemas import assert_valid
from vigil.features.onvif.const import MEDIA_PATH, TRT, TT
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source

NS = {"trt": TRT, "tt": TT}
RTSP_SETUP = ("<op:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol>"
              "</tt:Transport></op:StreamSetup>")


def add_cameras(soap: Soap, *ids: str) -> None:
    sources = soap.device.features[RECORDING_SERVICE].sources
    for sid in ids:
        sources.put(Source(sid, f"Camera {sid}", f"rtsp://192.0.2.1/{sid}"), "test")


async def media(soap: Soap, op: str, inner: str = "", as_level: str | None = "User"):
    return await soap(op, inner, TRT, as_level=as_level, path=MEDIA_PATH)


async def test_one_profile_per_recorded_camera(soap: Soap):
    add_cameras(soap, "gate", "door")
    profiles = assert_valid((await media(soap, "GetProfiles")).content)
    tokens = [p.get("token") for p in profiles]
    names = [p.findtext("tt:Name", namespaces=NS) for p in profiles]
    assert tokens == ["profile_1", "profile_2"] and names == ["Camera door", "Camera gate"]  # numbered by id
    first = profiles[0]
    assert first.findtext("tt:VideoEncoderConfiguration/tt:Encoding", namespaces=NS) == "H264"
    assert first.find("tt:VideoEncoderConfiguration/tt:RateControl", NS) is not None
    assert first.find("tt:MetadataConfiguration", NS) is not None
    assert first.findtext("tt:VideoSourceConfiguration/tt:SourceToken", namespaces=NS) == "videosource_1"
    for op, inner in (("GetProfile", "<op:ProfileToken>profile_2</op:ProfileToken>"), ("GetVideoSources", ""),
                      ("GetVideoSourceConfigurations", ""), ("GetVideoEncoderConfigurations", ""),
                      ("GetMetadataConfigurations", ""),
                      ("GetVideoSourceConfiguration", "<op:ConfigurationToken>videosourceconfig_1</op:ConfigurationToken>"),
                      ("GetVideoEncoderConfiguration", "<op:ConfigurationToken>videoencoder_2</op:ConfigurationToken>"),
                      ("GetMetadataConfiguration", "<op:ConfigurationToken>metadata_1</op:ConfigurationToken>"),
                      ("GetCompatibleVideoSourceConfigurations", "<op:ProfileToken>profile_1</op:ProfileToken>"),
                      ("GetCompatibleVideoEncoderConfigurations", "<op:ProfileToken>profile_1</op:ProfileToken>"),
                      ("GetCompatibleMetadataConfigurations", "<op:ProfileToken>profile_2</op:ProfileToken>"),
                      ("GetVideoEncoderConfigurationOptions", ""),
                      ("GetVideoEncoderConfigurationOptions", "<op:ConfigurationToken>videoencoder_1</op:ConfigurationToken>"),
                      ("GetGuaranteedNumberOfVideoEncoderInstances",
                       "<op:ConfigurationToken>videosourceconfig_1</op:ConfigurationToken>")):
        r = await media(soap, op, inner)
        assert r.status_code == 200, (op, r.text)
        assert_valid(r.content)
    assert_valid((await media(soap, "GetServiceCapabilities", as_level=None)).content)


async def test_stream_uri_is_the_live_relay_of_the_profile_camera(soap: Soap):
    add_cameras(soap, "a", "b", "c")
    inner = RTSP_SETUP + "<op:ProfileToken>profile_3</op:ProfileToken>"
    uri = assert_valid((await media(soap, "GetStreamUri", inner)).content)
    rtsp = soap.device.listening.rtsp
    assert uri.findtext("trt:MediaUri/tt:Uri", namespaces=NS) == \
        f"rtsp://127.0.0.1:{rtsp}/axis-media/media.amp?camera=3"


async def test_snapshot_uri_is_the_vapix_snapshot_of_the_profile_camera(soap: Soap):
    add_cameras(soap, "a", "b")
    uri = assert_valid((await media(soap, "GetSnapshotUri", "<op:ProfileToken>profile_2</op:ProfileToken>")).content)
    assert uri.findtext("trt:MediaUri/tt:Uri", namespaces=NS) == \
        f"http://127.0.0.1:{soap.device.listening.http}/axis-cgi/jpg/image.cgi?camera=2"
    caps = assert_valid((await media(soap, "GetServiceCapabilities", as_level=None)).content)
    assert caps.find("trt:Capabilities", NS).get("SnapshotUri") == "true"
    assert (await media(soap, "GetSnapshotUri", "<op:ProfileToken>profile_1</op:ProfileToken>",
                        as_level=None)).status_code == 401


async def test_media_refusals(soap: Soap):
    add_cameras(soap, "a")
    r = await media(soap, "GetStreamUri", RTSP_SETUP + "<op:ProfileToken>profile_9</op:ProfileToken>")
    assert r.status_code == 400 and "ter:NoProfile" in r.text
    multicast = RTSP_SETUP.replace("RTP-Unicast", "RTP-Multicast") + "<op:ProfileToken>profile_1</op:ProfileToken>"
    r = await media(soap, "GetStreamUri", multicast)
    assert r.status_code == 400 and "InvalidStreamSetup" in r.text
    r = await media(soap, "GetProfiles", as_level=None)
    assert r.status_code == 401
    r = await media(soap, "GetSnapshotUri", "<op:ProfileToken>profile_4</op:ProfileToken>")
    assert r.status_code == 400 and "ter:NoProfile" in r.text
    r = await soap("GetProfiles", "", "http://www.onvif.org/ver20/media/wsdl", as_level="User", path=MEDIA_PATH)
    assert "ActionNotSupported" in r.text and "belongs to namespace" in r.text
