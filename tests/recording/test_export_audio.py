"""Exports and playback of footage with sound: AAC and G.711 tracks next to H.264, written by
the real segment writer (the built-in test cameras send video only), then exported as MP4 and
Matroska and played as fragmented MP4; FFmpeg must decode both tracks cleanly, and the sound
must cover the same span as the picture."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.recording.footage import START, record
from vigil.features.recording.export import export_to_file, plan_export
from vigil.features.recording.playback import playback_layout

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
                                reason="needs ffmpeg and ffprobe")


def streams(path: Path) -> dict[str, dict]:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries",
                          "stream=codec_type,codec_name,duration,start_time,nb_read_frames:format=duration",
                          "-count_frames", "-of", "json", str(path)], capture_output=True, text=True, check=True).stdout
    data = json.loads(out)
    return {s["codec_type"]: s for s in data["streams"]} | {"format": data["format"]}


def decode_errors(path: Path) -> str:
    run = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    return run.stderr.strip() + ("" if run.returncode == 0 else f" (exit {run.returncode})")


@pytest.mark.parametrize("codec", ["AAC", "PCMU"])
def test_exports_and_playback_carry_the_sound(tmp_path: Path, codec: str) -> None:
    store, recording = record(tmp_path, codec)
    try:
        start, stop = START + 1.23, START + 4.56
        names = {"aac": "aac", "pcmu": "pcm_mulaw"}
        for fmt, ext in (("mp4", "mp4"), ("matroska", "mkv")):
            path = tmp_path / f"cut.{ext}"
            result = export_to_file(store, recording, path, start, stop, fmt)
            assert decode_errors(path) == "", fmt
            info = streams(path)
            assert info["video"]["codec_name"] == "h264" and info["audio"]["codec_name"] == names[codec.lower()]
            picture = result.stop - (result.shown_start if fmt == "mp4" else result.first_frame)
            # The sound spans the picture, to within an AAC frame (64 ms) or a G.711 packet.
            assert float(info["format"]["duration"]) == pytest.approx(picture, abs=0.08), fmt
            assert int(info["audio"]["nb_read_frames"]) > 0
        layout = playback_layout(store, recording, start, stop)
        try:
            (tmp_path / "play.mp4").write_bytes(layout.reader().read(0, layout.size))
        finally:
            layout.close()
        assert decode_errors(tmp_path / "play.mp4") == ""
        info = streams(tmp_path / "play.mp4")
        assert "audio" in info and float(info["audio"].get("start_time", 0)) == pytest.approx(0, abs=0.07)
    finally:
        store.close()


def test_a_range_inside_one_frame_exports_that_frame(tmp_path: Path) -> None:
    store, recording = record(tmp_path, "PCMU", seconds=3)
    try:
        plan = plan_export(store, recording, START + 1.001, START + 1.002, "mp4")  # within the frame at 1.0 s
        plan.layout.close()
        assert plan.frames == 1
        assert plan.shown_start == pytest.approx(START + 1.0, abs=1e-6)
        assert plan.stop == pytest.approx(START + 1.0 + 1 / 15, abs=1e-6)
    finally:
        store.close()
