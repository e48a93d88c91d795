"""recorder.cgi's testSource against real cameras: GStreamer's RTSP server with Digest
credentials, and test-camera servers that lie in their SDP. The camera's codec and size come
from the stream; refusals, unreachable cameras and lies are error 1002 with the reason; a
stored source's password is used for "******"; nothing is ever stored."""

from __future__ import annotations

import asyncio
import base64
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.conftest import client_as
from tests.peers.processes import free_port
from tests.peers.rtsp import GstCameras, gst_cameras
from tests.recording.conftest import RECORDER, call
from vigil.device import Device
from vigil.features.recording import rtsp_client, testcams
from vigil.features.recording.probe import probe
from vigil.features.recording.rtsp_client import RtspError

USER, PASSWORD = "cam", "CamSecret7"


@pytest.fixture(scope="module")
def camera(clip: Path) -> Iterator[GstCameras]:
    yield from gst_cameras(clip, 1, user=USER, password=PASSWORD)


class LyingCamera(testcams.TestCameraServer):
    """A test camera whose SDP announces `sdp_codec` and the SPS of another clip."""

    def __init__(self, clip: testcams.Clip, announced_sps: bytes, sdp_codec: str = "H264") -> None:
        super().__init__(clip, 1)
        self.announced_sps = announced_sps
        self.sdp_codec = sdp_codec

    def _sdp(self, path: str) -> str:
        sprop = base64.b64encode(self.announced_sps).decode() + "," + base64.b64encode(self.clip.pps).decode()
        return (f"v=0\r\no=- 0 0 IN IP4 {self.host}\r\ns=Lying camera\r\nt=0 0\r\n"
                f"m=video 0 RTP/AVP 96\r\na=rtpmap:96 {self.sdp_codec}/90000\r\n"
                f"a=fmtp:96 packetization-mode=1;sprop-parameter-sets={sprop}\r\n"
                f"a=control:rtsp://{self.host}:{self.port}{path}/track1\r\n")


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> tuple[testcams.Clip, testcams.Clip]:
    folder = tmp_path_factory.mktemp("probeclips")
    made = []
    for width, height in ((320, 240), (160, 120)):
        testcams.make_clip(folder / f"{width}.mp4", width, height, 15, 1, 100_000)
        made.append(testcams.load_clip(folder / f"{width}.mp4"))
    return made[0], made[1]


@pytest.fixture
async def liar(clips: tuple[testcams.Clip, testcams.Clip]) -> AsyncIterator[LyingCamera]:
    server = LyingCamera(clips[0], clips[1].sps)
    await server.start()
    yield server
    await server.close()


def stored(device: Device) -> list[tuple[str, str]]:
    return device.store.query("SELECT id, body FROM sources ORDER BY id")


async def test_a_camera_is_tested_without_being_stored(device: Device, camera: GstCameras) -> None:
    reply = await call(device, "admin", "testSource",
                       {"source": {"url": camera.url(1), "username": USER, "password": PASSWORD}})
    assert reply["data"]["camera"] == {"video": "H264", "width": 640, "height": 360, "audio": "",
                                       "transport": "tcp"}, reply
    assert stored(device) == []
    wrong = await call(device, "admin", "testSource",
                       {"source": {"url": camera.url(1), "username": USER, "password": "nope"}})
    assert wrong["error"] == {"code": 1002, "message": "Camera test failed: the camera refused the user name or "
                                                       "password"}, wrong
    none = await call(device, "admin", "testSource", {"source": {"url": camera.url(1)}})
    assert "needs a user name and password" in none["error"]["message"]
    assert stored(device) == []


async def test_the_stored_password_is_tested_for_hidden_and_kept(device: Device, camera: GstCameras) -> None:
    source = {"id": "cam4", "name": "Gate", "url": camera.url(1), "username": USER, "password": PASSWORD,
              "enabled": False}
    assert "error" not in await call(device, "admin", "setSource", {"source": source})
    before = stored(device)
    ok = await call(device, "admin", "testSource", {"source": {"id": "cam4", "password": "******"}})
    assert ok["data"]["camera"]["width"] == 640, ok
    refused = await call(device, "admin", "testSource", {"source": {"id": "cam4", "password": "other"}})
    assert refused["error"]["code"] == 1002
    assert stored(device) == before


async def test_unreachable_cameras_and_bad_input_are_clear_errors(device: Device) -> None:
    port = free_port()
    reply = await call(device, "admin", "testSource", {"source": {"url": f"rtsp://127.0.0.1:{port}/x"}})
    assert reply["error"]["code"] == 1002
    assert reply["error"]["message"].startswith(f"Camera test failed: cannot reach 127.0.0.1:{port}")
    bad = await call(device, "admin", "testSource", {"source": {"url": "http://127.0.0.1/x"}})
    assert bad["error"]["code"] == 1000 and "rtsp://host" in bad["error"]["message"]
    assert (await call(device, "admin", "testSource", {"source": "rtsp://x"}))["error"]["code"] == 4002
    async with client_as(device, "operator") as operator:
        r = await operator.post(RECORDER, json={"apiVersion": "1.0", "method": "testSource",
                                                "params": {"source": {"url": "rtsp://127.0.0.1/x"}}})
    assert r.status_code == 403, r.text


async def test_a_camera_whose_sdp_announces_another_size_is_refused(device: Device, liar: LyingCamera) -> None:
    reply = await call(device, "admin", "testSource", {"source": {"url": liar.url(1)}})
    assert reply["error"] == {"code": 1002, "message": "Camera test failed: the camera's SDP announces 160x120 "
                                                       "but it sends 320x240"}, reply


async def test_a_camera_whose_sdp_announces_another_codec_is_refused(
        clips: tuple[testcams.Clip, testcams.Clip]) -> None:
    server = LyingCamera(clips[0], clips[0].sps, sdp_codec="H265")
    await server.start()
    try:
        with pytest.raises(RtspError, match="sent no H.265 key frame in 1 s"):
            await asyncio.to_thread(probe, server.url(1), "", "", key_frame_timeout=1)
    finally:
        await server.close()


def test_a_reply_after_interleaved_packets_is_read() -> None:
    """A camera that already streams over TCP answers between its $-framed RTP packets."""
    ours, camera = socket.socketpair()
    with ours, camera:
        packet = b"\x80\x60" + bytes(30)
        camera.sendall(b"$\x00" + len(packet).to_bytes(2, "big") + packet
                       + b"RTSP/1.0 200 OK\r\nCSeq: 5\r\nContent-Length: 2\r\n\r\nok")
        status, headers, body = rtsp_client._Connection(ours).request(["TEARDOWN rtsp://x RTSP/1.0", "CSeq: 5"])
    assert (status, headers["cseq"], body) == (200, ["5"], b"ok")
