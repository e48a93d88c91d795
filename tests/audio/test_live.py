"""The microphone's live stream on the RTSP server: ffmpeg plays it (g711, aac, opus; TCP and
UDP) and hears the tone fed to the microphone, the input gain applies, a stream of an input that
is off is refused, and each client gets RTCP sender reports that map its RTP time to the clock."""

from __future__ import annotations

import asyncio
import struct
import time

import httpx
import numpy as np
import pytest

from tests.conftest import ADMIN, add_account
from tests.rtsp.test_relay import FakeOutlet
from vigil.device import Device
from vigil.features.audio import const as c
from vigil.features.audio.detection import AUDIO_DETECTION
from vigil.features.audio.live import CODECS, LiveAudio, LiveAudioMount
from vigil.features.audio.service import AUDIO_SERVICE
from vigil.hal.audio import AUDIO_HARDWARE, BLOCK, RATE, dominant_frequency, level_dbfs, tone
from vigil.rtsp.protocol import RtspError


def url(device: Device, query: str = "audio=1") -> str:
    return f"rtsp://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{device.ports.rtsp}/axis-media/media.amp?{query}"


async def ffmpeg_listen(source: str, transport: str, seconds: float = 1.5) -> tuple[np.ndarray, str]:
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-rtsp_transport", transport, "-i", source, "-t", str(seconds), "-ac", "1",
        "-ar", str(RATE), "-f", "s16le", "-", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    return np.frombuffer(out, "<i2").astype(np.int16), err.decode()


@pytest.mark.parametrize("codec,transport", [("g711", "tcp"), ("aac", "udp"), ("opus", "tcp")])
async def test_ffmpeg_hears_the_microphone_in_each_encoding(served: Device, codec: str, transport: str):
    served.params.set_internal({c.ENCODING: codec, c.INPUT_GAIN: "6"})
    served.hardware[AUDIO_HARDWARE].feed(tone(1000, 8.0, -26.0))
    heard, errors = await ffmpeg_listen(url(served), transport)
    assert len(heard) >= RATE  # at least a second of audio
    middle = heard[RATE // 4:-RATE // 4]
    assert abs(dominant_frequency(middle) - 1000) < 20
    assert abs(level_dbfs(middle) - -20.0) < 1.5  # the input gain applied
    # the stream stopped listening with the last client; audio detection listens on
    assert served.features[AUDIO_SERVICE].listeners == [served.features[AUDIO_DETECTION].on_block]


async def test_the_stream_codec_follows_the_encoding_setting_and_the_request(served: Device):
    async def codec_of(query: str) -> str:
        proc = await asyncio.create_subprocess_exec(
            "ffprobe", "-v", "error", "-rtsp_transport", "tcp", "-show_entries", "stream=codec_name,sample_rate",
            "-of", "csv=p=0", url(served, query), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 30)
        assert proc.returncode == 0, err.decode()
        return out.decode().strip()

    assert await codec_of("audio=1") == "pcm_mulaw,8000"
    served.params.set_internal({c.ENCODING: "aac"})
    assert await codec_of("audio=1") == "aac,16000"
    assert await codec_of("audio=1&audiocodec=opus") == "opus,48000"


async def test_no_stream_of_an_input_that_is_off(served: Device):
    served.params.set_internal({c.INPUT_ENABLED: "no"})
    proc = await asyncio.create_subprocess_exec(
        "ffprobe", "-v", "error", "-rtsp_transport", "tcp", url(served), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode != 0
    assert "503" in err.decode()


async def test_each_client_gets_rtp_numbered_for_it_and_sender_reports(speaker: Device):
    service = speaker.features[AUDIO_SERVICE]
    now = [100.0]
    live = LiveAudio(service, CODECS["g711"], wall_clock=time.time, monotonic=lambda: now[0])
    outlet = FakeOutlet(ssrc=0x1234ABCD, seq=65534, ts_base=4_000_000_000)
    client = live.add(outlet)
    for _ in range(3):
        live.on_block(tone(1000, BLOCK / RATE))
    now[0] += 6  # past the report interval
    for _ in range(2):
        live.on_block(tone(1000, BLOCK / RATE))
    client.stop()
    assert service.listeners == []
    headers = [struct.unpack("!BBHII", p[:12]) for p in outlet.got]
    assert [h[2] for h in headers] == [65534, 65535, 0, 1]  # the sequence wraps
    assert [h[3] - outlet.ts_base for h in headers] == [0, 160, 320, 480]  # 20 ms at 8 kHz each
    assert headers[0][1] == 0x80 and headers[1][1] == 0  # marker on the first packet, payload type 0
    assert all(h[4] == outlet.ssrc for h in headers) and all(len(p) == 12 + 160 for p in outlet.got)
    assert len(outlet.reports) == 2  # with the first packet, and after the interval
    v, pt, length, ssrc, ntp_s, ntp_f, rtp_ts, count, octets = struct.unpack("!BBHIIIIII", outlet.reports[1])
    assert (v, pt, length, ssrc) == (0x80, 200, 6, outlet.ssrc)
    assert abs(ntp_s + ntp_f / 2 ** 32 - 2_208_988_800 - time.time()) < 5
    assert (rtp_ts - outlet.ts_base) & 0xFFFFFFFF == 320 and count == 3 and octets == 480  # the resampler's delay


async def test_the_simulation_api_feeds_the_microphone_and_reads_the_speaker(served: Device):
    base = f"http://127.0.0.1:{served.ports.http}/vigil/sim/audio"
    auth = httpx.DigestAuth(*ADMIN)
    async with httpx.AsyncClient(auth=auth) as client:
        fed = (await client.post(base, json={"tone": {"frequency": 700, "seconds": 3, "level": -20}})).json()
        assert fed["microphone"]["queuedSeconds"] == 3.0
        heard, _ = await ffmpeg_listen(url(served), "tcp", 1.0)
        assert abs(dominant_frequency(heard[RATE // 4:]) - 700) < 20
        await served.hardware[AUDIO_HARDWARE].play(tone(1000, 0.5, -10.0))
        sink = (await client.get(base)).json()["sink"]
        assert sink["audibleSeconds"] == 0.5 and abs(sink["levelDbfs"] - -10.0) < 0.2
        assert abs(sink["frequencyHz"] - 1000) < 5
        cleared = (await client.post(base, json={"clearSink": True})).json()
        assert cleared["sink"]["seconds"] == 0
        for body in (b'{"tone": {"frequency": 0, "seconds": 1, "level": -20}}', b'{"tone": "loud"}', b'{"play": 1}',
                     b'{"clearSink": false}', b'{"tone": {"frequency": 440, "seconds": 1e999, "level": -20}}', b"["):
            reply = await client.post(base, content=body)
            assert reply.status_code == 400 and "bad simulation request" in reply.text, body
    async with httpx.AsyncClient(auth=httpx.DigestAuth("viewer1", "view1234")) as client:
        add_account(served, "viewer1", "view1234", "viewer")
        assert (await client.get(base)).status_code in (401, 403)


def test_which_queries_the_microphone_answers(speaker: Device):
    mount = LiveAudioMount(speaker.features[AUDIO_SERVICE], time.time, time.monotonic)
    for query, codec in (({}, "g711"), ({"audio": "1"}, "g711"), ({"audiocodec": "aac"}, "aac"),
                         ({"audio": "1", "event": "on"}, "g711"), ({"audio": "1", "audiocodec": "opus"}, "opus")):
        [track] = mount(query)
        assert track.media == "audio" and track.live.codec.name == codec, query
    for query in ({"event": "on"}, {"camera": "1"}, {"audio": "0"}, {"camera": "1", "audio": "1"}):
        assert mount(query) == [], query
    for query, status in (({"audio": "yes"}, 400), ({"audiocodec": "mp3"}, 400)):
        with pytest.raises(RtspError) as refused:
            mount(query)
        assert refused.value.status == status
    speaker.params.set_internal({c.INPUT_ENABLED: "no"})
    with pytest.raises(RtspError, match="turned off"):
        mount({})
