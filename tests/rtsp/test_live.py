"""Live video of the recorded cameras (`/axis-media/media.amp?camera=N`) with real clients:
ffprobe and GStreamer's rtspsrc over TCP and UDP, several at once on one camera from a single
camera connection, an H.265 camera, video with metadata in one session, authentication, RTSP status codes for
bad requests, and a client that stops reading."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from pathlib import Path

import pytest

from tests.conftest import ADMIN, add_source, eventually
from tests.peers.rtsp import GstCameras, make_av_clip
from tests.peers.rtsp_client import RtspClient, control_url
from tests.rtsp.conftest import VIEWER, Cameras, recorder

GST_CLIENT = Path(__file__).resolve().parents[1] / "peers" / "gst_rtsp_client.py"


async def ffprobe_packets(url: str, transport: str, seconds: int = 2) -> tuple[list[dict], dict, str]:
    """The video packets ffprobe reads in `seconds`, its stream, and its complaints."""
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", transport, "-select_streams", "v:0", "-show_packets",
        "-show_streams", "-read_intervals", f"%+{seconds}", "-of", "json", url,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    data = json.loads(out)
    return data.get("packets", []), data["streams"][0], err.decode()


async def gst_frames(url: str, protocols: str, frames: int = 20, credentials: tuple[str, str] | None = ADMIN) -> dict:
    """What GStreamer's rtspsrc received: {"frames", "keys", "first_key", "error"}."""
    cmd = ["/usr/bin/python3", str(GST_CLIENT), url, "--frames", str(frames), "--protocols", protocols,
           "--timeout", "20"]
    if credentials:
        cmd += ["--user", credentials[0], "--password", credentials[1]]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 40)
    assert proc.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


@pytest.mark.parametrize("transport", ["tcp", "udp"])
async def test_ffprobe_plays_a_camera_from_a_key_frame(cameras: Cameras, transport: str) -> None:
    packets, stream, errors = await ffprobe_packets(cameras.url("camera=2&videocodec=h264"), transport)
    assert stream["codec_name"] == "h264" and (stream["width"], stream["height"]) == (640, 360)
    assert len(packets) >= 15, errors
    assert packets[0]["flags"].startswith("K"), packets[0]  # the first thing a client gets is a key frame
    assert not errors


@pytest.mark.parametrize("protocols", ["tcp", "udp"])
async def test_gstreamer_rtspsrc_plays_a_camera(cameras: Cameras, protocols: str) -> None:
    got = await gst_frames(cameras.url("camera=1", credentials=None), protocols, credentials=VIEWER)
    assert got["error"] == "" and got["frames"] == 20 and got["first_key"] is True and got["keys"] >= 1


async def test_many_clients_on_one_camera_share_its_one_connection(cameras: Cameras) -> None:
    url = cameras.url("camera=1")
    results = await asyncio.gather(
        *(ffprobe_packets(url, transport) for transport in ("tcp", "udp", "tcp")),
        *(gst_frames(url, protocols) for protocols in ("tcp", "udp")))
    for packets, stream, errors in results[:3]:
        assert stream["codec_name"] == "h264"
        assert len(packets) >= 15 and packets[0]["flags"].startswith("K") and not errors
    for got in results[3:]:
        assert got["error"] == "" and got["frames"] == 20 and got["first_key"] is True
    assert cameras.server.plays == 2  # one stream per camera: the recorder's, nothing more
    relay = cameras.recording.relays.relays["testcam1"]
    assert relay.packets > 0
    await eventually(lambda: not relay.clients, 10, "the clients to leave")
    assert cameras.recording.stats()["testcam1"]["connected"] is True


async def test_authentication(cameras: Cameras) -> None:
    client = await RtspClient.open(cameras.port, cameras.url(credentials=None))
    try:
        refused = await client.request("DESCRIBE", auth=None)
        assert refused.status == 401
        assert re.fullmatch(r'Digest realm="[^"]+", nonce="[^"]+", stale=FALSE',
                            refused.header("www-authenticate").split("\n")[0])
        client.user, client.password = VIEWER[0], "wrong"
        assert (await client.request("DESCRIBE")).status == 401
    finally:
        client.close()
    client = await RtspClient.open(cameras.port, cameras.url(credentials=None), *VIEWER)
    try:
        described = await client.request("DESCRIBE")
        assert described.status == 200 and "m=video 0 RTP/AVP 96" in described.body.decode()
        assert "sprop-parameter-sets=" in described.body.decode()
    finally:
        client.close()
    packets, _, _ = await ffprobe_packets(cameras.url(credentials=VIEWER), "tcp", 1)
    assert packets


async def test_bad_requests_get_their_status(cameras: Cameras) -> None:
    client = await RtspClient.open(cameras.port, cameras.url(credentials=None), *ADMIN)
    url = cameras.url(credentials=None)
    try:
        for query, status in [("camera=3", 404), ("camera=0", 404), ("camera=x", 404), ("camera=1&videocodec=h265", 406),
                              ("camera=1&videocodec=mjpeg", 400), ("camera=1&video=0", 404)]:
            reply = await client.request("DESCRIBE", cameras.url(query, credentials=None))
            assert reply.status == status, (query, reply.raw)
        assert (await client.request("PLAY")).status == 455  # no session yet
        client.session = "0123456789ABCDEF"
        assert (await client.request("PLAY")).status == 454
        client.session = ""
        assert (await client.request("SETUP", f"{url.split('?')[0]}/stream=0?camera=1",
                                     {"Transport": "RTP/AVP;multicast;port=5000-5001"})).status == 461
        await client.start("RTP/AVP/TCP;unicast;interleaved=0-1", "video")
        assert (await client.request("SETUP", f"{url.split('?')[0]}/stream=0?camera=1",
                                     {"Transport": "RTP/AVP/TCP;interleaved=2-3"})).status == 455  # playing
        assert (await client.request("TEARDOWN")).status == 200
    finally:
        client.close()
    raw = await RtspClient.open(cameras.port, url)
    try:
        reply = await raw.send_raw(b"DESCRIBE " + url.encode() + b" RTSP/1.0\r\nCSeq: 1\r\nX: " + b"a" * 40000 + b"\r\n\r\n")
        assert reply.status == 400
    finally:
        raw.close()
    assert cameras.server.plays == 2  # none of it reached a camera


async def test_video_and_metadata_in_one_session(cameras: Cameras) -> None:
    client = await RtspClient.open(cameras.port, cameras.url("camera=1&event=on", credentials=None), *ADMIN)
    try:
        described = await client.request("DESCRIBE")
        sdp = described.body.decode()
        assert sdp.index("m=video") < sdp.index("m=application")
        video, metadata = control_url(sdp, "video"), control_url(sdp, "application")
        assert (await client.request("SETUP", video, {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})).status == 200
        second = await client.request("SETUP", metadata, {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        assert second.status == 200 and "interleaved=2-3" in second.header("transport")  # 0-1 is the video's
        play = await client.request("PLAY")
        assert play.status == 200 and play.header("rtp-info").count("url=") == 2
        seen: dict[int, list[bytes]] = {0: [], 2: []}
        async with asyncio.timeout(10):
            while len(seen[0]) < 20 or not seen[2]:
                channel, packet = await client.packet(10)
                seen[channel].append(packet)
        assert {p[1] & 0x7F for p in seen[0]} == {96} and {p[1] & 0x7F for p in seen[2]} == {98}
        assert b"MetadataStream" in seen[2][0]
        first_video = seen[0][0][12:]
        assert first_video[0] & 0x1F in (5, 7, 8, 24) or (first_video[0] & 0x1F == 28 and first_video[1] & 0x1F == 5)
    finally:
        client.close()


async def test_a_client_that_stops_reading_skips_and_holds_up_no_one(cameras: Cameras) -> None:
    cameras.rtsp.backlog_limit = 64 * 1024
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", cameras.port))
    reader, writer = await asyncio.open_connection(sock=sock)
    stalled = RtspClient(reader, writer, cameras.url(credentials=None), *ADMIN)
    try:
        await stalled.start("RTP/AVP/TCP;unicast;interleaved=0-1", "video")
        session = cameras.rtsp.sessions[stalled.session]
        session.connection.writer.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        frames_before = cameras.recording.stats()["testcam1"]["frames"]
        got = await gst_frames(cameras.url("camera=1"), "tcp", frames=45)  # three seconds beside the stalled one
        assert got["error"] == "" and got["frames"] == 45 and got["first_key"] is True
        client = session.tracks[0].stream
        await eventually(lambda: client.skips > 0, 20, "the stalled client to skip")
        assert cameras.recording.stats()["testcam1"]["frames"] >= frames_before + 45  # the ingest went on
        backlog = session.connection.writer.transport.get_write_buffer_size()
        assert backlog < cameras.rtsp.backlog_limit + 256 * 1024  # bounded, not the whole stream
    finally:
        stalled.close()
    packets, _, _ = await ffprobe_packets(cameras.url("camera=1"), "tcp", 1)  # the server is still fine
    assert packets


async def test_an_h265_camera_is_relayed_as_h265(tmp_path: Path) -> None:
    camera = GstCameras(make_av_clip(tmp_path, codec="h265", audio="none", seconds=20), 1, codec="h265").start()
    try:
        async with recorder(tmp_path / "data", [camera.url(1)]) as device:
            url = f"rtsp://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{device.ports.rtsp}/axis-media/media.amp?camera=1"
            packets, stream, errors = await ffprobe_packets(url + "&videocodec=h265", "tcp")
            assert stream["codec_name"] == "hevc" and (stream["width"], stream["height"]) == (640, 360)
            assert len(packets) >= 15 and packets[0]["flags"].startswith("K") and not errors
            client = await RtspClient.open(device.ports.rtsp, url.replace(f"{ADMIN[0]}:{ADMIN[1]}@", ""), *ADMIN)
            try:
                described = await client.request("DESCRIBE", headers={"Accept": "application/sdp"})
                assert "a=rtpmap:96 H265/90000" in described.body.decode()
                assert re.search(r"sprop-vps=[^;]+;sprop-sps=[^;]+;sprop-pps=", described.body.decode())
                assert (await client.request("DESCRIBE", url.replace(f"{ADMIN[0]}:{ADMIN[1]}@", "") + "&videocodec=h264")
                        ).status == 406
            finally:
                client.close()
    finally:
        camera.stop()


async def test_a_camera_that_is_not_connected_is_unavailable(cameras: Cameras) -> None:
    client = await RtspClient.open(cameras.port, cameras.url("camera=2", credentials=None), *ADMIN)
    try:
        await client.start("RTP/AVP/TCP;unicast;interleaved=0-1", "video")
        await client.frame()
        await add_source(cameras.device, "testcam2", cameras.server.url(2), enabled=False)
        assert "testcam2" not in cameras.recording.relays.feeds
        reply = await client.request("DESCRIBE", cameras.url("camera=2", credentials=None))
        assert reply.status == 503 and b"camera 2 (testcam2) is not connected" in reply.body
        assert (await client.request("DESCRIBE", cameras.url("camera=1", credentials=None))).status == 200
    finally:
        client.close()
