#!/usr/bin/env python3
"""Export throughput against `cp` of the same footage on the same disk.

Builds a recording of MINUTES minutes of 1080p30 H.264 at about 4 Mbit/s (the stored clip
repeated) through Vigil's own segment writer, then times, each `--runs` times (median shown):

  cp          `cp` of the recording's segment files into the work folder
  mp4         export_to_file(..., "mp4"): moov from the index, samples copied file to file
  matroska    export_to_file(..., "matroska")
  mp4+aes     export_to_file(..., "mp4", password=...): OpenSSL-format AES-256-CBC, and CTR
  http mp4    GET exportrecording.cgi from a real `vigil run` on that data, written to a file,
              with the time to the first byte; also to /dev/null, and encrypted (CBC, CTR)
  http job    GET download.cgi of a finished background export (jobs.cgi startExport)
  http play   GET play.cgi of the whole recording (the fragmented MP4 a browser plays)
  ceiling     the same curl command against a minimal stdlib HTTP server (its own process) that
              only sendfile()s the plain mp4 export file: what any HTTP server reaches here

Goals (issue 13): the HTTP rows >= 0.5x cp, the encrypted HTTP rows >= 0.4x cp. Read them with
the ceiling rows: to a file, curl's own recv + write bounds every server (the ceiling itself
stays below 0.5x cp on a small machine), so the rows to /dev/null are the ones that show what
the server does; each HTTP row is given against cp and against the ceiling of its sink. The
HTTP rows also show the server's CPU seconds per GB sent, which a busy machine skews less than
wall time.

    .venv/bin/python bench/export.py                  # 60 minutes, 3 runs, warm page cache
    .venv/bin/python bench/export.py --minutes 10 --cold   # drop the page cache before each run (root)
    .venv/bin/python bench/export.py --encrypted      # the footage on an encrypted volume (AES-CTR at rest)

Everything is written under --work (default: a temporary folder on the same disk as /tmp),
which is removed at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # this folder holds bench/http.py, which must not shadow the `http` package

import argparse
import multiprocessing
import os
import shutil
import signal
import statistics
import subprocess
import tempfile
import time

import httpx

from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.core.roles import Role
from vigil.device import Ports
from vigil.features.recording.export import export_to_file
from vigil.features.recording.testcams import load_clip, make_clip
from vigil.footage import atrest, mp4
from vigil.footage.h26x import avcc
from vigil.footage.writer import FragmentJob, SegmentStore

USER = ("bench", "bench-pass-1234")
VOLUME_PASSWORD = "bench-volume-pass"
SEGMENT_SECONDS = 60


def build_recording(data: Path, minutes: int, clip_path: Path,
                    encrypted: bool = False) -> tuple[str, float, float, int]:
    """A finished recording written by SegmentStore, as a camera would have been recorded
    (on an encrypted onboard volume with `encrypted`: its key stays in this process's keyring)."""
    if not clip_path.exists():
        make_clip(clip_path, 1920, 1080, 30, 10, 4_000_000)
    clip = load_clip(clip_path)
    if encrypted:
        key = atrest.create_key(data / "recordings", VOLUME_PASSWORD)
    device = build_device("s3016", data, Ports(), Clock())
    if encrypted:  # (the storage service found the volume encrypted and locked: unlock it here)
        atrest.keyring.set(data / "recordings", key)
    device.accounts.add(*USER, Role.ADMIN, True, "", "bench")
    track = mp4.TrackInfo(1, "video", "H264", 90000, avcc(clip.sps, clip.pps), clip.width, clip.height)
    init = mp4.init_segment([track])
    gops: list[list] = []
    for frame in clip.frames:
        if frame.key or not gops:
            gops.append([])
        gops[-1].append(frame)
    start = time.time() - minutes * 60 - 60
    recording = f"{time.strftime('%Y%m%d_%H%M%S', time.gmtime(start))}_bench_000001"
    with device.store.transaction() as db:
        db.execute("INSERT INTO recordings(id, source, volume, kind, start, stop, event, width, height, video) "
                   "VALUES(?,?,?,?,?,NULL,'',?,?,'h264')",
                   (recording, "bench", "default", "continuous", start, clip.width, clip.height))
    writer = SegmentStore(device.store)
    writer.start()
    t = start
    decode = 0
    n = 0
    folder = data / "recordings" / "bench"
    while t < start + minutes * 60:
        gop = gops[n % len(gops)]
        data_units = [b"".join(len(nal).to_bytes(4, "big") + nal for nal in f.nals) for f in gop]
        durations = [f.duration for f in gop]
        fragment = mp4.fragment(n + 1, [mp4.TrackRun(1, decode, durations, [len(d) for d in data_units],
                                                     [f.key for f in gop], data_units)])
        seconds = sum(durations) / 90000
        writer.write(FragmentJob(recording, (recording, int((t - start) // SEGMENT_SECONDS)), init, fragment, t,
                                 seconds, len(gop), folder, gop[0].key))
        t += seconds
        decode += sum(durations)
        n += 1
    writer.seal(recording, t)
    writer.stop()
    total = device.store.query("SELECT SUM(bytes) FROM segments WHERE recording=?", (recording,))[0][0]
    device.close()
    return recording, start, t, total


def _mount_encrypted(base: str) -> None:
    auth = httpx.DigestAuth(*USER)
    body = {"apiVersion": "1.0", "method": "mount", "params": {"diskId": "RAID_DISK", "password": VOLUME_PASSWORD}}
    job = httpx.post(base + "/axis-cgi/storage.cgi", json=body, auth=auth).json()["data"]["job"]
    while not job["done"]:
        time.sleep(0.1)
        body = {"apiVersion": "1.0", "method": "getJob", "params": {"jobId": job["jobId"]}}
        job = httpx.post(base + "/axis-cgi/storage.cgi", json=body, auth=auth).json()["data"]["job"]
    if job["result"] != "OK":
        raise SystemExit(f"mounting the encrypted volume failed: {job['description']}")


def drop_caches() -> None:
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3\n")
    except OSError as err:
        raise SystemExit(f"--cold needs root: {err}") from None


def timed(action, cold: bool, runs: int, out_dir: Path) -> list[float]:
    out = []
    for _ in range(runs):
        for old in out_dir.iterdir():  # freeing the last run's output is not part of this one
            shutil.rmtree(old) if old.is_dir() else old.unlink()
        os.sync()
        if cold:
            drop_caches()
        t0 = time.perf_counter()
        action()
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=int, default=60)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--cold", action="store_true", help="drop the page cache before every run (root)")
    parser.add_argument("--work", type=Path, default=None)
    parser.add_argument("--no-http", action="store_true")
    parser.add_argument("--encrypted", action="store_true", help="record to an encrypted volume")
    parser.add_argument("--tree", type=Path, default=ROOT, help="serve HTTP with the `vigil` of another source "
                        "tree (A/B runs)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-export-", dir=args.work))
    cache = Path(tempfile.gettempdir()) / "vigil-bench-clips"
    cache.mkdir(exist_ok=True)
    data = work / "data"
    out = out_dir = work / "out"
    out.mkdir()
    server = None
    try:
        t0 = time.perf_counter()
        recording, start, stop, total = build_recording(data, args.minutes, cache / "clip-1080p30.mp4",
                                                        args.encrypted)
        print(f"recording: {args.minutes} min{' on an encrypted volume' if args.encrypted else ''}, "
              f"{total / 1e6:.0f} MB in segment files, "
              f"{(time.perf_counter() - t0):.1f} s to write; median of {args.runs} runs, "
              f"{'cold' if args.cold else 'warm'} page cache")
        db = data / "vigil.db"
        paths = [row.split("|")[0] for row in subprocess.run(
            ["sqlite3", str(db), f"SELECT path FROM segments WHERE recording='{recording}' ORDER BY start"],
            capture_output=True, text=True, check=True).stdout.split()]
        rows: list[tuple[str, int, list[float], str, str]] = []  # (what, bytes, times, note, http sink)

        def cp() -> None:
            target = out / "cp"
            target.mkdir()
            subprocess.run(["cp", *paths, str(target)], check=True)

        rows.append(("cp (segment files)", total, timed(cp, args.cold, args.runs, out), "", ""))
        for label, fmt, password, encryption in (
                ("mp4", "mp4", None, ""), ("matroska", "matroska", None, ""),
                ("mp4 + aes-256-cbc", "mp4", "bench password", "openssl-aes256"),
                ("mp4 + aes-256-ctr", "mp4", "bench password", "openssl-aes256-ctr")):
            results = []

            def run(fmt=fmt, password=password, encryption=encryption, results=results) -> None:
                results.append(export_to_file(db, recording, out / "export.bin", None, None, fmt, password,
                                              encryption=encryption or "openssl-aes256"))

            times = timed(run, args.cold, args.runs, out)
            plan = statistics.median(r.plan_seconds for r in results)
            rows.append((label, results[-1].bytes, times, f"index + headers {plan * 1000:.0f} ms", ""))
        if not args.no_http:
            http_port = _free_port()
            server = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--profile", "s3016", "--data", str(data),
                                       "--host", "127.0.0.1", "--http-port", str(http_port), "--https-port",
                                       str(_free_port()), "--rtsp-port", str(_free_port())],
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=args.tree)
            base = f"http://127.0.0.1:{http_port}"
            _wait_http(base)
            if args.encrypted:  # the server starts with the volume locked: mount it with its password
                _mount_encrypted(base)
            export_args = {"schemaversion": "1", "recordingid": recording, "exportformat": "mp4"}
            export = "/axis-cgi/record/export/exportrecording.cgi"
            encrypted = {**export_args, "password": "bench-password"}
            job = _finished_job(base, recording)
            ceiling_file = work / "ceiling.mp4"  # the plain mp4 export, outside the folder each run empties
            export_to_file(db, recording, ceiling_file)
            ceiling_port = _free_port()
            ceiling = multiprocessing.get_context("fork").Process(target=_sendfile_server,
                                                                  args=(ceiling_file, ceiling_port), daemon=True)
            ceiling.start()
            ceiling_base = f"http://127.0.0.1:{ceiling_port}"
            _wait_http(ceiling_base, "/")
            for label, host, pid, path, params, sink in (
                    ("ceiling: sendfile", ceiling_base, ceiling.pid, "/", {}, "file"),
                    ("  ceiling, /dev/null", ceiling_base, ceiling.pid, "/", {}, "null"),
                    ("http export mp4", base, server.pid, export, export_args, "file"),
                    ("  same, to /dev/null", base, server.pid, export, export_args, "null"),
                    ("http mp4 + aes-cbc", base, server.pid, export, {**encrypted, "encryptionformat": "openssl-aes256"},
                     "file"),
                    ("  same, to /dev/null", base, server.pid, export,
                     {**encrypted, "encryptionformat": "openssl-aes256"}, "null"),
                    ("http mp4 + aes-ctr", base, server.pid, export,
                     {**encrypted, "encryptionformat": "openssl-aes256-ctr"}, "file"),
                    ("  same, to /dev/null", base, server.pid, export,
                     {**encrypted, "encryptionformat": "openssl-aes256-ctr"}, "null"),
                    ("http job download", base, server.pid, "/axis-cgi/record/export/download.cgi", {"jobid": job},
                     "file"),
                    ("  same, to /dev/null", base, server.pid, "/axis-cgi/record/export/download.cgi",
                     {"jobid": job}, "null"),
                    ("http play (fMP4)", base, server.pid, "/axis-cgi/record/play.cgi", {"recordingid": recording},
                     "file"),
                    ("  same, to /dev/null", base, server.pid, "/axis-cgi/record/play.cgi",
                     {"recordingid": recording}, "null")):
                firsts: list[float] = []
                sizes: list[int] = []
                url = f"{host}{path}?" + "&".join(f"{k}={v}" for k, v in params.items())

                cpu: list[float] = []

                def fetch(url=url, firsts=firsts, sizes=sizes, sink=sink, cpu=cpu, pid=pid) -> None:
                    # curl, not a Python client: the client must not eat the server's CPU
                    target = str(out_dir / "http.bin") if sink == "file" else os.devnull
                    before = _cpu_seconds(pid)
                    out = subprocess.run(["curl", "-s", "-f", "--digest", "-u", ":".join(USER), "-o",
                                          target, "-w", "%{time_starttransfer} %{size_download}",
                                          url], capture_output=True, text=True, check=True).stdout.split()
                    cpu.append(_cpu_seconds(pid) - before)
                    firsts.append(float(out[0]))
                    sizes.append(int(out[1]))

                times = timed(fetch, args.cold, args.runs, out)
                rows.append((label, sizes[-1], times, f"first byte {statistics.median(firsts) * 1000:.0f} ms; "
                                                      "server CPU "
                                                      f"{statistics.median(cpu) / sizes[-1] * 1e9:.2f} s/GB", sink))
            ceiling.terminate()
        cp_rate = total / statistics.median(rows[0][2])
        ceilings = {sink: size / statistics.median(times) for label, size, times, _note, sink in rows
                    if "ceiling" in label}
        print(f"{'what':<20} {'bytes':>14} {'seconds':>8} {'MB/s':>8} {'x cp':>6} {'x ceil':>6}  note (goals: http "
              ">= 0.5x cp, encrypted http >= 0.4x cp; first byte incl. curl's Digest round trip)")
        for label, size, times, note, sink in rows:
            seconds = statistics.median(times)
            rate = size / seconds
            of_ceiling = f"{rate / ceilings[sink]:>6.2f}" if sink in ceilings else " " * 6
            print(f"{label:<20} {size:>14,} {seconds:>8.2f} {rate / 1e6:>8.0f} {rate / cp_rate:>6.2f} {of_ceiling}  "
                  f"{note}")
    finally:
        if server is not None:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        shutil.rmtree(work, ignore_errors=True)


def _sendfile_server(path: Path, port: int) -> None:
    """The ceiling: serves the file at `path` to any GET with os.sendfile, nothing else."""
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
            with open(path, "rb") as f:
                size = os.fstat(f.fileno()).st_size
                self.send_response(200)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.flush()
                at = 0
                while at < size:
                    at += os.sendfile(self.connection.fileno(), f.fileno(), at, size - at)

        def log_message(self, *args) -> None:
            pass

    http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (a figure the machine's load does not skew
    the way it skews wall time)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _finished_job(base: str, recording: str) -> int:
    """A background export of the whole recording (jobs.cgi), waited for; its id."""
    auth = httpx.DigestAuth(*USER)
    body = {"apiVersion": "1.0", "method": "startExport", "params": {"recordingId": recording, "format": "mp4"}}
    job = httpx.post(base + "/axis-cgi/record/export/jobs.cgi", json=body, auth=auth, timeout=30).json()["data"]["job"]
    while job["status"] == "running":
        time.sleep(0.2)
        body = {"apiVersion": "1.0", "method": "getExport", "params": {"jobId": job["jobId"]}}
        job = httpx.post(base + "/axis-cgi/record/export/jobs.cgi", json=body, auth=auth).json()["data"]["job"]
    if job["status"] != "done":
        raise SystemExit(f"the background export failed: {job}")
    return job["jobId"]


def _wait_http(base: str, path: str = "/vigil/session", timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.head(base + path, timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.2)
    raise SystemExit("vigil did not start")


if __name__ == "__main__":
    main()
