"""Real RTSP cameras for tests: GStreamer's RTSP server playing a generated clip."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

from tests.conftest import free_port
from vigil.features.recording.testcams import make_clip

SCRIPT = Path(__file__).parent / "peers" / "gst_rtsp_cams.py"


def make_long_mkv(folder: Path, width: int = 640, height: int = 360, fps: int = 15, loops: int = 20,
                  bitrate: int = 500_000) -> Path:
    """A clip of `loops` x 6 s, H.264 without B-frames, one key frame per second."""
    clip = folder / f"clip-{width}x{height}-{fps}.mp4"
    long = folder / f"long-{width}x{height}-{fps}-{loops}.mkv"
    if not long.exists():
        if not clip.exists():
            make_clip(clip, width, height, fps, 6, bitrate)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops - 1), "-i", str(clip), "-c", "copy",
                        str(long)], check=True)
    return long


class GstCameras:
    def __init__(self, clip: Path, count: int, port: int | None = None, user: str | None = None,
                 password: str | None = None) -> None:
        self.clip = clip
        self.count = count
        self.port = port or free_port()
        self.user = user
        self.password = password
        self.process: subprocess.Popen | None = None

    def url(self, number: int) -> str:
        return f"rtsp://127.0.0.1:{self.port}/cam{number}"

    def start(self) -> GstCameras:
        cmd = ["/usr/bin/python3", str(SCRIPT), "--port", str(self.port), "--n", str(self.count),
               "--file", str(self.clip)]
        if self.user:
            cmd += ["--user", self.user, "--password", self.password or ""]
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "READY" not in line:
            raise RuntimeError(f"GStreamer RTSP server did not start: {line} {self.process.stderr.read()}")
        time.sleep(0.2)
        return self

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
