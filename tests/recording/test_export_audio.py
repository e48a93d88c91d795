"""Exports and playback of footage with sound: AAC and G.711 tracks next to H.264, written by
the real segment writer (the built-in test cameras send video only), then exported as MP4 and
Matroska and played as fragmented MP4; FFmpeg must decode both tracks cleanly, and the sound
must cover the same span as the picture."""

from __future__ import annotations

import json
import math
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from vigil.core.store import Store
from vigil.features.recording.export import export_to_file, plan_export
from vigil.features.recording.playback import playback_layout
from vigil.features.recording.testcams import load_clip, make_clip
from vigil.footage import mp4
from vigil.footage.h26x import avcc
from vigil.footage.writer import FragmentJob, SegmentStore

pytestmark = pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("ffprobe")),
                                reason="needs ffmpeg and ffprobe")
RATE = {"AAC": 16000, "PCMU": 8000}
START = 1_790_000_000.0


def aac_packets(count: int) -> tuple[bytes, list[bytes]]:
    import av

    codec = av.CodecContext.create("aac", "w")
    codec.sample_rate, codec.layout, codec.format, codec.bit_rate = 16000, "mono", "fltp", 32000
    packets: list[bytes] = []
    n = 0
    while len(packets) < count:
        frame = av.AudioFrame(format="fltp", layout="mono", samples=1024)
        frame.sample_rate, frame.pts = 16000, n * 1024
        frame.planes[0].update(struct.pack("<1024f", *[0.3 * math.sin((n * 1024 + i) * 0.05) for i in range(1024)]))
        packets += [bytes(p) for p in codec.encode(frame)]
        n += 1
    return bytes(codec.extradata), packets[:count]


def record(tmp: Path, codec: str, seconds: int = 6) -> tuple[Store, str]:
    clip_path = tmp / "clip.mp4"
    make_clip(clip_path, 320, 240, 15, 2, 200_000)
    clip = load_clip(clip_path)
    rate = RATE[codec]
    frame_samples = 1024 if codec == "AAC" else 160  # an AAC frame; 20 ms of G.711
    audio_frames = seconds * rate // frame_samples + 2
    config, packets = aac_packets(audio_frames) if codec == "AAC" else (b"", [os.urandom(160)] * audio_frames)
    tracks = [mp4.TrackInfo(1, "video", "H264", 90000, avcc(clip.sps, clip.pps), clip.width, clip.height),
              mp4.TrackInfo(2, "audio", codec, rate, config, channels=1, sample_rate=rate)]
    init = mp4.init_segment(tracks)
    store = Store(tmp / "vigil.db")
    recording = "20260926_000000_mic_000001"
    with store.transaction() as db:
        db.execute("INSERT INTO recordings(id, source, volume, kind, start, stop, event, width, height, video, audio) "
                   "VALUES(?,?,?,?,?,NULL,'',?,?,'h264',?)",
                   (recording, "mic", "default", "manual", START, clip.width, clip.height, codec.lower()))
    writer = SegmentStore(store)
    writer.start()
    gops: list[list] = []
    for frame in clip.frames:
        if frame.key or not gops:
            gops.append([])
        gops[-1].append(frame)
    video_time = audio_time = 0
    audio_index = 0
    for n in range(seconds):
        gop = gops[n % len(gops)]
        units = [b"".join(len(nal).to_bytes(4, "big") + nal for nal in f.nals) for f in gop]
        durations = [f.duration for f in gop]
        end = (video_time + sum(durations)) * rate // 90000
        audio = []
        while audio_time + len(audio) * frame_samples < end and audio_index < len(packets):
            audio.append(packets[audio_index])
            audio_index += 1
        runs = [mp4.TrackRun(1, video_time, durations, [len(u) for u in units], [f.key for f in gop], units),
                mp4.TrackRun(2, audio_time, [frame_samples] * len(audio), [len(a) for a in audio], [True] * len(audio),
                             audio)]
        writer.write(FragmentJob(recording, (recording, n // 3), init, mp4.fragment(n + 1, runs),
                                 START + video_time / 90000, sum(durations) / 90000, len(gop), tmp / "footage",
                                 gop[0].key))
        video_time += sum(durations)
        audio_time += len(audio) * frame_samples
    writer.seal(recording, START + video_time / 90000)
    writer.stop()
    return store, recording


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
