"""The ONVIF recording search service (`tse`, /onvif/search_service; Profile G's search) of a
recorder: each recorded camera is one ONVIF recording (`recording_N`, N its camera number) with
one video track, its footage spanning the recorder's recordings of that camera. GetRecordingSummary,
GetRecordingInformation, GetMediaAttributes, and FindRecordings (included sources or recordings,
and a RecordingInformationFilter XPath such as `boolean(//Track[TrackType = "Video"])`) with
GetRecordingSearchResults; FindEvents (scope, time span forward or backward, topic and content
filter, start state, MaxMatches: `event_search`) with GetEventSearchResults; GetSearchState and
EndSearch for both. A search is answered at once and kept for its KeepAliveTime (device clock)
for the client to page through."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime

from lxml import etree
from lxml.builder import ElementMaker

from vigil.core.auth import Principal
from vigil.core.clock import Clock
from vigil.core.store import Store
from vigil.features.onvif.const import MAX_KEEP_ALIVE, MAX_SEARCHES, PRE_AUTH, READ_MEDIA, TER, TSE
from vigil.features.onvif.endpoint import OnvifEndpoint
from vigil.features.onvif.event_search import EventQuery, Found, find_events, recording_token
from vigil.features.onvif.http_events import event_filter, message
from vigil.features.onvif.media import Camera, cameras
from vigil.features.onvif.pullpoints import duration
from vigil.features.onvif.xml import TT_, boolean, find, find_all, flag, invalid, text
from vigil.features.recording.recorder import RecordingService
from vigil.footage import index
from vigil.http.soap import SoapFault, SoapMessage, sender

TSE_ = ElementMaker(namespace=TSE, nsmap={"tse": TSE})


def stamp(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def precise(moment: float) -> str:
    """An xs:dateTime to the millisecond (event times: replay seeks to them)."""
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Search:
    results: list[etree._Element] | list[Found]  # a recording search's replies; an event search's finds
    expires: float
    keep_alive: float
    served: int = 0
    ended: bool = field(default=False)
    end_point: float | None = None  # an event search's: where it ends (EndSearch answers it)


class SearchService:
    def __init__(self, recording: RecordingService, store: Store, clock: Clock) -> None:
        self.recording = recording
        self.store = store
        self.clock = clock
        self.searches: dict[str, Search] = {}

    # -- the model ----------------------------------------------------------------------------
    def information(self, camera: Camera, extents: dict[str, tuple[float, float, bool]]) -> etree._Element:
        first, last, ongoing = extents.get(camera.source_id, (None, None, False))
        info = TT_.RecordingInformation(
            TT_.RecordingToken(recording_token(camera)),
            TT_.Source(TT_.SourceId(camera.video_source), TT_.Name(camera.name), TT_.Location(""),
                       TT_.Description(f"Camera {camera.number} of the recorder"), TT_.Address(camera.source_id)))
        if first is not None:
            info.append(TT_.EarliestRecording(stamp(first)))
            info.append(TT_.LatestRecording(stamp(last)))
        info.append(TT_.Content(camera.name))
        if first is not None:
            info.append(TT_.Track(TT_.TrackToken("video"), TT_.TrackType("Video"), TT_.Description("Video"),
                                  TT_.DataFrom(stamp(first)), TT_.DataTo(stamp(last))))
        info.append(TT_.RecordingStatus("Recording" if ongoing else "Stopped"))
        return info

    def _camera(self, token: str | None) -> Camera:
        for camera in cameras(self.recording):
            if token == recording_token(camera):
                return camera
        raise invalid(f"There is no recording {str(token)[:64]!r}", "InvalidToken")

    def _search(self, token: str | None) -> tuple[str, Search]:
        now = self.clock.time()
        for gone in [t for t, s in self.searches.items() if s.expires <= now]:
            del self.searches[gone]
        search = self.searches.get(token or "")
        if search is None:
            raise invalid(f"There is no search {str(token)[:64]!r} (ended, or kept no longer)", "InvalidToken")
        search.expires = now + search.keep_alive
        return token or "", search

    # -- operations ----------------------------------------------------------------------------
    async def get_service_capabilities(self, msg: SoapMessage, who: Principal) -> etree._Element:
        return TSE_.GetServiceCapabilitiesResponse(TSE_.Capabilities(MetadataSearch="false",
                                                                     GeneralStartEvents="false"))

    async def get_recording_summary(self, msg: SoapMessage, who: Principal) -> etree._Element:
        now = self.clock.time()
        extents = index.source_extents(self.store, now)
        known = [extents[c.source_id] for c in cameras(self.recording) if c.source_id in extents]
        first = min((e[0] for e in known), default=now)
        last = max((e[1] for e in known), default=now)
        return TSE_.GetRecordingSummaryResponse(TSE_.Summary(
            TT_.DataFrom(stamp(first)), TT_.DataUntil(stamp(last)), TT_.NumberRecordings(str(len(known)))))

    async def get_recording_information(self, msg: SoapMessage, who: Principal) -> etree._Element:
        camera = self._camera(text(msg.body, "RecordingToken", required=True, limit=64))
        extents = index.source_extents(self.store, self.clock.time())
        info = self.information(camera, extents)
        info.tag = f"{{{TSE}}}RecordingInformation"  # the reply's own element, of type tt:RecordingInformation
        return TSE_.GetRecordingInformationResponse(info)

    async def get_media_attributes(self, msg: SoapMessage, who: Principal) -> etree._Element:
        moment = _instant(text(msg.body, "Time", required=True, limit=64) or "")
        tokens = [(e.text or "").strip() for e in find_all(msg.body, "RecordingTokens")]
        chosen = [self._camera(t) for t in tokens] if tokens else cameras(self.recording)
        response = TSE_.GetMediaAttributesResponse()
        for camera in chosen:
            rows = index.recording_rows(self.store, source=camera.source_id, start=moment, stop=moment)
            if not rows:
                continue
            _, _, _, _, start, stop, _, _, width, height, _ = rows[0]
            until = stop if stop is not None else self.clock.time()
            encoding = "H264" if camera.codec in ("", "h264") else "H265"
            response.append(TSE_.MediaAttributes(
                TT_.RecordingToken(recording_token(camera)),
                TT_.TrackAttributes(
                    TT_.TrackInformation(TT_.TrackToken("video"), TT_.TrackType("Video"), TT_.Description("Video"),
                                         TT_.DataFrom(stamp(start)), TT_.DataTo(stamp(until))),
                    *([TT_.VideoAttributes(TT_.Width(str(width)), TT_.Height(str(height)), TT_.Encoding(encoding),
                                           TT_.Framerate("0"))] if encoding == "H264" else [])),
                TT_.From(stamp(start)), TT_.Until(stamp(until))))
        return response

    def _scope(self, scope: etree._Element) -> list[Camera]:
        """The recordings a SearchScope names (included sources or recordings, the union; all when
        it names none), narrowed by its RecordingInformationFilter."""
        sources = {(e.findtext("{*}Token") or "").strip() for e in find_all(scope, "IncludedSources")}
        recordings = {(e.text or "").strip() for e in find_all(scope, "IncludedRecordings")}
        xpath = _filter(text(scope, "RecordingInformationFilter", limit=1024))
        extents = index.source_extents(self.store, self.clock.time())
        chosen = []
        for camera in cameras(self.recording):
            named = camera.video_source in sources or camera.profile in sources or recording_token(camera) in recordings
            if (sources or recordings) and not named:
                continue
            if xpath is not None and not xpath(_plain(self.information(camera, extents))):
                continue
            chosen.append(camera)
        return chosen

    def _keep(self, msg: SoapMessage, results: list[etree._Element] | list[Found],
              end_point: float | None = None) -> str:
        """Keep a search's results for the client to fetch; its token."""
        given = text(msg.body, "KeepAliveTime", required=True, limit=64) or ""
        keep = duration(given)
        if keep is None:
            raise invalid(f"KeepAliveTime must be a duration such as PT60S, not {given[:40]!r}")
        if len(self.searches) >= MAX_SEARCHES:
            oldest = min(self.searches, key=lambda t: self.searches[t].expires)
            del self.searches[oldest]
        token = secrets.token_hex(8)
        keep = min(keep, MAX_KEEP_ALIVE)
        self.searches[token] = Search(results, self.clock.time() + keep, keep, end_point=end_point)
        return token

    async def find_recordings(self, msg: SoapMessage, who: Principal) -> etree._Element:
        scope = find(msg.body, "Scope")
        if scope is None:
            raise invalid("FindRecordings needs a Scope")
        limit = _count(msg, "MaxMatches")
        extents = index.source_extents(self.store, self.clock.time())
        results = [self.information(camera, extents) for camera in self._scope(scope)]
        return TSE_.FindRecordingsResponse(TSE_.SearchToken(self._keep(msg, results[:limit])))

    async def find_events(self, msg: SoapMessage, who: Principal) -> etree._Element:
        scope = find(msg.body, "Scope")
        if scope is None:
            raise invalid("FindEvents needs a Scope")
        start = _instant(text(msg.body, "StartPoint", required=True, limit=64) or "", "StartPoint")
        end_text = text(msg.body, "EndPoint", limit=64)
        end = _instant(end_text, "EndPoint") if end_text else None
        try:
            chosen = event_filter(find(msg.body, "SearchFilter"))
        except SoapFault as fault:  # the search service's fault for a filter it cannot use
            raise sender(fault.reason, etree.QName(TER, "InvalidArgVal"), etree.QName(TER, "InvalidFilterFault")) \
                from None
        query = EventQuery(start, end, chosen, bool(flag(msg.body, "IncludeStartState", required=True)),
                           _count(msg, "MaxMatches"))
        now = self.clock.time()
        results = find_events(self.store, self._scope(scope), query, now)  # made XML page by page
        return TSE_.FindEventsResponse(TSE_.SearchToken(self._keep(msg, results, end if end is not None else now)))

    def _page(self, msg: SoapMessage, kind: str) -> tuple[str, list]:
        """The next results of a search of `kind` (recording or event): (search state, results)."""
        _, search = self._search(text(msg.body, "SearchToken", required=True, limit=64))
        if (search.end_point is not None) != (kind == "event"):
            raise invalid(f"The search is no {kind} search", "InvalidToken")
        most = _count(msg, "MaxResults")
        batch = search.results[search.served:search.served + (most if most is not None else len(search.results))]
        search.served += len(batch)
        return "Completed" if search.served >= len(search.results) else "Searching", batch

    async def get_recording_search_results(self, msg: SoapMessage, who: Principal) -> etree._Element:
        state, batch = self._page(msg, "recording")
        return TSE_.GetRecordingSearchResultsResponse(TSE_.ResultList(TT_.SearchState(state), *batch))

    async def get_event_search_results(self, msg: SoapMessage, who: Principal) -> etree._Element:
        state, batch = self._page(msg, "event")  # answered at once: MinResults and WaitTime need no wait
        return TSE_.GetEventSearchResultsResponse(TSE_.ResultList(TT_.SearchState(state), *map(_result, batch)))

    async def get_search_state(self, msg: SoapMessage, who: Principal) -> etree._Element:
        _, search = self._search(text(msg.body, "SearchToken", required=True, limit=64))
        state = "Completed" if search.served >= len(search.results) else "Searching"
        return TSE_.GetSearchStateResponse(TSE_.State(state))

    async def end_search(self, msg: SoapMessage, who: Principal) -> etree._Element:
        token, search = self._search(text(msg.body, "SearchToken", required=True, limit=64))
        del self.searches[token]
        # Searches complete at once: an event search reached its EndPoint (FindRecordings has none).
        return TSE_.EndSearchResponse(TSE_.Endpoint(stamp(search.end_point if search.end_point is not None
                                                          else self.clock.time())))


def _result(found: Found) -> etree._Element:
    """A tt:FindEventResult; its Event is the notification message the events service sends."""
    return TT_.Result(TT_.RecordingToken(found.recording), TT_.TrackToken(found.track),
                      TT_.Time(precise(found.event.time)), TT_.Event(*message(found.event)),
                      TT_.StartStateEvent(boolean(found.virtual)))


def _count(msg: SoapMessage, name: str) -> int | None:
    """An optional count argument (MaxMatches, MaxResults)."""
    value = text(msg.body, name)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 9:
        raise invalid(f"{name} must be a whole number, not {value[:40]!r}")
    return int(value)


def _instant(value: str, name: str = "Time") -> float:
    try:
        moment = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
    except ValueError:
        raise invalid(f"{name} must be a date and time such as 2026-01-01T00:00:00Z, not {value[:40]!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _filter(expression: str | None) -> etree.XPath | None:
    """A RecordingInformationFilter, evaluated on the RecordingInformation without namespaces."""
    if not expression:
        return None
    try:
        xpath = etree.XPath(expression)
        xpath(etree.Element("RecordingInformation"))  # unknown functions show only when evaluated
    except (etree.XPathError, ValueError) as err:
        raise sender(f"RecordingInformationFilter is not a usable XPath: {err}",
                     etree.QName(TER, "InvalidArgVal"), etree.QName(TER, "InvalidFilter")) from None
    return xpath


def _plain(element: etree._Element) -> etree._Element:
    """A copy of `element` without namespaces, as the filters name elements (`//Track`)."""
    copy = etree.fromstring(etree.tostring(element))
    for node in copy.iter():
        if isinstance(node.tag, str):
            node.tag = etree.QName(node).localname
    etree.cleanup_namespaces(copy)
    return copy


def register(endpoint: OnvifEndpoint, service: SearchService) -> None:
    for name, access, handler in (
        ("GetServiceCapabilities", PRE_AUTH, service.get_service_capabilities),
        ("GetRecordingSummary", READ_MEDIA, service.get_recording_summary),
        ("GetRecordingInformation", READ_MEDIA, service.get_recording_information),
        ("GetMediaAttributes", READ_MEDIA, service.get_media_attributes),
        ("FindRecordings", READ_MEDIA, service.find_recordings),
        ("GetRecordingSearchResults", READ_MEDIA, service.get_recording_search_results),
        ("FindEvents", READ_MEDIA, service.find_events),
        ("GetEventSearchResults", READ_MEDIA, service.get_event_search_results),
        ("GetSearchState", READ_MEDIA, service.get_search_state),
        ("EndSearch", READ_MEDIA, service.end_search),
    ):
        endpoint.add(TSE, name, access, handler)
