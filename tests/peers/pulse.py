"""A PulseAudio server of its own for tests: a null sink `vigil_out` whose monitor source
(`vigil_out.monitor`) serves as the microphone; it hears exactly what the sink plays. The
`pulse_server` fixture (one per module) skips where pulseaudio is not installed."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

SINK = "vigil_out"
SOURCE = f"{SINK}.monitor"


@dataclass
class PulsePeer:
    server: str  # the PULSE_SERVER value
    process: subprocess.Popen
    folder: Path

    def env(self) -> dict[str, str]:
        return {**os.environ, "PULSE_SERVER": self.server}

    async def record(self, seconds: float) -> np.ndarray:
        """What the monitor source hears for `seconds` (mono s16 at 48 kHz)."""
        process = await asyncio.create_subprocess_exec(
            "parec", f"--device={SOURCE}", "--raw", "--format=s16le", "--rate=48000", "--channels=1",
            "--latency-msec=20", env=self.env(), stdout=asyncio.subprocess.PIPE)
        assert process.stdout is not None
        try:
            data = await process.stdout.readexactly(int(seconds * 48000) * 2)
        finally:
            process.terminate()
            await process.wait()
        return np.frombuffer(data, "<i2").astype(np.int16)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def available() -> bool:
    return all(shutil.which(tool) for tool in ("pulseaudio", "pacat", "parec", "pactl"))


def start() -> PulsePeer:
    folder = Path(tempfile.mkdtemp(prefix="vigil-pulse-"))
    socket = folder / "native"
    env = {**os.environ, "XDG_RUNTIME_DIR": str(folder), "HOME": str(folder)}
    process = subprocess.Popen(
        ["pulseaudio", "--daemonize=no", "-n", "--exit-idle-time=-1", "--disallow-exit", "--use-pid-file=no",
         "--system=no", "-L", f"module-null-sink sink_name={SINK} rate=48000 channels=1",
         "-L", f"module-native-protocol-unix socket={socket} auth-anonymous=1"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peer = PulsePeer(f"unix:{socket}", process, folder)
    for _ in range(100):
        if process.poll() is not None:
            err = process.stderr.read().decode() if process.stderr else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"pulseaudio did not start: {err[-500:]}")
        with contextlib.suppress(subprocess.SubprocessError):
            if subprocess.run(["pactl", "info"], env=peer.env(), capture_output=True, timeout=2).returncode == 0:
                return peer
        time.sleep(0.05)  # the daemon starts in another process: poll its socket
    peer.stop()
    raise RuntimeError("pulseaudio did not answer within 5 s")


@pytest.fixture(scope="module")
def pulse_server() -> Iterator[PulsePeer]:
    if not available():
        pytest.skip("pulseaudio and pulseaudio-utils are not installed (make debs)")
    peer = start()
    yield peer
    peer.stop()
