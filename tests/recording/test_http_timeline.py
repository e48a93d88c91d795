"""/vigil/timeline against a real recorder: a camera's spans (its continuous recording and the
manual ones within it) and clear JSON errors for bad requests."""

from __future__ import annotations

from tests.recording.live import Recorded, iso_ms
from vigil.features.recording.api import parse_iso


def test_the_timeline_of_a_camera(recorded: Recorded) -> None:
    with recorded.client("viewer") as c:
        reply = c.get("/vigil/timeline", params={"source": "testcam1"}).json()
    assert reply["source"] == "testcam1"
    spans = {s["recordingId"]: s for s in reply["spans"]}
    assert {recorded.main, recorded.continuous} <= spans.keys()
    main = spans[recorded.main]
    assert main["type"] == "manual" and main["event"].startswith("manual by")
    first, last = parse_iso(main["startTime"]), parse_iso(main["stopTime"])
    assert 8 < last - first < 12  # about MANUAL_SECONDS of footage without a gap
    assert reply["events"] == []  # nothing triggered these recordings
    # A window inside the manual recording: only the spans that reach into it.
    with recorded.client("viewer") as c:
        inside = c.get("/vigil/timeline", params={"source": "testcam1", "starttime": iso_ms(first + 3),
                                                  "stoptime": iso_ms(first + 4)}).json()
    assert recorded.main in {s["recordingId"] for s in inside["spans"]}
    assert all(parse_iso(s["startTime"]) <= first + 4 and parse_iso(s["stopTime"]) >= first + 3 for s in inside["spans"])


def test_bad_timeline_requests(recorded: Recorded) -> None:
    with recorded.client("viewer") as c:
        for params, status, code in (({}, 400, 2110), ({"source": "nope"}, 404, 2111),
                                     ({"source": "testcam1", "starttime": "yesterday"}, 400, 2110),
                                     ({"source": "testcam1", "starttime": "2026-01-02T00:00:00Z",
                                       "stoptime": "2026-01-01T00:00:00Z"}, 400, 2110),
                                     ({"source": "testcam1", "starttime": "2025-01-01T00:00:00Z",
                                       "stoptime": "2026-01-01T00:00:00Z"}, 400, 2110),
                                     ({"source": "testcam1", "diskid": "x"}, 400, 2110)):
            r = c.get("/vigil/timeline", params=params)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), (params, r.text)
    with recorded.client(None) as anonymous:
        assert anonymous.get("/vigil/timeline", params={"source": "testcam1"}).status_code == 401
