"""The C1410 manual's recipe "Play audio when a camera detects motion", with two real Vigil
processes: a clip's play link (Audio > Audio clips > Create link, volume and repeat) pasted into
an HTTP recipient of a W401 with the speaker's credentials, and a W401 rule "digital input active
-> Send notification through HTTP" to it. Closing the input's circuit plays the clip at the
speaker's sink (read over its simulation API)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live
from tests.peers.servers import PORT_TOPIC, add_action, add_recipient, add_rule, item_filter, param_update
from tests.playback.conftest import TONE_DBFS, TONE_SECONDS, make_tone


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[tuple[LiveDevice, LiveDevice]]:
    with ThreadPoolExecutor(2) as pool:  # both start at once
        starting = [pool.submit(start_live, tmp_path / profile, profile) for profile in ("c1410", "w401")]
        wait(starting)
    started = [f.result() for f in starting if f.exception() is None]
    try:
        assert len(started) == 2, [f.exception() for f in starting]
        for device in started:
            create_admin_live(device)
        yield started[0], started[1]
    finally:
        for device in started:
            device.stop()


def play_link(speaker: LiveDevice, clip: str, volume: int, repeat: int) -> str:
    """What the page's "Create link" gives (web/audio-clips.js builds the same URL)."""
    return f"{speaker.http}/axis-cgi/playclip.cgi?clip={clip}&volume={volume}&repeat={repeat}"


async def until_heard(c1410: httpx.AsyncClient, seconds: float, timeout: float = 10) -> dict:
    """The speaker's sink once it has played `seconds` of sound (or what it has after `timeout`)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        sink = (await c1410.get("/vigil/sim/audio")).json()["sink"]
        if sink["audibleSeconds"] >= seconds - 0.05 or asyncio.get_running_loop().time() > deadline:
            return sink
        await asyncio.sleep(0.1)  # polling another process: nothing to await


async def test_a_w401_input_plays_a_clip_on_the_speaker(pair: tuple[LiveDevice, LiveDevice], tmp_path: Path):
    speaker, w401 = pair
    auth = httpx.DigestAuth(*ADMIN)
    async with httpx.AsyncClient(base_url=speaker.http, auth=auth, timeout=20) as c1410, \
            httpx.AsyncClient(base_url=w401.http, auth=auth, timeout=20) as io:
        r = await c1410.post("/axis-cgi/mediaclip.cgi", params={"action": "upload", "media": "audio", "name": "Chime"},
                             files={"file": ("chime.mp3", make_tone(tmp_path / "chime.mp3"), "audio/mpeg")})
        assert r.text == "OK\nuploaded=0\n"
        await c1410.post("/vigil/sim/audio", json={"clearSink": True})
        # W401: System > Events > Recipients: HTTP, the link, the speaker's user and password
        recipient = await add_recipient(io, "com.axis.recipient.http", {
            "upload_url": play_link(speaker, "0", 50, 1), "login": ADMIN[0], "password": ADMIN[1], "proxy_host": "",
            "proxy_port": "", "proxy_login": "", "proxy_password": "", "qos": "0"}, "Speaker")
        action = await add_action(io, "com.axis.action.fixed.notification.http", {
            "recipient_id": str(recipient), "message": "Input {source.port}", "parameters": "", "method": "",
            "http_headers": "", "body": ""}, "Play clip")
        await param_update(io, **{"IOPort.I0.Direction": "input", "IOPort.I0.Input.Trig": "closed"})
        await add_rule(io, "Play clip", action, start=(PORT_TOPIC, item_filter(port="1", state="1")))
        r = await io.post("/vigil/sim/io", json={"port": 0, "circuit": "closed"})  # port index 0 is port 1
        assert r.status_code == 200, r.text

        sink = await until_heard(c1410, 2 * TONE_SECONDS)
        if not sink["audibleSeconds"]:
            print((await io.get("/axis-cgi/systemlog.cgi")).text[-3000:])
            print((await c1410.get("/axis-cgi/systemlog.cgi")).text[-3000:])
        assert abs(sink["audibleSeconds"] - 2 * TONE_SECONDS) < 0.06, sink  # played and repeated once
        assert abs(sink["frequencyHz"] - 1000) < 20 and abs(sink["levelDbfs"] - (TONE_DBFS - 6.02)) < 1.0, sink
