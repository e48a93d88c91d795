"""Snapshot cost: one camera key frame decoded and encoded as JPEG (snapshot.py), and many
viewers of one key frame at once.

    .venv/bin/python bench/snapshot.py          # 720p and 1080p test-pattern key frames
    .venv/bin/python bench/snapshot.py -n 50    # more rounds

For each size, a test clip (H.264, 4 Mbit/s) is made once in a temporary folder; its first key
frame goes to `Snapshots` as the ingest hands it over. Printed: the median time of one JPEG
(decode + scale + encode, in the worker thread), its size, and the wall time of 100 requests of
the same key frame at once with the number of JPEGs they made (the cache: one).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

# Run as a script, this file's folder is first on sys.path, where bench/http.py would hide the
# standard library's `http` package: drop the folder, and put the project root there instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from vigil.features.recording.rtp import AccessUnit  # noqa: E402
from vigil.features.recording.snapshot import JpegOptions, KeyFrame, Snapshots, encode_jpeg  # noqa: E402
from vigil.features.recording.testcams import load_clip, make_clip  # noqa: E402

SIZES = ((1280, 720), (1920, 1080))


def key_frame(folder: Path, width: int, height: int) -> KeyFrame:
    path = folder / f"clip-{width}x{height}.mp4"
    make_clip(path, width, height, 15, 2, 4_000_000)
    clip = load_clip(path)
    frame = next(f for f in clip.frames if f.key)
    unit = AccessUnit(0, b"".join(len(n).to_bytes(4, "big") + n for n in frame.nals), True)
    return KeyFrame(1, "H264", (b"", clip.sps, clip.pps), unit, 0.0)


async def viewers(frame: KeyFrame, count: int) -> tuple[float, int]:
    snapshots = Snapshots()
    snapshots.seen("camera", frame.codec, frame.params, frame.unit, 0.0)
    start = time.perf_counter()
    await asyncio.gather(*(snapshots.jpeg("camera") for _ in range(count)))
    return time.perf_counter() - start, snapshots.encodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=20, help="rounds per size")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for width, height in SIZES:
            frame = key_frame(Path(tmp), width, height)
            encode_jpeg(frame, JpegOptions())  # loads the codecs
            times = []
            for _ in range(args.n):
                start = time.perf_counter()
                jpeg, _w, _h = encode_jpeg(frame, JpegOptions())
                times.append(time.perf_counter() - start)
            wall, encodes = asyncio.run(viewers(frame, 100))
            print(f"{width}x{height}: one JPEG {statistics.median(times) * 1000:.1f} ms (median of {args.n}), "
                  f"{len(jpeg) // 1024} KiB; 100 viewers at once {wall * 1000:.1f} ms, {encodes} JPEG made")


if __name__ == "__main__":
    main()
