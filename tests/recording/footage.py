"""Footage without a camera: a recording written through Vigil's own segment writer from the
generated test clip, with AAC or G.711 sound, for the export and export-job tests."""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path

from vigil.core.store import Store
from vigil.features.recording.testcams import load_clip, make_clip
from vigil.footage import mp4
from vigil.footage.h26x import avcc
from vigil.footage.writer import FragmentJob, SegmentStore

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


def record(tmp: Path, codec: str, seconds: int = 6, store: Store | None = None,
           recording: str = "20260926_000000_mic_000001", source: str = "mic", start: float = START,
           footage: Path | None = None) -> tuple[Store, str]:
    """A finished recording of `seconds` of 320x240 H.264 with `codec` sound (AAC or PCMU), written
    by the segment writer into `store` (a new one in `tmp` by default); footage in `footage`
    (tmp/footage by default). Each second is one fragment starting with a key frame (15 frames)."""
    clip_path = tmp / "clip.mp4"
    if not clip_path.exists():
        make_clip(clip_path, 320, 240, 15, 2, 200_000)
    clip = load_clip(clip_path)
    rate = RATE[codec]
    frame_samples = 1024 if codec == "AAC" else 160  # an AAC frame; 20 ms of G.711
    audio_frames = seconds * rate // frame_samples + 2
    config, packets = aac_packets(audio_frames) if codec == "AAC" else (b"", [os.urandom(160)] * audio_frames)
    tracks = [mp4.TrackInfo(1, "video", "H264", 90000, avcc(clip.sps, clip.pps), clip.width, clip.height),
              mp4.TrackInfo(2, "audio", codec, rate, config, channels=1, sample_rate=rate)]
    init = mp4.init_segment(tracks)
    store = store or Store(tmp / "vigil.db")
    folder = footage or tmp / "footage"
    with store.transaction() as db:
        db.execute("INSERT INTO recordings(id, source, volume, kind, start, stop, event, width, height, video, audio) "
                   "VALUES(?,?,?,?,?,NULL,'',?,?,'h264',?)",
                   (recording, source, "default", "manual", start, clip.width, clip.height, codec.lower()))
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
                                 start + video_time / 90000, sum(durations) / 90000, len(gop), folder,
                                 gop[0].key))
        video_time += sum(durations)
        audio_time += len(audio) * frame_samples
    writer.seal(recording, start + video_time / 90000)
    writer.stop()
    return store, recording
