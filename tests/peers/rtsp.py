"""Real RTSP cameras for tests: GStreamer's RTSP server playing a generated clip, and the clip
(the `clip` fixture, made once a session)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.peers.processes import free_port, stop_process
from vigil.features.recording.testcams import make_clip

SCRIPT = Path(__file__).parent / "gst_rtsp_cams.py"


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


@pytest.fixture(scope="session")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The default `make_long_mkv` clip, for GstCameras."""
    return make_long_mkv(tmp_path_factory.mktemp("clips"))


class GstCameras:
    def __init__(self, clip: Path, count: int, port: int | None = None, user: str | None = None,
                 password: str | None = None, codec: str = "h264", audio: str = "none", shared: bool = True) -> None:
        self.shared = shared  # False: each client plays the file from its start in a pipeline of its own
        self.codec = codec
        self.audio = audio
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
               "--file", str(self.clip), "--codec", self.codec, "--audio", self.audio]
        if self.user:
            cmd += ["--user", self.user, "--password", self.password or ""]
        if not self.shared:
            cmd.append("--unshared")
        self.process = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if "READY" not in line:
            raise RuntimeError(f"GStreamer RTSP server did not start: {line} {self.process.stderr.read()}")
        time.sleep(0.2)
        return self

    def stop(self) -> None:
        stop_process(self.process)


def gst_cameras(clip: Path, count: int = 1, **options) -> Iterator[GstCameras]:
    """GstCameras started for a fixture (`yield from`), stopped after it."""
    cams = GstCameras(clip, count, **options).start()
    try:
        yield cams
    finally:
        cams.stop()


def make_av_clip(folder: Path, codec: str = "h265", audio: str = "aac", seconds: int = 6, fps: int = 15,
                 width: int = 640, height: int = 360) -> Path:
    """An MKV with H.264 or H.265 video (one key frame per second, no B-frames) and AAC audio."""
    import av

    path = folder / f"av-{codec}-{audio}-{width}x{height}.mkv"
    if path.exists():
        return path
    video_in = av.open(f"testsrc2=size={width}x{height}:rate={fps}", format="lavfi")
    audio_in = av.open("sine=frequency=440:sample_rate=48000", format="lavfi")
    out = av.open(str(path), "w")
    v = out.add_stream("libx265" if codec == "h265" else "libx264", rate=fps)
    v.width, v.height, v.pix_fmt = width, height, "yuv420p"
    v.codec_context.gop_size = fps
    v.codec_context.max_b_frames = 0
    v.codec_context.options = ({"preset": "ultrafast", "x265-params": f"keyint={fps}:min-keyint={fps}:bframes=0:"
                                "log-level=error"} if codec == "h265" else {"preset": "ultrafast", "bf": "0"})
    a = out.add_stream("aac", rate=48000) if audio == "aac" else None
    for n, frame in enumerate(video_in.decode(video=0)):
        if n >= fps * seconds:
            break
        frame.pict_type = 0
        for packet in v.encode(frame):
            out.mux(packet)
    for packet in v.encode():
        out.mux(packet)
    if a is not None:
        samples = 0
        for frame in audio_in.decode(audio=0):
            if samples >= 48000 * seconds:
                break
            samples += frame.samples
            frame.pts = None
            for packet in a.encode(frame):
                out.mux(packet)
        for packet in a.encode():
            out.mux(packet)
    out.close()
    video_in.close()
    audio_in.close()
    return path
