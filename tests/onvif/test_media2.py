"""Media2 in process: the same profiles as Media1 with H.265 named too, configuration types on
request, GetStreamUri for RTSP unicast; every reply valid against the newest ONVIF Media2 schema."""

from __future__ import annotations

import pytest

from tests.onvif.conftest import Soap
from tests.onvif.schemas import assert_valid, media2_schema
from vigil.features.onvif.const import MEDIA2_PATH, TR2, TT
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source

NS = {"tr2": TR2, "tt": TT}


@pytest.fixture
def cameras(soap: Soap) -> Soap:
    recording = soap.device.features[RECORDING_SERVICE]
    for sid in ("east", "west"):
        recording.sources.put(Source(sid, f"Camera {sid}", f"rtsp://192.0.2.1/{sid}"), "test")
    return soap


async def media2(soap: Soap, op: str, inner: str = "", as_level: str | None = "User"):
    return await soap(op, inner, TR2, as_level=as_level, path=MEDIA2_PATH)


async def test_profiles_with_the_configuration_types_asked_for(cameras: Soap):
    bare = assert_valid((await media2(cameras, "GetProfiles")).content)
    assert [p.get("token") for p in bare] == ["profile_1", "profile_2"]
    assert bare.find(".//tr2:Configurations", NS) is None  # no Type: no configurations
    full = assert_valid((await media2(cameras, "GetProfiles", "<op:Type>All</op:Type>")).content)
    first = full[0].find("tr2:Configurations", NS)
    assert [c.tag.split("}")[1] for c in first] == ["VideoSource", "VideoEncoder", "Metadata"]
    assert first.findtext("tr2:VideoEncoder/tt:Encoding", namespaces=NS) == "H264"
    only = assert_valid((await media2(cameras, "GetProfiles", "<op:Token>profile_2</op:Token>"
                                      "<op:Type>VideoEncoder</op:Type>")).content)
    assert len(only) == 1 and [c.tag.split("}")[1] for c in only[0].find("tr2:Configurations", NS)] == ["VideoEncoder"]
    for op, inner in (("GetVideoSourceConfigurations", ""), ("GetVideoEncoderConfigurations", ""),
                      ("GetMetadataConfigurations", ""),
                      ("GetVideoEncoderConfigurations", "<op:ProfileToken>profile_1</op:ProfileToken>"),
                      ("GetVideoSourceConfigurations", "<op:ConfigurationToken>videosourceconfig_2</op:ConfigurationToken>")):
        r = await media2(cameras, op, inner)
        assert r.status_code == 200, (op, r.text)
        assert_valid(r.content)
    assert_valid((await media2(cameras, "GetServiceCapabilities", as_level=None)).content)


async def test_stream_and_snapshot_uris_and_refusals(cameras: Soap):
    uri = assert_valid((await media2(cameras, "GetStreamUri", "<op:Protocol>RtspUnicast</op:Protocol>"
                                     "<op:ProfileToken>profile_2</op:ProfileToken>")).content)
    assert uri.findtext("tr2:Uri", namespaces=NS) == \
        f"rtsp://127.0.0.1:{cameras.device.listening.rtsp}/axis-media/media.amp?camera=2"
    snapshot = assert_valid((await media2(cameras, "GetSnapshotUri",
                                          "<op:ProfileToken>profile_1</op:ProfileToken>")).content)
    assert snapshot.findtext("tr2:Uri", namespaces=NS) == \
        f"http://127.0.0.1:{cameras.device.listening.http}/axis-cgi/jpg/image.cgi?camera=1"
    r = await media2(cameras, "GetSnapshotUri", "<op:ProfileToken>profile_3</op:ProfileToken>")
    assert r.status_code == 400 and "NoProfile" in r.text
    r = await media2(cameras, "GetStreamUri", "<op:Protocol>RtspMulticast</op:Protocol>"
                                             "<op:ProfileToken>profile_2</op:ProfileToken>")
    assert r.status_code == 400 and "InvalidStreamSetup" in r.text
    r = await media2(cameras, "GetProfiles", "<op:Type>Everything</op:Type>")
    assert r.status_code == 400 and "InvalidArgVal" in r.text
    r = await media2(cameras, "GetProfiles", "<op:Token>profile_7</op:Token>")
    assert r.status_code == 400 and "NoProfile" in r.text
    assert (await media2(cameras, "GetProfiles", as_level=None)).status_code == 401


def test_the_media2_validator_refuses_a_wrong_reply():
    """The validator can fail: an encoder configuration without its Resolution is no valid reply."""
    from lxml import etree

    wrong = etree.fromstring(
        f'<tr2:GetVideoEncoderConfigurationsResponse xmlns:tr2="{TR2}" xmlns:tt="{TT}"><tr2:Configurations token="x">'
        "<tt:Name>x</tt:Name><tt:UseCount>1</tt:UseCount><tt:Encoding>H264</tt:Encoding><tt:Quality>0</tt:Quality>"
        "</tr2:Configurations></tr2:GetVideoEncoderConfigurationsResponse>")
    assert list(media2_schema().iter_errors(wrong))
