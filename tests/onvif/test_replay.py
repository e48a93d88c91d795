"""Profile G's replay service: in process, every reply valid against replay.wsdl, the faults of bad
tokens and stream setups, and the replay configuration (audited, refused to a media user); with
Home Assistant's ONVIF client (onvif-zeep-async) against a served recorder with stored footage:
FindRecordings gives the tokens, GetReplayUri the URI, ffprobe plays it (the camera whose footage
is on an encrypted volume), and SetReplayConfiguration's SessionTimeout is the replay sessions'
timeout. (tests/rtsp/test_replay.py plays the other camera's two recordings and the gap between.)"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from onvif import ONVIFCamera
from zeep.exceptions import Fault

from tests.onvif.conftest import ONVIF_USERS, Soap
from tests.onvif.schemas import assert_valid
from tests.peers.rtsp_client import RtspClient, control_url
from tests.rtsp.conftest import StoredFootage, stored_footage
from tests.rtsp.test_replay import ffprobe
from vigil.core.roles import Role
from vigil.features.onvif.const import REPLAY_PATH, TRP, TT
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source

NS = {"trp": TRP, "tt": TT}
UNICAST = "<op:StreamSetup><tt:Stream>RTP-Unicast</tt:Stream><tt:Transport><tt:Protocol>RTSP</tt:Protocol>" \
          "</tt:Transport></op:StreamSetup>"


async def replay(soap: Soap, op: str, inner: str = "", as_level: str | None = "User"):
    return await soap(op, inner, TRP, as_level=as_level, path=REPLAY_PATH)


@pytest.fixture
def camera(soap: Soap) -> Soap:
    soap.device.features[RECORDING_SERVICE].sources.put(Source("east", "East", "rtsp://192.0.2.1/east"), "test")
    return soap


async def test_operations_validate_and_refuse_what_they_cannot_do(camera: Soap):
    caps = assert_valid((await replay(camera, "GetServiceCapabilities", as_level=None)).content)
    assert caps.find("trp:Capabilities", NS).attrib == {"ReversePlayback": "true", "SessionTimeoutRange": "10 3600",
                                                         "RTP_RTSP_TCP": "true"}
    uri = assert_valid((await replay(camera, "GetReplayUri",
                                     UNICAST + "<op:RecordingToken>recording_1</op:RecordingToken>")).content)
    assert uri.findtext("trp:Uri", namespaces=NS) == "rtsp://127.0.0.1:8554/onvif-replay?recording=recording_1"
    r = await replay(camera, "GetReplayUri", UNICAST + "<op:RecordingToken>recording_7</op:RecordingToken>")
    assert r.status_code == 400 and "ter:NoRecording" in r.text
    multicast = UNICAST.replace("RTP-Unicast", "RTP-Multicast")
    r = await replay(camera, "GetReplayUri", multicast + "<op:RecordingToken>recording_1</op:RecordingToken>")
    assert r.status_code == 400 and "ter:InvalidStreamSetup" in r.text
    r = await replay(camera, "GetReplayUri", "<op:RecordingToken>recording_1</op:RecordingToken>")
    assert r.status_code == 400 and "ter:InvalidStreamSetup" in r.text


async def test_replay_configuration_is_audited_and_for_operators(camera: Soap):
    got = assert_valid((await replay(camera, "GetReplayConfiguration")).content)
    assert got.findtext("trp:Configuration/tt:SessionTimeout", namespaces=NS) == "PT60S"
    setting = "<op:Configuration><tt:SessionTimeout>PT2M</tt:SessionTimeout></op:Configuration>"
    r = await replay(camera, "SetReplayConfiguration", setting)
    assert r.status_code == 400 and "ter:NotAuthorized" in r.text  # a media user may not
    assert_valid((await replay(camera, "SetReplayConfiguration", setting, as_level="Operator")).content)
    got = assert_valid((await replay(camera, "GetReplayConfiguration")).content)
    assert got.findtext("trp:Configuration/tt:SessionTimeout", namespaces=NS) == "PT120S"
    assert "Network.RTSP.ReplaySessionTimeout" in camera.device.logs.text("audit", "onvifop")
    for bad in ("PT5S", "PT2H", "PT10.5S", "soon"):
        r = await replay(camera, "SetReplayConfiguration", setting.replace("PT2M", bad), as_level="Operator")
        assert r.status_code == 400 and "ter:InvalidArgVal" in r.text, bad
    assert camera.device.params.get("Network.RTSP.ReplaySessionTimeout") == "120"


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stored(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[StoredFootage]:
    async with stored_footage(tmp_path_factory.mktemp("replay")) as footage:
        for level, role in (("Operator", Role.OPERATOR), ("User", Role.VIEWER)):  # (root is there already)
            footage.device.accounts.add(*ONVIF_USERS[level], role, False, "", "test", onvif=True)
        yield footage


@pytest.mark.asyncio(loop_scope="module")
async def test_home_assistants_client_finds_a_recording_and_its_replay_uri_plays(stored: StoredFootage):
    user, password = ONVIF_USERS["User"]
    camera = ONVIFCamera("127.0.0.1", stored.device.ports.http, user, password, adjust_time=True)
    try:
        await camera.update_xaddrs()
        search = await camera.create_search_service()
        token = await search.FindRecordings({"Scope": {"RecordingInformationFilter":
                                                       'boolean(//Track[TrackType = "Video"])'},
                                             "KeepAliveTime": "PT10S"})
        found = await search.GetRecordingSearchResults({"SearchToken": token, "WaitTime": "PT1S"})
        tokens = [r.RecordingToken for r in found.RecordingInformation]
        assert tokens == ["recording_1", "recording_2", "recording_3"]
        service = await camera.create_replay_service()
        assert (await service.GetServiceCapabilities()).ReversePlayback is True
        uri = await service.GetReplayUri({"RecordingToken": tokens[2],
                                          "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}})
        assert uri == f"rtsp://127.0.0.1:{stored.port}/onvif-replay?recording=recording_3"
        played = await ffprobe(uri.replace("rtsp://", f"rtsp://{user}:{password}@"))
        assert played["streams"][0]["nb_read_frames"] == "45"  # vaultA: 3 s of 15 frames, decrypted
        assert float(played["format"]["duration"]) == pytest.approx(3.0)
        operator = ONVIFCamera("127.0.0.1", stored.device.ports.http, *ONVIF_USERS["Operator"], adjust_time=True)
        try:
            await operator.update_xaddrs()
            configure = await operator.create_replay_service()
            await configure.SetReplayConfiguration({"Configuration": {"SessionTimeout": "PT25S"}})
            with pytest.raises(Fault, match="(?i)SessionTimeout"):
                await configure.SetReplayConfiguration({"Configuration": {"SessionTimeout": "PT1S"}})
        finally:
            await operator.close()
    finally:
        await camera.close()
    client = await RtspClient.open(stored.port, uri, user, password)
    try:
        described = await client.request("DESCRIBE", headers={"Require": "onvif-replay"})
        assert "a=x-onvif-track:video" in described.body.decode()  # the search service's track token
        setup = await client.request("SETUP", control_url(described.body.decode(), "video", uri),
                                     headers={"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1",
                                              "Require": "onvif-replay"})
        assert setup.status == 200 and setup.header("session").endswith(";timeout=25")
        rtsp = next(s.__self__ for s in stored.device.services if type(getattr(s, "__self__", None)).__name__
                    == "RtspServer")
        assert rtsp.sessions[client.session].timeout == 25  # what the reaper ends it after
    finally:
        client.close()
