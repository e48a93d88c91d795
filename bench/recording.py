#!/usr/bin/env python3
"""Recording cost: Vigil against one `ffmpeg -c copy -f segment` per camera and Frigate's method,
measured in the same run, from the same local RTSP cameras (GStreamer's RTSP server).

For each N it prints CPU-seconds per stream-hour and peak memory for each method, dropped
packets for Vigil, and Vigil's export throughput as a ratio of `cp` on the same disk.

    .venv/bin/python bench/recording.py --streams 8 16 --seconds 60
Loopback only; every process it starts is stopped at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds bench/http.py, which must not shadow the standard library's http package.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import argparse
import shutil
import signal
import subprocess
import tempfile
import textwrap
import time

import httpx
import psutil

from bench.cpu import Sampler, measure
from tests.conftest import free_port
from tests.peers.rtsp import GstCameras
from vigil.features.recording.testcams import make_clip

ADMIN = ("bench", "bench-pass")
MOVER = textwrap.dedent("""
    import os, sys, time, signal, subprocess, json, resource, re, collections
    cache, dest = sys.argv[1], sys.argv[2]
    stopping = False
    def stop(*a):
        global stopping
        stopping = True
    signal.signal(signal.SIGTERM, stop)
    def process(name):
        src = os.path.join(cache, name)
        subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of",
                        "default=noprint_wrappers=1:nokey=1", src], capture_output=True)
        subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-i", src, "-c", "copy", "-movflags",
                        "+faststart", os.path.join(dest, name)], check=False)
        os.unlink(src)
    while True:
        final = stopping
        by = collections.defaultdict(list)
        for name in os.listdir(cache):
            m = re.match(r"(cam\\d+)_(\\d+)\\.mp4$", name)
            if m:
                by[m.group(1)].append(name)
        for cam, names in by.items():
            names.sort()
            for name in (names if final else names[:-1]):
                process(name)
        if final:
            break
        time.sleep(1)
    c = resource.getrusage(resource.RUSAGE_CHILDREN)
    s = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"cpu": s.ru_utime + s.ru_stime + c.ru_utime + c.ru_stime}), flush=True)
""")


def clip(folder: Path) -> Path:
    """A 1080p30, about 4 Mbit/s, H.264 clip with one key frame per second, looped to 10 minutes."""
    short = folder / "clip-1080p30.mp4"
    long = folder / "long-1080p30.mkv"
    if not long.exists():
        if not short.exists():
            make_clip(short, 1920, 1080, 30, 10, 4_000_000)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", "59", "-i", str(short), "-c", "copy",
                        str(long)], check=True)
    return long


def run_vigil(cams: GstCameras, n: int, seconds: float, work: Path) -> dict:
    port, https = free_port(), free_port()
    data = work / "vigil-data"
    proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--data", str(data), "--host", "127.0.0.1",
                             "--http-port", str(port), "--https-port", str(https), "--rtsp-port", str(free_port())],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                httpx.get(base + "/vigil/session", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        httpx.post(base + "/axis-cgi/pwdgrp.cgi", data={"action": "add", "user": ADMIN[0], "pwd": ADMIN[1],
                                                          "grp": "users", "sgrp": "admin:operator:viewer:ptz"})
        auth = httpx.DigestAuth(*ADMIN)
        ps = psutil.Process(proc.pid)
        idle_rss = ps.memory_info().rss
        httpx.post(base + "/axis-cgi/param.cgi", auth=auth,
                   data={"action": "update", "Recording.FreeSpaceFloorMB": "0"})
        for k in range(1, n + 1):
            httpx.post(base + "/axis-cgi/recorder.cgi", auth=auth, json={
                "apiVersion": "1.0", "method": "setSource",
                "params": {"source": {"id": f"cam{k}", "name": f"Camera {k}", "url": cams.url(k)}}})

        def status() -> dict:
            return httpx.post(base + "/axis-cgi/recorder.cgi", auth=auth,
                              json={"apiVersion": "1.0", "method": "getStatus"}, timeout=10).json()["data"]

        deadline = time.time() + 60
        while len(status()["ongoing"]) < n and time.time() < deadline:
            time.sleep(0.5)
        time.sleep(3)  # past connection start-up, as the baselines' processes are
        before = status()["sources"]
        window = measure({"vigil": [ps]}, seconds, Sampler([ps]))
        after = status()["sources"]
        lost = sum(after[s]["packetsLost"] - before.get(s, {}).get("packetsLost", 0) for s in after)
        frames = sum(after[s]["frames"] - before.get(s, {}).get("frames", 0) for s in after)
        return {"cpu": window.cpu["vigil"], "wall": window.wall, "peak": window.peak, "idle": idle_rss, "lost": lost,
                "frames": frames, "data": data}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def run_ffmpeg(cams: GstCameras, n: int, seconds: float, out: Path, frigate: bool) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    cache = Path(tempfile.mkdtemp(prefix="bench-cache-", dir="/dev/shm" if Path("/dev/shm").exists() else None))
    target = cache if frigate else out
    procs = [subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i",
                               cams.url(k), "-c", "copy", "-f", "segment", "-segment_time", "10",
                               "-segment_format", "mp4", "-reset_timestamps", "1",
                               str(target / f"cam{k}_%04d.mp4")]) for k in range(1, n + 1)]
    mover = None
    if frigate:
        mover = subprocess.Popen([sys.executable, "-c", MOVER, str(cache), str(out)], stdout=subprocess.PIPE,
                                 text=True)
    try:
        time.sleep(3)
        handles = [psutil.Process(p.pid) for p in procs]
        window = measure({"ffmpeg": handles}, seconds, Sampler(handles + ([psutil.Process(mover.pid)] if mover else [])))
        cpu, wall = window.cpu["ffmpeg"], window.wall
    finally:
        for p in procs:
            p.send_signal(signal.SIGINT)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
    if mover is not None:
        mover.send_signal(signal.SIGTERM)
        line, _ = mover.communicate(timeout=120)
        import json

        # The mover's own and its children's CPU over the whole run, scaled to the measured window.
        mover_total = json.loads(line.strip().splitlines()[-1])["cpu"]
        cpu += mover_total * seconds / (seconds + 3)
    shutil.rmtree(cache, ignore_errors=True)
    return {"cpu": cpu, "wall": wall, "peak": window.peak}


def export_ratio(data: Path, work: Path) -> str:
    """Vigil's export of the longest recording against `cp` of its segment files."""
    try:
        from vigil.features.recording import export as export_module
    except ImportError:
        return "n/a (export not built)"
    import sqlite3

    db = sqlite3.connect(data / "vigil.db")
    row = db.execute("SELECT r.id, r.start, r.stop, SUM(s.bytes) FROM recordings r JOIN segments s "
                     "ON s.recording = r.id GROUP BY r.id ORDER BY SUM(s.bytes) DESC LIMIT 1").fetchone()
    paths = [p for (p,) in db.execute("SELECT path FROM segments WHERE recording=? ORDER BY start", (row[0],))]
    db.close()
    if not hasattr(export_module, "export_to_file"):
        return "n/a (export_to_file missing)"
    target = work / "export.mp4"
    t0 = time.perf_counter()
    export_module.export_to_file(data / "vigil.db", row[0], target, row[1], row[2])
    export_s = time.perf_counter() - t0
    exported = target.stat().st_size
    t0 = time.perf_counter()
    for i, p in enumerate(paths):
        shutil.copyfile(p, work / f"cp-{i}.mp4")
    cp_s = time.perf_counter() - t0
    copied = sum(Path(p).stat().st_size for p in paths)
    return f"{(exported / export_s) / (copied / cp_s):.2f} x cp ({exported / export_s / 1e6:.0f} MB/s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--streams", type=int, nargs="+", default=[8, 16, 32, 64])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--methods", nargs="+", default=["vigil", "ffmpeg", "frigate"])
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "vigil-bench-clips"
    cache.mkdir(exist_ok=True)
    source = clip(cache)
    rows = []
    for n in args.streams:
        work = Path(tempfile.mkdtemp(prefix=f"vigil-bench-{n}-"))
        cams = GstCameras(source, n).start()
        try:
            result: dict[str, dict] = {}
            if "vigil" in args.methods:
                result["vigil"] = run_vigil(cams, n, args.seconds, work)
            if "ffmpeg" in args.methods:
                result["ffmpeg"] = run_ffmpeg(cams, n, args.seconds, work / "ffmpeg", frigate=False)
            if "frigate" in args.methods:
                result["frigate"] = run_ffmpeg(cams, n, args.seconds, work / "frigate", frigate=True)
            per_hour = {m: r["cpu"] / (n * r["wall"] / 3600) for m, r in result.items()}
            line = [f"N={n:<3}"]
            for m, r in result.items():
                mem = (r["peak"] - r.get("idle", 0)) / n / 1e6
                line.append(f"{m}: {per_hour[m]:6.1f} CPU-s/stream-h, {mem:5.1f} MB/stream")
            if "vigil" in result:
                v = result["vigil"]
                line.append(f"vigil dropped packets: {v['lost']}, frames {v['frames']}")
                if "ffmpeg" in per_hour:
                    line.append(f"vigil/ffmpeg CPU ratio {per_hour['vigil'] / per_hour['ffmpeg']:.2f}")
                line.append(f"export: {export_ratio(v['data'], work)}")
            rows.append("  ".join(line))
            print(rows[-1], flush=True)
        finally:
            cams.stop()
            shutil.rmtree(work, ignore_errors=True)
    print("\n".join(["", "summary:", *rows]))


if __name__ == "__main__":
    main()
