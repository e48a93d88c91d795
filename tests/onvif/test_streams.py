"""Axis's ONVIF RTSP path (`/onvif-media/media.amp?profile=...`) on a recorder with two test
cameras: ffprobe plays a profile's stream (the camera's video and the metadata of its metadata
configuration) from the one camera connection the live relay has, Axis's own token form names
the same camera, and what the path cannot do is refused with an RTSP status."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.peers.rtsp_client import RtspClient
from tests.rtsp.conftest import VIEWER, recorder
from vigil.device import Device
from vigil.features.recording import testcams
from vigil.features.recording.recorder import RECORDING_SERVICE


@pytest.fixture
async def device(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Device]:
    clip = tmp_path_factory.mktemp("onvifclip") / "clip.mp4"
    await asyncio.to_thread(testcams.make_clip, clip, 640, 360, 15, 3, 400_000)
    server = testcams.TestCameraServer(await asyncio.to_thread(testcams.load_clip, clip), 2)
    await server.start()
    try:
        async with recorder(tmp_path / "data", [server.url(1), server.url(2)]) as device:
            yield device
    finally:
        await server.close()


def onvif_url(device: Device, query: str, credentials: tuple[str, str] | None = VIEWER) -> str:
    user = f"{credentials[0]}:{credentials[1]}@" if credentials else ""
    return f"rtsp://{user}127.0.0.1:{device.ports.rtsp}/onvif-media/media.amp?{query}"


async def test_ffprobe_plays_a_profile_with_its_metadata(device: Device) -> None:
    url = onvif_url(device, "profile=profile_2&sessiontimeout=60&streamtype=unicast")
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_streams", "-select_streams", "v",
        "-show_packets", "-read_intervals", "%+1", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    probed = json.loads(out)
    video = probed["streams"][0]
    assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
    assert probed["packets"] and probed["packets"][0]["flags"].startswith("K")
    relays = device.features[RECORDING_SERVICE].relays.relays
    assert relays["testcam2"].packets > 0  # profile_2 is camera 2, relayed from its one connection


async def test_the_profile_decides_the_tracks_and_refusals(device: Device) -> None:
    client = await RtspClient.open(device.ports.rtsp, onvif_url(device, "profile=profile_1", None), *VIEWER)
    try:
        described = await client.request("DESCRIBE")
        sdp = described.body.decode()
        assert described.status == 200 and sdp.index("m=video") < sdp.index("m=application")
        assert "vnd.onvif.metadata" in sdp and "/onvif-media/media.amp/stream=1?profile=profile_1" in sdp
        for query, status in (("profile=profile_1_h264", 200), ("profile=profile_1_h265", 406),
                              ("profile=profile_3", 404), ("profile=other", 404), ("", 404),
                              ("profile=profile_1&streamtype=multicast", 400),
                              ("profile=profile_1&sessiontimeout=5", 400),
                              ("profile=profile_1&resolution=320x240", 400)):
            reply = await client.request("DESCRIBE", onvif_url(device, query, None))
            assert reply.status == status, (query, reply.status, reply.body)
    finally:
        client.close()
    anonymous = await RtspClient.open(device.ports.rtsp, onvif_url(device, "profile=profile_1", None))
    try:
        assert (await anonymous.request("DESCRIBE", auth=None)).status == 401
    finally:
        anonymous.close()
