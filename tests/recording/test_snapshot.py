"""Snapshots without a device: a key frame of the test clip decoded to a JPEG of the right size
and quality, one decode for any number of requests of one key frame, a new key frame makes a
new JPEG, and a key frame that does not decode is refused and not kept."""

from __future__ import annotations

import asyncio
import io

import av
import pytest

from vigil.features.recording.rtp import AccessUnit
from vigil.features.recording.snapshot import (
    JpegOptions,
    NoKeyFrame,
    SnapshotFailed,
    Snapshots,
    qscale,
)
from vigil.features.recording.testcams import Clip, load_clip, make_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Clip:
    path = tmp_path_factory.mktemp("snapshot") / "clip.mp4"
    make_clip(path, 320, 240, 15, 2, 300_000)
    return load_clip(path)


def key_unit(clip: Clip, number: int = 0) -> AccessUnit:
    """The `number`th key frame of the clip as the ingest hands it over (length-prefixed NAL units)."""
    frame = [f for f in clip.frames if f.key][number]
    return AccessUnit(0, b"".join(len(n).to_bytes(4, "big") + n for n in frame.nals), True)


def picture(jpeg: bytes) -> tuple[str, int, int]:
    with av.open(io.BytesIO(jpeg)) as container:
        frame = next(container.decode(video=0))
        return container.streams.video[0].codec_context.name, frame.width, frame.height


def seen(snapshots: Snapshots, clip: Clip, number: int = 0) -> None:
    snapshots.seen("cam", "H264", (b"", clip.sps, clip.pps), key_unit(clip, number), 1000.0)


async def test_a_key_frame_becomes_a_jpeg_of_its_size(clip: Clip) -> None:
    snapshots = Snapshots()
    with pytest.raises(NoKeyFrame):
        await snapshots.jpeg("cam")
    seen(snapshots, clip)
    assert snapshots.size("cam") == (320, 240)
    jpeg, frame = await snapshots.jpeg("cam")
    assert jpeg[:2] == b"\xff\xd8" and frame.arrived == 1000.0
    assert picture(jpeg) == ("mjpeg", 320, 240)
    small, _ = await snapshots.jpeg("cam", JpegOptions(160, 120))
    assert picture(small)[1:] == (160, 120)
    finest, _ = await snapshots.jpeg("cam", JpegOptions(compression=0))
    coarsest, _ = await snapshots.jpeg("cam", JpegOptions(compression=100))
    assert len(finest) > len(jpeg) > len(coarsest)
    assert (qscale(0), qscale(100)) == (2, 31)


async def test_many_viewers_of_one_key_frame_cost_one_encode(clip: Clip) -> None:
    snapshots = Snapshots()
    seen(snapshots, clip)
    results = await asyncio.gather(*(snapshots.jpeg("cam") for _ in range(20)))
    assert snapshots.encodes == 1 and len({jpeg for jpeg, _ in results}) == 1
    await snapshots.jpeg("cam")
    assert snapshots.encodes == 1
    seen(snapshots, clip, 1)  # the camera's next key frame
    await snapshots.jpeg("cam")
    assert snapshots.encodes == 2
    snapshots.forget("cam")
    with pytest.raises(NoKeyFrame):
        await snapshots.jpeg("cam")


async def test_a_key_frame_that_does_not_decode_is_refused_and_not_kept(clip: Clip) -> None:
    snapshots = Snapshots()
    broken = AccessUnit(0, (8).to_bytes(4, "big") + b"\x65" + b"\x00" * 7, True)
    snapshots.seen("cam", "H264", (b"", clip.sps, clip.pps), broken, 1.0)
    for _ in range(2):  # refused each time: a failure is not cached
        with pytest.raises(SnapshotFailed):
            await snapshots.jpeg("cam")
    assert snapshots.encodes == 0
    snapshots.seen("cam", "H264", (b"", b"", b""), key_unit(clip), 2.0)  # no SPS/PPS yet: not a usable key frame
    assert snapshots.latest["cam"].unit is broken

