"""Stream profiles on the live relay: `streamprofile=NAME` applies the profile's parameters
(camera, videocodec, video, audio, event, eventtopic), parameters after it override them, and a
profile that would need the video encoded again (resolution, fps, compression ...) is refused
when saved, through param.cgi and streamprofile.cgi, with nothing stored."""

from __future__ import annotations

import httpx

from tests.conftest import ADMIN
from tests.peers.rtsp_client import RtspClient
from tests.rtsp.conftest import VIEWER, Cameras
from tests.rtsp.test_live import ffprobe_packets

PARAM = "/axis-cgi/param.cgi"
PROFILES = "/axis-cgi/streamprofile.cgi"


def http(cameras: Cameras, credentials: tuple[str, str] = ADMIN) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{cameras.device.ports.http}",
                             auth=httpx.DigestAuth(*credentials), timeout=20)


async def add_profile(cameras: Cameras, name: str, parameters: str) -> str:
    async with http(cameras) as client:
        r = await client.get(PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                            "StreamProfile.S.Name": name, "StreamProfile.S.Parameters": parameters})
    return r.text


async def described(cameras: Cameras, query: str) -> tuple[int, str]:
    client = await RtspClient.open(cameras.port, cameras.url(query, credentials=None), *VIEWER)
    try:
        reply = await client.request("DESCRIBE")
        return reply.status, reply.body.decode()
    finally:
        client.close()


async def test_a_profile_applies_its_parameters_to_the_stream(cameras: Cameras) -> None:
    assert await add_profile(cameras, "second", "camera=2&videocodec=h264&audio=0") == "S0 OK\r\n"
    assert await add_profile(cameras, "withevents", "camera=1&event=on&eventtopic=onvif:Device//.") == "S1 OK\r\n"
    assert await add_profile(cameras, "hevc", "camera=1&videocodec=h265") == "S2 OK\r\n"
    assert await add_profile(cameras, "third", "camera=3") == "S3 OK\r\n"
    packets, stream, errors = await ffprobe_packets(cameras.url("streamprofile=second", credentials=VIEWER), "tcp", 1)
    assert stream["codec_name"] == "h264" and packets and not errors
    assert cameras.recording.relays.relays["testcam2"].packets > 0  # camera 2 played, as the profile says
    status, sdp = await described(cameras, "streamprofile=withevents")
    assert status == 200 and "m=video" in sdp and "m=application" in sdp
    status, sdp = await described(cameras, "streamprofile=withevents&video=0")  # after it: overrides the profile
    assert status == 200 and "m=video" not in sdp and "m=application" in sdp
    assert (await described(cameras, "streamprofile=hevc"))[0] == 406  # the camera sends H.264
    assert (await described(cameras, "streamprofile=hevc&videocodec=h264"))[0] == 200
    assert (await described(cameras, "videocodec=h264&streamprofile=hevc"))[0] == 406  # the profile comes later
    assert (await described(cameras, "streamprofile=third"))[0] == 404  # no camera 3
    assert (await described(cameras, "streamprofile=nosuch"))[0] == 404


async def test_a_profile_that_needs_encoding_is_refused_when_saved(cameras: Cameras) -> None:
    for parameters, reason in (("camera=1&resolution=640x480", "resolution needs the video encoded again"),
                               ("fps=5", "fps needs the video encoded again"),
                               ("compression=30", "compression needs the video encoded again"),
                               ("audio=1", "audio takes 0"), ("videocodec=mjpeg", "videocodec takes h264 or h265"),
                               ("camera=x", "camera takes a number"), ("color=0", "needs the video encoded again"),
                               ("event=maybe", "event takes on or off"), ("foo=1", "foo is not a stream parameter"),
                               ("streamprofile=other", "cannot name another"), ("camera", "key=value")):
        text = await add_profile(cameras, "refused", parameters)
        assert "# Request failed" in text or "# Error" in text, (parameters, text)
        assert reason in text, (parameters, text)
    assert await add_profile(cameras, "ok", "camera=1") == "S0 OK\r\n"  # nothing of the refused ones was kept
    async with http(cameras) as client:
        r = await client.get(PARAM, params={"action": "update", "StreamProfile.S0.Parameters": "camera=1&fps=10"})
        assert "fps needs the video encoded again" in r.text
        assert (await client.get(PARAM, params={"action": "list", "group": "StreamProfile.S0.Parameters"})).text \
            == "root.StreamProfile.S0.Parameters=camera=1\r\n"
        r = await client.get(PARAM, params={"action": "add", "template": "streamprofile", "group": "StreamProfile",
                                            "StreamProfile.S.Name": "ok"})
        assert "a stream profile named ok exists" in r.text
        r = await client.post(PROFILES, json={"apiVersion": "1.0", "method": "create", "params": {"streamProfile": [
            {"name": "hd", "description": "HD", "parameters": "camera=1&resolution=1920x1080"}]}})
        error = r.json()["error"]
        assert error["code"] == 2004 and "resolution needs the video encoded again" in error["message"]
