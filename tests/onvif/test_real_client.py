"""Home Assistant's ONVIF client (onvif-zeep-async) against a real `vigil run` S3016 with a
built-in test camera on 127.0.0.1, in the order Home Assistant calls (onvif.md §2.2), with
WS-Security PasswordDigest; a wrong password and a User's CreateUsers are refused; a Profile G
client's recording job modes and event search; the W401's events; the C1410's audio profile."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import av
import httpx
import pytest
from lxml import etree
from onvif import ONVIFCamera
from onvif.exceptions import ONVIFError
from zeep import Plugin
from zeep.exceptions import Fault

from tests.conftest import ADMIN, LiveDevice, eventually, wait_until
from tests.onvif.conftest import ONVIF_ADMIN, ONVIF_MEDIA, onvif_device
from tests.onvif.schemas import valid_element
from vigil.features.onvif.const import CONCRETE_SET, TRT, WSNT


class Validating(Plugin):
    """Checks every reply the client receives against the package's schemas."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def ingress(self, envelope, http_headers, operation):
        body = envelope.find("{http://www.w3.org/2003/05/soap-envelope}Body")
        if body is not None and len(body) and not body[0].tag.endswith("}Fault"):
            self.seen.append(valid_element(body[0]))
        return envelope, http_headers


def validating(service, plugin: Validating):
    for client in (service.zeep_client, service.zeep_client_authless):
        client.plugins.append(plugin)
    return service


@pytest.fixture(scope="module")
def recorder(tmp_path_factory) -> Iterator[LiveDevice]:
    yield from onvif_device(tmp_path_factory, "s3016", test_cameras=1)


@pytest.fixture(scope="module")
def w401(tmp_path_factory) -> Iterator[LiveDevice]:
    yield from onvif_device(tmp_path_factory, "w401")


async def test_home_assistant_setup_sequence(recorder: LiveDevice):
    camera = ONVIFCamera("127.0.0.1", recorder.http_port, *ONVIF_ADMIN, adjust_time=True)
    try:
        await camera.update_xaddrs()  # GetSystemDateAndTime (unauthenticated), GetServices
        assert TRT in camera.xaddrs or "http://www.onvif.org/ver10/media/wsdl" in camera.xaddrs
        capabilities = await camera.get_capabilities()  # GetCapabilities
        assert capabilities["Media"]["XAddr"].endswith("/onvif/media_service")
        checked = Validating()
        device = validating(await camera.create_devicemgmt_service(), checked)
        now = await device.GetSystemDateAndTime()
        assert now.UTCDateTime.Date.Year >= 2024
        info = await device.GetDeviceInformation()
        assert (info.Model, info.SerialNumber) == ("S3016", info.SerialNumber) and info.Manufacturer
        interfaces = await device.GetNetworkInterfaces()
        assert interfaces[0].Info.HwAddress.replace(":", "") == info.SerialNumber
        media = validating(await camera.create_media_service(), checked)
        media_caps = await media.GetServiceCapabilities()
        assert media_caps.SnapshotUri is True
        profiles = await media.GetProfiles()
        h264 = [p for p in profiles if p.VideoEncoderConfiguration and p.VideoEncoderConfiguration.Encoding == "H264"]
        assert [p.token for p in h264] == ["profile_1"]  # Home Assistant makes a camera of each H.264 profile
        uri = await media.GetStreamUri({"ProfileToken": "profile_1",
                                        "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}})
        assert uri.Uri == f"rtsp://127.0.0.1:{recorder.rtsp_port}/axis-media/media.amp?camera=1"
        assert checked.seen == ["GetSystemDateAndTimeResponse", "GetDeviceInformationResponse",
                                "GetNetworkInterfacesResponse", "GetServiceCapabilitiesResponse",
                                "GetProfilesResponse", "GetStreamUriResponse"]
    finally:
        await camera.close()


async def test_home_assistant_snapshot(recorder: LiveDevice):
    """The camera entity's picture: GetSnapshotUri, then an HTTP GET with Digest (as Home Assistant's
    ONVIF camera does), for the administrator and for a media user; wrong credentials get nothing."""
    image = f"{recorder.http}/axis-cgi/jpg/image.cgi?camera=1"
    wait_until(lambda: httpx.get(image, auth=httpx.DigestAuth(*ONVIF_MEDIA)).status_code == 200, 20,
               "the test camera's first key frame")
    for credentials in (ONVIF_ADMIN, ONVIF_MEDIA):
        camera = ONVIFCamera("127.0.0.1", recorder.http_port, *credentials)
        try:
            await camera.update_xaddrs()
            assert await camera.get_snapshot_uri("profile_1") == \
                f"http://127.0.0.1:{recorder.http_port}/axis-cgi/jpg/image.cgi?camera=1"
            jpeg = await camera.get_snapshot("profile_1")
            assert jpeg is not None and jpeg[:2] == b"\xff\xd8"
            with av.open(io.BytesIO(jpeg)) as picture:
                frame = next(picture.decode(video=0))
                assert (frame.width, frame.height) == (1280, 720)  # the built-in test camera's size
        finally:
            await camera.close()
    r = httpx.get(image, auth=httpx.DigestAuth(ONVIF_MEDIA[0], "nope"))
    assert r.status_code == 401


async def test_wrong_password_and_a_media_user_are_refused(recorder: LiveDevice):
    wrong = ONVIFCamera("127.0.0.1", recorder.http_port, ONVIF_ADMIN[0], "not-it")
    try:
        # GetServices is PRE_AUTH, yet credentials that are given are checked: the wrong ones fail at once.
        with pytest.raises((Fault, ONVIFError), match="(?i)not ?authorized"):
            await wrong.update_xaddrs()
    finally:
        await wrong.close()
    media_user = ONVIFCamera("127.0.0.1", recorder.http_port, *ONVIF_MEDIA)
    try:
        await media_user.update_xaddrs()
        device = await media_user.create_devicemgmt_service()
        assert (await device.GetDeviceInformation()).Model == "S3016"
        with pytest.raises((Fault, ONVIFError), match="(?i)not ?authorized"):
            await device.CreateUsers({"User": [{"Username": "intruder", "Password": "Intrude1",
                                                "UserLevel": "Administrator"}]})
        with pytest.raises((Fault, ONVIFError), match="(?i)not ?authorized"):
            await device.SystemReboot()
        assert recorder.process.poll() is None
    finally:
        await media_user.close()


def relay_states(result) -> list[tuple[str, str, str | None]]:
    """(relay token, logical state, property operation) of each Relay message pulled."""
    out = []
    for m in result.NotificationMessage or []:
        if m.Topic._value_1 != "tns1:Device/Trigger/Relay":
            continue
        message = m.Message._value_1  # as Home Assistant's parsers read it
        items = {i.Name: i.Value for part in (message.Source, message.Data) for i in part.SimpleItem}
        out.append((items["RelayToken"], items["LogicalState"], message.PropertyOperation))
    return out


async def test_home_assistant_pull_point_events_on_the_w401(w401: LiveDevice):
    """Home Assistant's event pattern: PullPoint for 3 minutes, synchronisation point, pulls,
    an absolute Renew, Unsubscribe at the end; a relay switched through ONVIF shows up."""
    camera = ONVIFCamera("127.0.0.1", w401.http_port, *ONVIF_ADMIN)
    try:
        await camera.update_xaddrs()
        capabilities = await camera.get_capabilities()
        assert capabilities["Events"]["WSPullPointSupport"] is True
        manager = await camera.create_pullpoint_manager(timedelta(minutes=3), lambda: None)
        await manager.start()
        await manager.set_synchronization_point()
        pullpoint = validating(manager.get_service(), Validating())
        first = await pullpoint.PullMessages({"MessageLimit": 100, "Timeout": timedelta(seconds=2)})
        assert ("8", "inactive", "Initialized") in relay_states(first)
        device = await camera.create_devicemgmt_service()
        token = (await device.GetRelayOutputs())[0].token
        await device.SetRelayOutputState({"RelayOutputToken": token, "LogicalState": "active"})
        pulled: list[tuple[str, str, str | None]] = []
        for _ in range(10):  # the rest of the initial states first (the W401 has more than 100), then the change
            pulled += relay_states(await pullpoint.PullMessages({"MessageLimit": 100,
                                                                 "Timeout": timedelta(seconds=5)}))
            if any(operation == "Changed" for _, _, operation in pulled):
                break
        assert [p for p in pulled if p[2] == "Changed"] == [(token, "active", "Changed")]
        subscription = await camera.create_subscription_service("PullPointSubscription")
        renewed = await subscription.Renew(camera.get_next_termination_time(timedelta(minutes=10)))
        assert (renewed.TerminationTime - renewed.CurrentTime).total_seconds() == pytest.approx(600, abs=5)
        await manager.shutdown()  # Unsubscribe
        with pytest.raises((Fault, ONVIFError)):
            await pullpoint.PullMessages({"MessageLimit": 1, "Timeout": timedelta(seconds=0)})
    finally:
        await camera.close()


def ongoing(vapix: httpx.Client) -> list[str]:
    """The kinds of the recordings being written, as the Status page reads them (recorder.cgi)."""
    reply = vapix.post("/axis-cgi/recorder.cgi", json={"apiVersion": "1.0", "method": "getStatus"}).json()
    return [o["type"] for o in reply["data"]["ongoing"]]


def listed(vapix: httpx.Client) -> str:
    """The recordings as the Recordings page lists them (record/list.cgi)."""
    return vapix.get("/axis-cgi/record/list.cgi", params={"recordingid": "all"}).text


async def test_profile_g_client_pauses_a_cameras_recording_and_finds_it(recorder: LiveDevice):
    """A recording job set Idle through ONVIF stops the camera's continuous recording as the VAPIX
    recording APIs see it, Active starts it again; FindEvents then finds the stop and the start."""
    camera = ONVIFCamera("127.0.0.1", recorder.http_port, *ONVIF_ADMIN)
    try:
        await camera.update_xaddrs()
        checked = Validating()
        control = validating(await camera.create_recording_service(), checked)
        jobs = await control.GetRecordingJobs()
        assert [(j.JobToken, j.JobConfiguration.Mode, j.JobConfiguration.Source[0].SourceToken.Token)
                for j in jobs] == [("job_1", "Active", "profile_1")]
        with httpx.Client(base_url=recorder.http, auth=httpx.DigestAuth(*ADMIN), timeout=10) as vapix:
            await eventually(lambda: ongoing(vapix) == ["continuous"], 20, "the test camera's recording")
            assert (await control.GetRecordingJobState({"JobToken": "job_1"})).State == "Active"
            before = datetime.now(UTC)  # the recording started earlier: not in the search from here
            await control.SetRecordingJobMode({"JobToken": "job_1", "Mode": "Idle"})
            assert ongoing(vapix) == []
            await eventually(lambda: 'recordingstatus="recording"' not in listed(vapix), 10, "the stop indexed")
            assert 'recordingtype="continuous"' in listed(vapix) and 'recordingstatus="completed"' in listed(vapix)
            assert (await control.GetRecordingJobState({"JobToken": "job_1"})).State == "Idle"
            await control.SetRecordingJobMode({"JobToken": "job_1", "Mode": "Active"})
            await eventually(lambda: ongoing(vapix) == ["continuous"], 20, "the recording to start again")
        search = validating(await camera.create_search_service(), checked)
        expression = etree.Element(f"{{{WSNT}}}TopicExpression", Dialect=CONCRETE_SET,
                                   nsmap={"tns1": "http://www.onvif.org/ver10/topics"})
        expression.text = "tns1:RecordingHistory/Recording/State"  # the filter is xs:any to zeep
        token = await search.FindEvents({"StartPoint": before, "Scope": {},
                                         "SearchFilter": {"_value_1": [expression]}, "IncludeStartState": False,
                                         "KeepAliveTime": timedelta(seconds=10)})
        found = await search.GetEventSearchResults({"SearchToken": token})
        states = [r.Event.Message._value_1.Data.SimpleItem[0].Value for r in found.Result]
        assert found.SearchState == "Completed" and states == ["false", "true"]
        assert {"GetRecordingJobsResponse", "SetRecordingJobModeResponse", "GetRecordingJobStateResponse",
                "FindEventsResponse", "GetEventSearchResultsResponse"} <= set(checked.seen)
    finally:
        await camera.close()


@pytest.fixture(scope="module")
def speaker(tmp_path_factory) -> Iterator[LiveDevice]:
    yield from onvif_device(tmp_path_factory, "c1410")


async def test_the_speakers_audio_profile_through_home_assistants_client(speaker: LiveDevice):
    """onvif-zeep-async on the C1410: the audio profile, its output level set and read back
    through Media1 and device IO, and the stream URI of the microphone."""
    camera = ONVIFCamera("127.0.0.1", speaker.http_port, *ONVIF_ADMIN, adjust_time=True)
    try:
        await camera.update_xaddrs()
        assert "http://www.onvif.org/ver10/deviceIO/wsdl" in camera.xaddrs
        checked = Validating()
        media = validating(await camera.create_media_service(), checked)
        [profile] = await media.GetProfiles()
        assert profile.AudioSourceConfiguration.SourceToken == "audiosource_0"
        assert (profile.AudioEncoderConfiguration.Encoding, profile.AudioEncoderConfiguration.SampleRate) == ("G711", 8)
        assert profile.VideoEncoderConfiguration is None  # Home Assistant makes no camera of it
        # zeep puts the profile extension's output and decoder into its wildcard (`_value_1`): read them by name
        assert [c.Name for c in profile.Extension._value_1] == ["Speaker", "Speaker decoder"]
        [output] = await media.GetAudioOutputConfigurations()
        output.OutputLevel = -15
        await media.SetAudioOutputConfiguration({"Configuration": output, "ForcePersistence": True})
        deviceio = validating(await camera.create_deviceio_service(), checked)
        outputs = await deviceio.GetAudioOutputs()
        read = await deviceio.GetAudioOutputConfiguration({"AudioOutputToken": outputs[0].token})
        assert read.AudioOutputConfiguration.OutputLevel == -15
        uri = await media.GetStreamUri({"ProfileToken": profile.token,
                                        "StreamSetup": {"Stream": "RTP-Unicast", "Transport": {"Protocol": "RTSP"}}})
        assert uri.Uri == f"rtsp://127.0.0.1:{speaker.rtsp_port}/axis-media/media.amp?audio=1"
        assert checked.seen == ["GetProfilesResponse", "GetAudioOutputConfigurationsResponse",
                                "SetAudioOutputConfigurationResponse",
                                "GetAudioOutputsResponse", "GetAudioOutputConfigurationResponse", "GetStreamUriResponse"]
    finally:
        await camera.close()
