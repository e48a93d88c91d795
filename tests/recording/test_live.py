"""live.py in-process: a camera's frames as the ingest's reader thread hands them over, muxed once
per frame for every viewer, a new viewer starting at the latest key frame, a slow viewer skipping
to the next key frame, the viewer limit, and nothing left behind when viewers or the camera go."""

from __future__ import annotations

import asyncio

import pytest

from vigil.features.recording import live
from vigil.features.recording.live import LiveRefused, LiveStream, LiveStreams, Viewer
from vigil.features.recording.rtp import AccessUnit, ParameterSets
from vigil.footage import mp4
from vigil.footage.h26x import mime_codec

# A 320x240 stream's parameter sets (libx264, baseline).
SPS = bytes.fromhex("6742c00cda0507e840000003004000000783c50aa8")
PPS = bytes.fromhex("68ce0fc8")
STEP = 6000  # 15 fps in the 90 kHz clock


def params() -> ParameterSets:
    return ParameterSets(sps=SPS, pps=PPS)


def frame(n: int, key: bool = False) -> AccessUnit:
    payload = bytes([0x65 if key else 0x41]) + n.to_bytes(4, "big") * 8
    return AccessUnit(1_000_000 + n * STEP, len(payload).to_bytes(4, "big") + payload, key)


def feed(stream: LiveStream, frames: list[AccessUnit]) -> None:
    """One reader pass: the frames, then the end of the pass."""
    for unit in frames:
        stream.unit(unit, params())
    stream.passed()


async def next_chunk(viewer: Viewer) -> bytes:
    return await asyncio.wait_for(anext(aiter(viewer.chunks())), 5)


def samples(data: bytes) -> list[mp4.Sample]:
    boxes = list(mp4.iter_boxes(data))
    out = []
    for (kind, pos, size), (_next, _pos2, size2) in zip(boxes, boxes[1:], strict=False):
        if kind == b"moof":
            out += mp4.parse_fragment(data[pos:pos + size + size2])
    return out


async def test_a_viewer_starts_at_the_latest_key_frame_and_then_gets_each_frame() -> None:
    stream = LiveStream("cam1", "H264", asyncio.get_running_loop())
    feed(stream, [frame(0), frame(1, key=True), frame(2), frame(3, key=True), frame(4)])  # nobody watches yet
    viewer = stream.join()
    first = await next_chunk(viewer)
    (track,) = mp4.parse_init(first)
    assert (track.codec, track.width, track.height) == ("H264", 320, 240)
    got = samples(first)
    assert [(s.time, s.key) for s in got] == [(frame(3).timestamp, True), (frame(4).timestamp, False)]
    assert got[0].duration == STEP and got[0].data == frame(3, key=True).data
    assert stream.mime == 'video/mp4; codecs="avc1.42C00C"' == f'video/mp4; codecs="{mime_codec("H264", SPS)}"'
    feed(stream, [frame(5), frame(6)])
    await asyncio.sleep(0)  # the reader thread's hand-over runs on the loop
    later = samples(await next_chunk(viewer))
    assert [(s.time, s.duration) for s in later] == [(frame(5).timestamp, STEP), (frame(6).timestamp, STEP)]


async def test_each_frame_is_muxed_once_for_all_viewers(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = mp4.fragment
    monkeypatch.setattr(live.mp4, "fragment", lambda *a: calls.append(a) or real(*a))
    stream = LiveStream("cam1", "H264", asyncio.get_running_loop())
    feed(stream, [frame(0, key=True)])
    one, two = stream.join(), stream.join()
    assert await next_chunk(one) == await next_chunk(two)
    feed(stream, [frame(1), frame(2)])
    await asyncio.sleep(0)
    assert await next_chunk(one) == await next_chunk(two)
    assert len(calls) == 3


async def test_a_viewer_that_falls_behind_goes_on_at_the_next_key_frame(monkeypatch: pytest.MonkeyPatch) -> None:
    unit = frame(1)
    per_frame = len(mp4.fragment(1, [mp4.TrackRun(1, unit.timestamp, [STEP], [len(unit.data)], [False], [unit.data])]))
    monkeypatch.setattr(live, "MAX_BACKLOG", 39 * per_frame + 50)  # what the fast one reads at once
    stream = LiveStream("cam1", "H264", asyncio.get_running_loop())
    feed(stream, [frame(0, key=True)])
    slow, fast = stream.join(), stream.join()
    await next_chunk(fast)
    feed(stream, [frame(n) for n in range(1, 40)])  # more than the slow one's backlog may hold
    await asyncio.sleep(0)
    assert slow.skips == 1 and fast.skips == 0
    assert len(samples(await next_chunk(fast))) == 39
    feed(stream, [frame(40, key=True), frame(41)])
    await asyncio.sleep(0)
    resumed = await next_chunk(slow)
    assert mp4.parse_init(resumed)  # it starts again with the init segment, at the key frame
    assert [s.key for s in samples(resumed)] == [True, False]


async def test_when_the_last_viewer_leaves_nothing_is_muxed_or_kept() -> None:
    stream = LiveStream("cam1", "H264", asyncio.get_running_loop())
    feed(stream, [frame(0, key=True)])
    viewer = stream.join()
    stream.unit(frame(1), params())
    stream.passed()  # handed to the loop, not yet run...
    stream.leave(viewer)  # ...when the viewer leaves: that batch is stale
    assert not stream.watched and not stream.viewers
    again = stream.join()
    await asyncio.sleep(0)
    assert [s.time for s in samples(await next_chunk(again))] == [frame(0).timestamp, frame(1).timestamp]
    stream.leave(again)
    feed(stream, [frame(2)])
    assert stream._pending == []  # noqa: SLF001 - nobody watches: the reader hands nothing over


async def test_the_viewer_limit_and_a_camera_that_goes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(live, "MAX_VIEWERS", 2)
    streams = LiveStreams()
    with pytest.raises(LiveRefused) as refused:
        streams.watch("cam1", "1")
    assert (refused.value.status, refused.value.code) == (503, 2102)
    stream = streams.connected("cam1", "H264", asyncio.get_running_loop())
    feed(stream, [frame(0, key=True)])
    _s, one = streams.watch("cam1", "1")
    streams.watch("cam1", "1")
    with pytest.raises(LiveRefused) as refused:
        streams.watch("cam1", "1")
    assert (refused.value.status, refused.value.code) == (503, 2103)
    assert "2 live viewers" in str(refused.value)
    streams.disconnected("cam1")  # the camera's connection ended: the viewers' streams end
    chunks = [c async for c in one.chunks()]
    assert len(chunks) == 1 and streams.viewers == 0
    with pytest.raises(LiveRefused):
        stream.join()


def test_the_codec_names_a_browser_asks_for() -> None:
    assert mime_codec("H264", SPS) == "avc1.42C00C"
    h265_sps = bytes.fromhex("42010101600000030090000003000003003ca00a080f16595952930b9a020000030002000003001e10")
    assert mime_codec("H265", h265_sps) == "hvc1.1.6.L60.90"  # Main, level 2, progressive frames (libx265)
