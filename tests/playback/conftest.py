"""Fixtures of the playback tests: `clip_files`, a 1 kHz tone in each clip format (made once with
ffmpeg), `speaker`, an in-process C1410 with the simulated audio hardware, and `upload`."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx
import numpy as np
import pytest

from vigil.device import Device
from vigil.hal.audio import AUDIO_HARDWARE
from vigil.hal.sim.audio import SimulatedAudio

TONE_SECONDS = 0.3
TONE_DBFS = -12.0
# extension -> ffmpeg output options; all hold a 1 kHz tone at TONE_DBFS RMS
FORMATS = {"au": ["-ar", "16000", "-c:a", "pcm_mulaw"], "mp3": ["-b:a", "64k"], "opus": ["-c:a", "libopus"],
           "ogg": ["-c:a", "libvorbis"], "wav": ["-ar", "16000"]}


def make_tone(path: Path, frequency: float = 1000, seconds: float = TONE_SECONDS, options: list[str] = ()) -> bytes:
    amplitude = np.sqrt(2) * 10 ** (TONE_DBFS / 20)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"aevalsrc={amplitude:.5f}*sin(2*PI*{frequency}*t):s=48000:d={seconds}", "-ac", "1",
                    *options, str(path)], check=True)
    return path.read_bytes()


@pytest.fixture(scope="session")
def clip_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    folder = tmp_path_factory.mktemp("clips")
    return {ext: make_tone(folder / f"tone.{ext}", options=opts) for ext, opts in FORMATS.items()}


@pytest.fixture
def speaker(c1410: Device) -> Device:
    return c1410



def sink(device: Device) -> SimulatedAudio:
    hardware = device.hardware[AUDIO_HARDWARE]
    assert isinstance(hardware, SimulatedAudio)
    return hardware


async def upload(client: httpx.AsyncClient, data: bytes, filename: str = "tone.wav", name: str | None = None,
                 media: str = "audio") -> httpx.Response:
    params = {"action": "upload", "media": media, **({"name": name} if name else {})}
    return await client.post("/axis-cgi/mediaclip.cgi", params=params,
                             files={"file": (filename, data, "application/octet-stream")})
