"""/vigil/live against a real recorder (`vigil run --test-cameras 1`): the stream is a
fragmented MP4 that starts at a key frame, plays in ffmpeg without an error, is the same bytes
for two viewers, and refuses bad input in JSON; a viewer that hangs up leaves no viewer behind."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from tests.conftest import client_as, wait_until
from tests.recording.live import Recorded, decode_errors
from vigil.device import Device
from vigil.features.recording.recorder import RecordingService
from vigil.footage import mp4


class LiveReader:
    """The boxes of one live response, read as far as a test needs (the same iterator throughout:
    dropping it would close the response)."""

    def __init__(self, response: httpx.Response) -> None:
        self.chunks = response.iter_bytes()
        self.data = b""
        self.boxes: list[tuple[bytes, bytes]] = []

    def until(self, fragments: int) -> list[tuple[bytes, bytes]]:
        """Read until the init segment and `fragments` moof+mdat pairs are in: [(box type, box)]."""
        while sum(1 for kind, _b in self.boxes if kind == b"mdat") < fragments:
            self.data += next(self.chunks)
            self.boxes = [(kind, self.data[pos:pos + size]) for kind, pos, size in mp4.iter_boxes(self.data)]
        return self.boxes


def live_status(recorded: Recorded) -> int:
    with recorded.client("viewer") as c:
        reply = c.post("/axis-cgi/recorder.cgi", content=json.dumps({"apiVersion": "1.0", "method": "getStatus"}))
    return reply.json()["data"]["liveViewers"]


def test_a_viewer_gets_fmp4_from_a_key_frame_that_ffmpeg_decodes(recorded: Recorded, tmp_path: Path) -> None:
    with recorded.client("viewer") as c, c.stream("GET", "/vigil/live", params={"camera": "1"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith('video/mp4; codecs="avc1.')
        assert r.headers["x-vigil-video-size"] == "1280x720"
        reader = LiveReader(r)
        boxes = reader.until(40)
        data = reader.data
    kinds = [kind for kind, _b in boxes]
    assert kinds[:2] == [b"ftyp", b"moov"]
    (track,) = mp4.parse_init(boxes[1][1])
    assert (track.codec, track.width, track.height) == ("H264", 1280, 720)
    # Each moof is followed by its mdat: one frame per fragment, the first a key frame.
    pairs = [boxes[i][1] + boxes[i + 1][1] for i in range(2, len(boxes) - 1, 2) if boxes[i][0] == b"moof"]
    samples = [s for pair in pairs for s in mp4.parse_fragment(pair)]
    assert len(samples) == len(pairs) >= 40
    assert samples[0].key
    times = [s.time for s in samples]
    assert times == sorted(times) and len(set(times)) == len(times)
    assert all(s.duration > 0 for s in samples)
    path = tmp_path / "live.mp4"
    path.write_bytes(data[:sum(len(b) for _k, b in boxes)])
    assert decode_errors(path) == ""


def test_two_viewers_share_the_muxed_fragments(recorded: Recorded) -> None:
    with recorded.client("viewer") as c, c.stream("GET", "/vigil/live", params={"camera": "1"}) as first:
        one = LiveReader(first)
        one.until(3)
        with c.stream("GET", "/vigil/live") as second:  # camera 1 is the default
            two = LiveReader(second)
            b = two.until(3)
            assert live_status(recorded) == 2
        a = one.until(30)
    moofs_a = {box for kind, box in a if kind == b"moof"}
    moofs_b = [box for kind, box in b if kind == b"moof"]
    assert moofs_b and all(box in moofs_a for box in moofs_b[-2:])


def test_a_viewer_that_hangs_up_leaves(recorded: Recorded) -> None:
    with recorded.client("viewer") as c, c.stream("GET", "/vigil/live", params={"camera": "1"}) as r:
        reader = LiveReader(r)
        reader.until(2)
        assert live_status(recorded) == 1
    wait_until(lambda: live_status(recorded) == 0, 10, "the viewer that hung up is still counted")


def test_bad_requests_are_refused_in_json(recorded: Recorded) -> None:
    with recorded.client("viewer") as c:
        for params, status, code in (({"camera": "2"}, 404, 2101), ({"camera": "x"}, 404, 2101),
                                     ({"camera": "0"}, 404, 2101), ({"resolution": "640x480"}, 400, 2100),
                                     ({"camera": ["1", "1"]}, 400, 2100)):
            r = c.get("/vigil/live", params=params)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), (params, r.text)
    with recorded.client(None) as anonymous:
        assert anonymous.get("/vigil/live", params={"camera": "1"}).status_code == 401


async def test_a_camera_that_is_not_connected_is_refused(device: Device, recorder: RecordingService) -> None:
    async with client_as(device, "viewer") as c:
        r = await c.get("/vigil/live", params={"camera": "1"})
    assert (r.status_code, r.json()["error"]["code"]) == (503, 2102)
    assert "not connected" in r.json()["error"]["message"]
