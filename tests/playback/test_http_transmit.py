"""transmit.cgi on a served C1410: the ffmpeg command Home Assistant users run (a WAV stream of
µ-law at 16 kHz, `audio/axis-mulaw-128`) plays at the sink as it arrives, and so does raw
`audio/basic`; the stream takes the speaker from a clip, a second stream at once gets 503, and
what the speaker cannot play gets an error."""

from __future__ import annotations

import asyncio
import struct

import httpx
import numpy as np

from tests.conftest import ADMIN, eventually
from tests.playback.conftest import TONE_DBFS, make_tone, sink, upload
from vigil.device import Device
from vigil.features.playback.decode import MULAW
from vigil.features.playback.service import PLAYBACK_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency, level_dbfs, tone

TRANSMIT = "/axis-cgi/audio/transmit.cgi"


def mulaw(samples: np.ndarray) -> bytes:
    """Encode by the nearest table entry (the table is what the device decodes with)."""
    order = np.argsort(MULAW)
    index = np.clip(np.searchsorted(MULAW[order], samples), 0, 255)
    return order[index].astype(np.uint8).tobytes()


async def test_home_assistants_ffmpeg_command_plays_at_the_sink(served: Device, tmp_path):
    source = make_tone(tmp_path / "say.mp3", 1000, 1.0)
    url = f"http://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{served.ports.http}{TRANSMIT}"
    proc = await asyncio.create_subprocess_exec(
        "ffmpeg", "-v", "error", "-i", str(tmp_path / "say.mp3"), "-c:a", "pcm_mulaw", "-ac", "1", "-ar", "16000",
        "-f", "wav", "-chunked_post", "0", "-content_type", "audio/axis-mulaw-128", url,
        stderr=asyncio.subprocess.PIPE)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 0, err.decode()
    assert source
    # ffmpeg does not wait for the reply: the speaker goes on with what was sent
    player = served.features[PLAYBACK_SERVICE].player
    await eventually(lambda: len(sink(served).sink_samples()) > RATE * 0.9 and not player.live, 10, "the stream played")
    heard = audible(sink(served).sink_samples(), -60.0)
    assert abs(len(heard) / RATE - 1.0) < 0.06
    assert abs(dominant_frequency(heard) - 1000) < 20 and abs(level_dbfs(heard) - TONE_DBFS) < 1.0


async def test_raw_mulaw_plays_and_a_stream_takes_the_speaker_from_a_clip(served: Device, tmp_path):
    player = served.features[PLAYBACK_SERVICE].player
    base = f"http://127.0.0.1:{served.ports.http}"
    auth = httpx.DigestAuth(*ADMIN)
    async with httpx.AsyncClient(base_url=base, auth=auth, timeout=20) as client:
        await upload(client, make_tone(tmp_path / "long.wav", 500, 10.0))
        await client.get("/axis-cgi/mediaclip.cgi", params={"action": "play", "clip": "0"})
        await eventually(lambda: player.playing_clip == "0", 5, "the clip to play")
        talk = mulaw(tone(2000, 0.6, -12.0, rate=8000))
        started = asyncio.Event()

        async def slowly():
            for at in range(0, len(talk), 800):  # 100 ms pieces, at real time
                yield talk[at:at + 800]
                started.set()
                await asyncio.sleep(0.1)
        stream = asyncio.create_task(client.post(TRANSMIT, content=slowly(),
                                                 headers={"content-type": "audio/basic"}))
        await started.wait()
        # the stream holds the speaker, and the clip stopped
        await eventually(lambda: player.live and player.playing_clip is None, 5, "the stream to take the speaker")
        busy = await client.post(TRANSMIT, content=talk, headers={"content-type": "audio/basic"})
        assert busy.status_code == 503 and "another live audio stream" in busy.text
        refused = await client.get("/axis-cgi/mediaclip.cgi", params={"action": "play", "clip": "0"})
        assert refused.status_code == 400 and "live audio stream" in refused.text
        assert (await stream).status_code == 204
        assert not player.live
        tail = sink(served).sink_samples()[-int(0.5 * RATE):]
        assert abs(dominant_frequency(tail) - 2000) < 30 and abs(level_dbfs(tail) + 12.0) < 1.0


async def test_what_the_speaker_cannot_play_is_refused(served: Device):
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{served.ports.http}", auth=httpx.DigestAuth(*ADMIN),
                                 timeout=10) as client:
        wrong = await client.post(TRANSMIT, content=b"\xff" * 800, headers={"content-type": "audio/mpeg"})
        assert wrong.status_code == 415 and "audio/basic or audio/axis-mulaw-128" in wrong.text
        fmt = struct.pack("<HHIIHH", 7, 2, 16000, 32000, 2, 8)
        stereo = b"RIFF\xff\xff\xff\xffWAVEfmt " + struct.pack("<I", 16) + fmt + b"data\xff\xff\xff\xff" + b"\xff" * 64
        refused = await client.post(TRANSMIT, content=stereo, headers={"content-type": "audio/axis-mulaw-128"})
        assert refused.status_code == 400 and "send mono" in refused.text
        assert (await client.get(TRANSMIT)).status_code == 405  # a stream is POSTed
    assert len(sink(served).sink_samples()) == 0
