"""Profile G's recording search in process: each recorded camera is one recording with a video
track over its footage; summary, information, media attributes, FindRecordings with Milestone's
filter and paging, search state, EndSearch; every reply valid against search.wsdl."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.onvif.conftest import Soap
from tests.onvif.schemas import assert_valid
from vigil.features.onvif.const import SEARCH_PATH, TSE, TT
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source
from vigil.footage import index

NS = {"tse": TSE, "tt": TT}
T0 = 1_700_000_000.0 - 7200  # two hours before the fake clock's now


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@pytest.fixture
def footage(soap: Soap) -> Soap:
    """Cameras east (two finished recordings) and west (one still recording), and north without footage."""
    sources = soap.device.features[RECORDING_SERVICE].sources
    store = soap.device.store
    for sid in ("east", "north", "west"):
        sources.put(Source(sid, f"Camera {sid}", f"rtsp://192.0.2.1/{sid}"), "test")
    index.start_recording(store, "r1", "east", "default", "continuous", T0, "", 1280, 720, "h264")
    index.start_recording(store, "r2", "east", "default", "manual", T0 + 1000, "", 1280, 720, "h264")
    index.start_recording(store, "r3", "west", "default", "continuous", T0 + 600, "", 640, 480, "h264")
    index.commit_written(store, [], [], [], [(T0 + 900, "r1"), (T0 + 1500, "r2")])
    return soap


async def search(soap: Soap, op: str, inner: str = "", as_level: str | None = "User"):
    return await soap(op, inner, TSE, as_level=as_level, path=SEARCH_PATH)


async def test_summary_and_information(footage: Soap):
    now = footage.device.clock.time()
    summary = assert_valid((await search(footage, "GetRecordingSummary")).content)
    assert [summary.findtext(f"tse:Summary/tt:{n}", namespaces=NS) for n in ("DataFrom", "DataUntil",
                                                                             "NumberRecordings")] == \
        [iso(T0), iso(now), "2"]
    east = assert_valid((await search(footage, "GetRecordingInformation",
                                      "<op:RecordingToken>recording_1</op:RecordingToken>")).content)
    info = east.find("tse:RecordingInformation", NS)
    assert info is not None
    assert info.findtext("tt:Source/tt:SourceId", namespaces=NS) == "videosource_1"  # Milestone matches on it
    assert (info.findtext("tt:EarliestRecording", namespaces=NS), info.findtext("tt:LatestRecording", namespaces=NS),
            info.findtext("tt:RecordingStatus", namespaces=NS)) == (iso(T0), iso(T0 + 1500), "Stopped")
    west = assert_valid((await search(footage, "GetRecordingInformation",
                                      "<op:RecordingToken>recording_3</op:RecordingToken>")).content)
    assert west.findtext(".//tt:RecordingStatus", namespaces=NS) == "Recording"
    r = await search(footage, "GetRecordingInformation", "<op:RecordingToken>recording_9</op:RecordingToken>")
    assert r.status_code == 400 and "InvalidToken" in r.text
    assert_valid((await search(footage, "GetServiceCapabilities", as_level=None)).content)


async def test_find_recordings_with_milestones_filter_and_paging(footage: Soap):
    find = ('<op:Scope><tt:RecordingInformationFilter>boolean(//Track[TrackType = "Video"])'
            "</tt:RecordingInformationFilter></op:Scope><op:KeepAliveTime>PT10S</op:KeepAliveTime>")
    token = assert_valid((await search(footage, "FindRecordings", find)).content).findtext("tse:SearchToken",
                                                                                          namespaces=NS)
    page = assert_valid((await search(footage, "GetRecordingSearchResults",
                                      f"<op:SearchToken>{token}</op:SearchToken><op:MaxResults>1</op:MaxResults>"
                                      )).content)
    assert page.findtext("tse:ResultList/tt:SearchState", namespaces=NS) == "Searching"
    assert [t.text for t in page.iterfind(".//tt:RecordingToken", NS)] == ["recording_1"]
    state = assert_valid((await search(footage, "GetSearchState", f"<op:SearchToken>{token}</op:SearchToken>")).content)
    assert state.findtext("tse:State", namespaces=NS) == "Searching"
    rest = assert_valid((await search(footage, "GetRecordingSearchResults",
                                      f"<op:SearchToken>{token}</op:SearchToken>")).content)
    assert [t.text for t in rest.iterfind(".//tt:RecordingToken", NS)] == ["recording_3"]  # north has no track
    assert rest.findtext("tse:ResultList/tt:SearchState", namespaces=NS) == "Completed"
    assert_valid((await search(footage, "EndSearch", f"<op:SearchToken>{token}</op:SearchToken>")).content)
    r = await search(footage, "GetSearchState", f"<op:SearchToken>{token}</op:SearchToken>")
    assert r.status_code == 400 and "InvalidToken" in r.text
    by_source = ("<op:Scope><tt:IncludedSources><tt:Token>videosource_2</tt:Token></tt:IncludedSources></op:Scope>"
                 "<op:KeepAliveTime>PT10S</op:KeepAliveTime>")
    token = assert_valid((await search(footage, "FindRecordings", by_source)).content).findtext("tse:SearchToken",
                                                                                               namespaces=NS)
    found = assert_valid((await search(footage, "GetRecordingSearchResults",
                                       f"<op:SearchToken>{token}</op:SearchToken>")).content)
    assert [t.text for t in found.iterfind(".//tt:RecordingToken", NS)] == ["recording_2"]
    footage.device.clock.advance(11)  # past the keep-alive time: forgotten
    r = await search(footage, "GetSearchState", f"<op:SearchToken>{token}</op:SearchToken>")
    assert r.status_code == 400 and "InvalidToken" in r.text
    bad = "<op:Scope><tt:RecordingInformationFilter>boolean(//x[</tt:RecordingInformationFilter></op:Scope>" \
          "<op:KeepAliveTime>PT10S</op:KeepAliveTime>"
    r = await search(footage, "FindRecordings", bad)
    assert r.status_code == 400 and "InvalidFilter" in r.text


async def test_media_attributes_at_a_time(footage: Soap):
    at = assert_valid((await search(footage, "GetMediaAttributes", f"<op:Time>{iso(T0 + 1200)}</op:Time>")).content)
    found = {m.findtext("tt:RecordingToken", namespaces=NS): (m.findtext("tt:From", namespaces=NS),
                                                               m.findtext(".//tt:Width", namespaces=NS))
             for m in at.iterfind("tse:MediaAttributes", NS)}
    assert found == {"recording_1": (iso(T0 + 1000), "1280"), "recording_3": (iso(T0 + 600), "640")}
    one = assert_valid((await search(footage, "GetMediaAttributes", "<op:RecordingTokens>recording_1</op:RecordingTokens>"
                                     f"<op:Time>{iso(T0 + 950)}</op:Time>")).content)
    assert len(one) == 0  # between east's two recordings
    r = await search(footage, "GetMediaAttributes", "<op:Time>noon</op:Time>")
    assert r.status_code == 400 and "InvalidArgVal" in r.text
