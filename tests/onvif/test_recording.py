"""Profile G's recording control in process: the recorder's cameras as recordings with a video
track, their recording as jobs (mode = continuous recording, existence = the camera received),
SetRecordingJobMode / CreateRecordingJob / DeleteRecordingJob changing the camera source with
an audit line, the faults of what does not map and of bad input, the roles; every reply valid
against recording.wsdl (GetServices and GetCapabilities list the service)."""

from __future__ import annotations

import pytest

from tests.onvif.conftest import Soap
from tests.onvif.schemas import assert_valid
from vigil.features.onvif.const import RECORDING_PATH, TDS, TRC, TT
from vigil.features.onvif.http_recording import JOB_STATE
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source

NS = {"trc": TRC, "tt": TT, "tds": TDS}
PROFILE = "http://www.onvif.org/ver10/schema/Profile"


@pytest.fixture
def cameras(soap: Soap) -> Soap:
    sources = soap.device.features[RECORDING_SERVICE].sources
    for sid in ("east", "north", "west"):
        sources.put(Source(sid, f"Camera {sid}", f"rtsp://192.0.2.1/{sid}", retention_days=7 if sid == "east" else 0),
                    "test")
    return soap


async def control(soap: Soap, op: str, inner: str = "", as_level: str | None = "User"):
    return await soap(op, inner, TRC, as_level=as_level, path=RECORDING_PATH)


def job(recording: str, mode: str, source: str = "", priority: str = "1") -> str:
    return (f"<op:JobConfiguration><tt:RecordingToken>{recording}</tt:RecordingToken><tt:Mode>{mode}</tt:Mode>"
            f"<tt:Priority>{priority}</tt:Priority>{source}</op:JobConfiguration>")


def profile_source(token: str, track: str = "video") -> str:
    return (f'<tt:Source><tt:SourceToken Type="{PROFILE}"><tt:Token>{token}</tt:Token></tt:SourceToken>'
            f"<tt:Tracks><tt:SourceTag>video</tt:SourceTag><tt:Destination>{track}</tt:Destination></tt:Tracks>"
            "</tt:Source>")


async def test_recordings_tracks_and_jobs(cameras: Soap):
    caps = assert_valid((await control(cameras, "GetServiceCapabilities", as_level=None)).content)
    assert caps.find("trc:Capabilities", NS).get("MaxRecordingJobs") == "3"
    recordings = assert_valid((await control(cameras, "GetRecordings")).content)
    assert [r.findtext("tt:RecordingToken", namespaces=NS) for r in recordings] == \
        ["recording_1", "recording_2", "recording_3"]
    assert recordings[0].findtext("tt:Configuration/tt:MaximumRetentionTime", namespaces=NS) == "P7D"
    assert recordings[0].findtext("tt:Tracks/tt:Track/tt:TrackToken", namespaces=NS) == "video"
    config = assert_valid((await control(cameras, "GetRecordingConfiguration",
                                         "<op:RecordingToken>recording_2</op:RecordingToken>")).content)
    assert config.findtext("trc:RecordingConfiguration/tt:Source/tt:SourceId", namespaces=NS) == "videosource_2"
    track = assert_valid((await control(cameras, "GetTrackConfiguration", "<op:RecordingToken>recording_2"
                                        "</op:RecordingToken><op:TrackToken>video</op:TrackToken>")).content)
    assert track.findtext("trc:TrackConfiguration/tt:TrackType", namespaces=NS) == "Video"
    jobs = assert_valid((await control(cameras, "GetRecordingJobs")).content)
    assert [(j.findtext("tt:JobToken", namespaces=NS), j.findtext("tt:JobConfiguration/tt:Mode", namespaces=NS),
             j.findtext(".//tt:SourceToken/tt:Token", namespaces=NS)) for j in jobs] == \
        [("job_1", "Active", "profile_1"), ("job_2", "Active", "profile_2"), ("job_3", "Active", "profile_3")]
    one = assert_valid((await control(cameras, "GetRecordingJobConfiguration", "<op:JobToken>job_2</op:JobToken>"
                                      )).content)
    assert one.findtext("trc:JobConfiguration/tt:RecordingToken", namespaces=NS) == "recording_2"
    state = assert_valid((await control(cameras, "GetRecordingJobState", "<op:JobToken>job_1</op:JobToken>")).content)
    assert state.findtext("trc:State/tt:State", namespaces=NS) == "Error"  # the recorder is not running here
    assert state.findtext(".//tt:Track/tt:Error", namespaces=NS) == "The camera is not connected"
    options = assert_valid((await control(cameras, "GetRecordingOptions",
                                          "<op:RecordingToken>recording_1</op:RecordingToken>")).content)
    assert options.find("trc:Options/trc:Job", NS).attrib == {"Spare": "0", "CompatibleSources": "profile_1"}
    for op, inner, subcode in (
        ("GetRecordingConfiguration", "<op:RecordingToken>recording_9</op:RecordingToken>", "NoRecording"),
        ("GetTrackConfiguration", "<op:RecordingToken>recording_1</op:RecordingToken><op:TrackToken>audio"
                                  "</op:TrackToken>", "NoTrack"),
        ("GetRecordingJobState", "<op:JobToken>job_9</op:JobToken>", "NoRecordingJob"),
    ):
        r = await control(cameras, op, inner)
        assert r.status_code == 400 and subcode in r.text, (op, r.text)


async def test_job_mode_is_the_cameras_continuous_recording(cameras: Soap):
    sources = cameras.device.features[RECORDING_SERVICE].sources
    r = await control(cameras, "SetRecordingJobMode", "<op:JobToken>job_1</op:JobToken><op:Mode>Idle</op:Mode>")
    assert r.status_code == 400 and "NotAuthorized" in r.text  # a media user may not
    assert sources.all["east"].continuous
    assert_valid((await control(cameras, "SetRecordingJobMode", "<op:JobToken>job_1</op:JobToken><op:Mode>Idle"
                                "</op:Mode>", as_level="Operator")).content)
    assert not sources.all["east"].continuous and sources.all["east"].enabled
    assert "ONVIF recording job job_1 of camera east: mode Idle" in cameras.device.logs.text("audit")
    state = assert_valid((await control(cameras, "GetRecordingJobState", "<op:JobToken>job_1</op:JobToken>")).content)
    assert state.findtext("trc:State/tt:State", namespaces=NS) == "Idle"
    bus = cameras.device.events  # the job's state is an event property too, as ONVIF asks
    assert bus.state(JOB_STATE, {"RecordingJobToken": "job_1"}) == {"State": "Idle"}
    assert bus.state(JOB_STATE, {"RecordingJobToken": "job_2"}) == {"State": "Error"}  # no camera connected here
    r = await control(cameras, "SetRecordingJobMode", "<op:JobToken>job_1</op:JobToken><op:Mode>Paused</op:Mode>",
                      as_level="Operator")
    assert r.status_code == 400 and "BadMode" in r.text
    assert_valid((await control(cameras, "SetRecordingJobMode", "<op:JobToken>job_1</op:JobToken><op:Mode>Active"
                                "</op:Mode>", as_level="Administrator")).content)
    assert sources.all["east"].continuous
    assert bus.state(JOB_STATE, {"RecordingJobToken": "job_1"}) == {"State": "Error"}  # Active, no camera here


async def test_delete_and_create_a_job(cameras: Soap):
    sources = cameras.device.features[RECORDING_SERVICE].sources
    assert_valid((await control(cameras, "DeleteRecordingJob", "<op:JobToken>job_3</op:JobToken>",
                                as_level="Operator")).content)
    assert not sources.all["west"].enabled  # the camera is no longer received
    assert cameras.device.events.state(JOB_STATE, {"RecordingJobToken": "job_3"}) is None  # the job is gone
    jobs = assert_valid((await control(cameras, "GetRecordingJobs")).content)
    assert [j.findtext("tt:JobToken", namespaces=NS) for j in jobs] == ["job_1", "job_2"]
    options = assert_valid((await control(cameras, "GetRecordingOptions",
                                          "<op:RecordingToken>recording_3</op:RecordingToken>")).content)
    assert options.find("trc:Options/trc:Job", NS).get("Spare") == "1"
    for inner, subcode in (
        (job("recording_9", "Active", profile_source("profile_9")), "NoRecording"),
        (job("recording_3", "Active", profile_source("profile_1")), "BadConfiguration"),
        (job("recording_3", "Active", profile_source("profile_3", "audio")), "BadConfiguration"),
        (job("recording_3", "Active"), "BadConfiguration"),
        (job("recording_3", "Recording", profile_source("profile_3")), "BadConfiguration"),
        (job("recording_3", "Active", profile_source("profile_3"), priority="-1"), "BadConfiguration"),
    ):
        r = await control(cameras, "CreateRecordingJob", inner, as_level="Operator")
        assert r.status_code == 400 and subcode in r.text, (inner, r.text)
    assert not sources.all["west"].enabled  # nothing changed
    created = assert_valid((await control(cameras, "CreateRecordingJob",
                                          job("recording_3", "Idle", profile_source("profile_3")),
                                          as_level="Operator")).content)
    assert created.findtext("trc:JobToken", namespaces=NS) == "job_3"
    assert created.findtext("trc:JobConfiguration/tt:Mode", namespaces=NS) == "Idle"
    assert sources.all["west"].enabled and not sources.all["west"].continuous
    auto = "<tt:Source><tt:AutoCreateReceiver>true</tt:AutoCreateReceiver></tt:Source>"
    r = await control(cameras, "CreateRecordingJob", job("recording_3", "Active", auto), as_level="Operator")
    assert r.status_code == 500 and "MaxRecordingJobs" in r.text  # one job per recording
    assert "ONVIF recording job job_3 of camera west: created, mode Idle" in cameras.device.logs.text("audit")


async def test_what_does_not_map_answers_the_specs_faults(cameras: Soap):
    new = ("<op:RecordingConfiguration><tt:Source><tt:SourceId>x</tt:SourceId><tt:Name>x</tt:Name><tt:Location/>"
           "<tt:Description/><tt:Address>x</tt:Address></tt:Source><tt:Content/>"
           "<tt:MaximumRetentionTime>PT0S</tt:MaximumRetentionTime></op:RecordingConfiguration>")
    for op, inner, subcode in (
        ("CreateRecording", new, "MaxRecordings"),
        ("CreateTrack", "<op:RecordingToken>recording_1</op:RecordingToken><op:TrackConfiguration><tt:TrackType>"
                        "Audio</tt:TrackType><tt:Description/></op:TrackConfiguration>", "MaxTracks"),
        ("DeleteRecording", "<op:RecordingToken>recording_1</op:RecordingToken>", "CannotDelete"),
        ("DeleteTrack", "<op:RecordingToken>recording_1</op:RecordingToken><op:TrackToken>video</op:TrackToken>",
         "CannotDelete"),
    ):
        r = await control(cameras, op, inner, as_level="Administrator")
        assert r.status_code == 500 and subcode in r.text and "ter:Action" in r.text, (op, r.text)
    assert len(cameras.device.features[RECORDING_SERVICE].sources.all) == 3


async def test_services_and_capabilities_list_the_recording_service(cameras: Soap):
    services = assert_valid((await cameras("GetServices", "<op:IncludeCapability>true</op:IncludeCapability>",
                                           as_level=None)).content)
    found = {s.findtext("tds:Namespace", namespaces=NS): s.findtext("tds:XAddr", namespaces=NS) for s in services}
    assert found[TRC] == "http://127.0.0.1:80" + RECORDING_PATH
    capabilities = assert_valid((await cameras("GetCapabilities", as_level=None)).content)
    assert capabilities.findtext(".//tt:Extension/tt:Recording/tt:XAddr", namespaces=NS).endswith(RECORDING_PATH)
    assert capabilities.findtext(".//tt:Extension/tt:Search/tt:XAddr", namespaces=NS).endswith("/onvif/search_service")
