"""VAPIX receive.cgi on a served C1410: ffmpeg hears the microphone's tone in the singlepart
G.711 stream, the multipart stream comes in 512-byte parts, a client that leaves stops listening,
and bad requests, an input that is off, the listener limit and anonymous callers are refused."""

from __future__ import annotations

import asyncio

import httpx
import numpy as np

from tests.conftest import ADMIN, add_account, eventually
from vigil.device import Device
from vigil.features.audio import const as c
from vigil.features.audio.detection import AUDIO_DETECTION
from vigil.features.audio.service import AUDIO_SERVICE
from vigil.hal.audio import AUDIO_HARDWARE, RATE, dominant_frequency, level_dbfs, tone


def base(device: Device) -> str:
    return f"http://127.0.0.1:{device.ports.http}{c.RECEIVE_PATH}"


async def test_ffmpeg_hears_the_microphone_over_http(served: Device) -> None:
    add_account(served, "viewer1", "view1234", "viewer")
    served.hardware[AUDIO_HARDWARE].feed(tone(1000, 8.0, -20.0))
    source = base(served).replace("http://", "http://viewer1:view1234@")
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-f", "mulaw", "-ar", "8000", "-ac", "1", "-i", source, "-t", "1.5",
        "-ar", str(RATE), "-f", "s16le", "-", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    heard = np.frombuffer(out, "<i2")[RATE // 4:]
    assert len(heard) >= RATE
    assert abs(dominant_frequency(heard) - 1000) < 20
    assert abs(level_dbfs(heard) - -20.0) < 1.5
    detection = served.features[AUDIO_DETECTION].on_block
    await eventually(lambda: served.features[AUDIO_SERVICE].listeners == [detection], 5, "the client to leave")


async def test_the_multipart_stream_comes_in_parts(served: Device) -> None:
    async with httpx.AsyncClient(auth=httpx.DigestAuth(*ADMIN)) as client, \
            client.stream("GET", base(served), params={"httptype": "multipart", "audiocodec": "g711"}) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "multipart/x-mixed-replace; boundary=myboundary"
        got = b""
        async for chunk in r.aiter_bytes():
            got += chunk
            if len(got) > 3 * 600:
                break
    head = b"--myboundary\r\nContent-Type: audio/basic\r\nContent-Length: 512\r\n\r\n"
    assert got.startswith(head)
    assert got[len(head) + 512:len(head) + 514] == b"\r\n" and got[len(head) + 514:].startswith(head)


async def test_refusals(served: Device) -> None:
    async with httpx.AsyncClient(auth=httpx.DigestAuth(*ADMIN)) as client:
        for query in ({"audiocodec": "aac"}, {"httptype": "both"}, {"camera": "2"}, {"volume": "1"},
                      {"audiochannel": "1", "audiodeviceid": "0"}, {"audiosamplerate": "48000"}):
            r = await client.get(base(served), params=query)
            assert r.status_code == 400 and r.text.startswith("Bad request"), query
        served.params.set_internal({c.MAX_LISTENERS: "0"})
        r = await client.get(base(served))
        assert r.status_code == 503 and c.MAX_LISTENERS in r.text
        served.params.set_internal({c.MAX_LISTENERS: "20", c.INPUT_ENABLED: "no"})
        r = await client.get(base(served))
        assert r.status_code == 503 and "turned off" in r.text
    async with httpx.AsyncClient() as anonymous:
        assert (await anonymous.get(base(served))).status_code == 401
