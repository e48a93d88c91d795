"""Profile G's FindEvents in process: the recording events of the recorder's footage index
(Recording/State and Track/State at each start and stop, overlapping recordings as one) and the
events that triggered recordings, searched forward and backward, with start state events, topic
and content filters, MaxMatches, paging and EndSearch; every reply valid against search.wsdl."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from tests.onvif.conftest import Soap
from tests.onvif.schemas import assert_valid
from vigil.features.onvif.const import SEARCH_PATH, TSE, TT, WSNT
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source
from vigil.footage import index

NS = {"tse": TSE, "tt": TT, "wsnt": WSNT}
T0 = 1_700_000_000.0 - 7200  # two hours before the fake clock's now
RECORDING = "tns1:RecordingHistory/Recording/State"
INPUT = "tns1:Device/Trigger/DigitalInput"


def iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def exact(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@pytest.fixture
def footage(soap: Soap) -> Soap:
    """Camera east (recording_1): continuous [T0, T0+900] with a triggered recording inside it, and
    one triggered by digital input 1 at T0+1000 until T0+1500; north (recording_2) without footage;
    west (recording_3) recording since T0+600."""
    sources = soap.device.features[RECORDING_SERVICE].sources
    store = soap.device.store
    for sid in ("east", "north", "west"):
        sources.put(Source(sid, f"Camera {sid}", f"rtsp://192.0.2.1/{sid}"), "test")
    door = (T0 + 300, INPUT, json.dumps({"InputToken": "2"}), json.dumps({"LogicalState": "true"}), "Changed")
    pressed = (T0 + 1000, INPUT, json.dumps({"InputToken": "1"}), json.dumps({"LogicalState": "true"}), "Changed")
    index.start_recording(store, "r1", "east", "default", "continuous", T0, "", 1280, 720, "h264")
    index.start_recording(store, "r1b", "east", "default", "triggered", T0 + 300, "door", 1280, 720, "h264", door)
    index.start_recording(store, "r2", "east", "default", "triggered", T0 + 1000, "input", 1280, 720, "h264", pressed)
    index.start_recording(store, "r3", "west", "default", "continuous", T0 + 600, "", 640, 480, "h264")
    index.commit_written(store, [], [], [], [(T0 + 600, "r1b"), (T0 + 900, "r1"), (T0 + 1500, "r2")])
    return soap


async def search(soap: Soap, op: str, inner: str = "", as_level: str | None = "User"):
    return await soap(op, inner, TSE, as_level=as_level, path=SEARCH_PATH)


def topic_filter(topic: str, content: str = "") -> str:
    message = (f'<wsnt:MessageContent Dialect="http://www.onvif.org/ver10/tev/messageContentFilter/ItemFilter">'
               f"{content}</wsnt:MessageContent>" if content else "")
    return (f'<op:SearchFilter xmlns:wsnt="{WSNT}"><wsnt:TopicExpression xmlns:tns1="http://www.onvif.org/ver10/topics" '
            f'Dialect="http://www.onvif.org/ver10/tev/topicExpression/ConcreteSet">{topic}</wsnt:TopicExpression>'
            f"{message}</op:SearchFilter>")


def find_events(start: float, end: float | None = None, search_filter: str = "<op:SearchFilter/>",
                start_state: bool = False, scope: str = "", max_matches: int | None = None) -> str:
    return (f"<op:StartPoint>{iso(start)}</op:StartPoint>"
            + (f"<op:EndPoint>{iso(end)}</op:EndPoint>" if end is not None else "")
            + f"<op:Scope>{scope}</op:Scope>{search_filter}"
            + f"<op:IncludeStartState>{'true' if start_state else 'false'}</op:IncludeStartState>"
            + (f"<op:MaxMatches>{max_matches}</op:MaxMatches>" if max_matches is not None else "")
            + "<op:KeepAliveTime>PT10S</op:KeepAliveTime>")


async def results(soap: Soap, inner: str, max_results: int | None = None) -> tuple[str, list[tuple], str]:
    """(search state, results as (recording, track, time, topic, items, operation, start state), token)."""
    token = assert_valid((await search(soap, "FindEvents", inner)).content).findtext("tse:SearchToken", namespaces=NS)
    most = f"<op:MaxResults>{max_results}</op:MaxResults>" if max_results is not None else ""
    reply = assert_valid((await search(soap, "GetEventSearchResults",
                                       f"<op:SearchToken>{token}</op:SearchToken>{most}")).content)
    out = []
    for r in reply.iterfind("tse:ResultList/tt:Result", NS):
        message = r.find("tt:Event/wsnt:Message/tt:Message", NS)
        items = {i.get("Name"): i.get("Value") for i in message.iterfind(".//tt:SimpleItem", NS)}
        out.append((r.findtext("tt:RecordingToken", namespaces=NS), r.findtext("tt:TrackToken", namespaces=NS),
                    r.findtext("tt:Time", namespaces=NS), r.findtext("tt:Event/wsnt:Topic", namespaces=NS), items,
                    message.get("PropertyOperation"), r.findtext("tt:StartStateEvent", namespaces=NS)))
    return reply.findtext("tse:ResultList/tt:SearchState", namespaces=NS), out, token


def states(found: list[tuple]) -> list[tuple[str, float, str, str]]:
    """(recording, time, IsRecording, start state) of the Recording/State results."""
    return [(r[0], datetime.fromisoformat(r[2]).timestamp(), r[4]["IsRecording"], r[6]) for r in found
            if r[3] == RECORDING]


async def test_forward_search_finds_starts_and_stops_of_each_camera(footage: Soap):
    state, found, _ = await results(footage, find_events(T0 - 10))
    assert state == "Completed"
    assert states(found) == [("recording_1", T0, "true", "false"), ("recording_3", T0 + 600, "true", "false"),
                             ("recording_1", T0 + 900, "false", "false"),
                             ("recording_1", T0 + 1000, "true", "false"),
                             ("recording_1", T0 + 1500, "false", "false")]  # r1b inside r1: no change
    tracks = [(r[0], r[1], r[4]) for r in found if r[3] == "tns1:RecordingHistory/Track/State"]
    assert tracks[0] == ("recording_1", "video", {"RecordingToken": "recording_1", "Track": "video",
                                                  "IsDataPresent": "true"})
    assert len(tracks) == 5
    triggers = [(r[0], r[1], r[2], r[4], r[5]) for r in found if r[3] == INPUT]
    assert triggers == [("recording_1", "", exact(T0 + 300), {"InputToken": "2", "LogicalState": "true"}, "Changed"),
                        ("recording_1", "", exact(T0 + 1000), {"InputToken": "1", "LogicalState": "true"}, "Changed")]
    times = [r[2] for r in found]
    assert times == sorted(times)


async def test_backward_search_with_start_state(footage: Soap):
    _, found, _ = await results(footage, find_events(T0 + 1200, T0 + 500, topic_filter(RECORDING),
                                                     start_state=True))
    assert states(found) == [
        ("recording_1", T0 + 1200, "true", "true"), ("recording_2", T0 + 1200, "false", "true"),
        ("recording_3", T0 + 1200, "true", "true"),
        ("recording_1", T0 + 1000, "true", "false"), ("recording_1", T0 + 900, "false", "false"),
        ("recording_3", T0 + 600, "true", "false"),
        ("recording_1", T0 + 500, "true", "true"), ("recording_2", T0 + 500, "false", "true"),
        ("recording_3", T0 + 500, "false", "true")]
    assert {r[5] for r in found if r[6] == "true"} == {"Initialized"}


async def test_filters_scope_max_matches_and_paging(footage: Soap):
    content = 'boolean(//SimpleItem[@Name="InputToken" and @Value="1"])'
    _, found, _ = await results(footage, find_events(T0, search_filter=topic_filter(INPUT, content)))
    assert [(r[0], r[2], r[3]) for r in found] == [("recording_1", exact(T0 + 1000), INPUT)]
    west = "<tt:IncludedRecordings>recording_3</tt:IncludedRecordings>"
    _, found, _ = await results(footage, find_events(T0, scope=west))
    assert {r[0] for r in found} == {"recording_3"} and len(found) == 2  # its start: recording and track
    _, found, _ = await results(footage, find_events(T0 - 10, max_matches=3))
    assert len(found) == 3
    state, page, token = await results(footage, find_events(T0 - 10), max_results=4)
    assert (state, len(page)) == ("Searching", 4)
    reply = assert_valid((await search(footage, "GetSearchState", f"<op:SearchToken>{token}</op:SearchToken>")).content)
    assert reply.findtext("tse:State", namespaces=NS) == "Searching"
    r = await search(footage, "GetRecordingSearchResults", f"<op:SearchToken>{token}</op:SearchToken>")
    assert r.status_code == 400 and "InvalidToken" in r.text  # an event search's token
    rest = assert_valid((await search(footage, "GetEventSearchResults",
                                      f"<op:SearchToken>{token}</op:SearchToken>")).content)
    assert len(rest.findall("tse:ResultList/tt:Result", NS)) == 8
    assert rest.findtext("tse:ResultList/tt:SearchState", namespaces=NS) == "Completed"
    ended = assert_valid((await search(footage, "EndSearch", f"<op:SearchToken>{token}</op:SearchToken>")).content)
    assert ended.findtext("tse:Endpoint", namespaces=NS) == iso(footage.device.clock.time())  # searched up to now
    r = await search(footage, "GetEventSearchResults", f"<op:SearchToken>{token}</op:SearchToken>")
    assert r.status_code == 400 and "InvalidToken" in r.text
    index.delete_recording(footage.device.store, "r2")  # its trigger goes with it
    _, found, _ = await results(footage, find_events(T0, search_filter=topic_filter(INPUT)))
    assert [r[2] for r in found] == [exact(T0 + 300)]


async def test_bad_searches_are_faults(footage: Soap):
    for inner, subcode in (
        (find_events(T0).replace(iso(T0), "yesterday"), "InvalidArgVal"),
        (find_events(T0, search_filter=topic_filter("tns1:Device[").replace("ConcreteSet", "XPath")),
         "InvalidFilterFault"),
        (find_events(T0, search_filter=topic_filter(INPUT, "boolean(//x[")), "InvalidFilterFault"),
        (find_events(T0, max_matches=-1), "InvalidArgVal"),
        (find_events(T0).replace("<op:Scope></op:Scope>", ""), "InvalidArgVal"),
        (find_events(T0).replace("<op:IncludeStartState>false</op:IncludeStartState>", ""), "InvalidArgVal"),
    ):
        r = await search(footage, "FindEvents", inner)
        assert r.status_code == 400 and subcode in r.text, (inner, r.text)
    r = await search(footage, "FindEvents", find_events(T0), as_level=None)
    assert r.status_code == 401  # READ_MEDIA: no credentials, the Digest challenge
