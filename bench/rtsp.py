#!/usr/bin/env python3
"""Live relay and replay: cost and latency of Vigil's RTSP server against GStreamer's RTSP server
(gst-rtsp-server) serving the same 1080p30 stream, in the same run.

One GStreamer RTSP camera plays the clip; Vigil records it. Three phases of `--seconds` each,
CPU of both server processes measured in each:
  A. Vigil records, nobody watches (the camera serves one client: Vigil's ingest);
  B. N clients play Vigil's relay (`/axis-media/media.amp?camera=1`);
  C. N clients play the camera's GStreamer server directly (Vigil still records).
Relay cost per stream = (Vigil B - Vigil A) / N; GStreamer's = (camera C - camera A) / N. The
clients are `ffmpeg -rtsp_transport tcp -i URL -c copy -f null -`.
Before the phases, the relay's own packet work against packetizing the frames again (the other
way to relay), per second of video. Latency added: two raw RTSP clients in this process, one on the relay, one on the camera,
receive the same RTP payloads (the relay rewrites headers only); the difference of arrival
times of each payload, over --seconds.
Replay, once Vigil has recorded a while (its first recording, as record/list.cgi gives its id):
  R. N ffmpeg clients replay it (`?recordingid=ID`, paced at 1x) from Vigil, then N play the
     same file from a GStreamer RTSP server with a pipeline per client (unshared media: a file
     server); replay cost per stream = (Vigil R - Vigil A) / N, GStreamer's = its CPU / N;
  S. 16 concurrent replays by raw clients in this process over --seconds: Vigil's CPU per
     stream, sequence gaps, and frame-time gaps (two frames further apart than 1.5 frame times
     where the server marked no end of a section);
  F. time to first frame: DESCRIBE to the first whole frame of a replay from a random place, 100 times.

    .venv/bin/python bench/rtsp.py --clients 4 --seconds 20
Loopback only; every process it starts is stopped at the end.
"""

from __future__ import annotations

import sys
from pathlib import Path

# This folder holds bench/http.py, which must not shadow the standard library's http package.
ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)

import argparse
import asyncio
import hashlib
import random
import re
import signal
import statistics
import struct
import subprocess
import tempfile
import time
from urllib.parse import urlsplit

import httpx
import psutil

from bench.cpu import Span, measure
from bench.recording import clip
from tests.conftest import free_port
from tests.peers.rtp_reader import E, extension
from tests.peers.rtsp import GstCameras
from tests.peers.rtsp_client import RtspClient, control_url
from vigil.features.recording.ingest import LIVE_PASS_INTERVAL
from vigil.features.recording.testcams import load_clip
from vigil.rtsp.packetize import packetize
from vigil.rtsp.protocol import rtp_packet
from vigil.rtsp.relay import RtpRelay

ADMIN = ("bench", "bench-pass")


def start_vigil(work: Path, camera: str) -> tuple[subprocess.Popen, str, str]:
    http, rtsp = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "vigil", "run", "--data", str(work / "vigil-data"), "--host",
                             "127.0.0.1", "--http-port", str(http), "--https-port", str(free_port()), "--rtsp-port",
                             str(rtsp)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{http}"
    for _ in range(200):
        try:
            httpx.get(base + "/vigil/session", timeout=1)
            break
        except httpx.TransportError:
            time.sleep(0.1)
    httpx.post(base + "/axis-cgi/pwdgrp.cgi", data={"action": "add", "user": ADMIN[0], "pwd": ADMIN[1],
                                                      "grp": "users", "sgrp": "admin:operator:viewer:ptz"})
    auth = httpx.DigestAuth(*ADMIN)
    httpx.post(base + "/axis-cgi/param.cgi", auth=auth, data={"action": "update", "Recording.FreeSpaceFloorMB": "0"})
    httpx.post(base + "/axis-cgi/recorder.cgi", auth=auth, json={
        "apiVersion": "1.0", "method": "setSource", "params": {"source": {"id": "cam1", "name": "Camera 1", "url": camera}}})
    deadline = time.time() + 60
    while time.time() < deadline:
        status = httpx.post(base + "/axis-cgi/recorder.cgi", auth=auth,
                            json={"apiVersion": "1.0", "method": "getStatus"}, timeout=10).json()["data"]
        if status["ongoing"]:
            break
        time.sleep(0.5)
    time.sleep(3)
    return proc, f"rtsp://{ADMIN[0]}:{ADMIN[1]}@127.0.0.1:{rtsp}/axis-media/media.amp?camera=1", base


def clients(url: str, n: int) -> list[subprocess.Popen]:
    return [subprocess.Popen(["ffmpeg", "-nostdin", "-loglevel", "error", "-rtsp_transport", "tcp", "-i", url, "-c",
                              "copy", "-f", "null", "-"]) for _ in range(n)]


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGINT)
    for p in procs:
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()


def cores(procs: dict[str, psutil.Process], seconds: float) -> dict[str, float]:
    """The share of a core each process uses over `seconds`."""
    window = measure({k: [p] for k, p in procs.items()}, seconds)
    return {k: window.cores(k) for k in procs}


async def arrivals(url: str, seconds: float, out: dict[bytes, list[float]]) -> None:
    """Arrival times of each video RTP payload (by digest) on one raw interleaved client (the
    clip loops: a payload comes again every loop)."""
    parts = urlsplit(url)
    bare = url.replace(f"{parts.username}:{parts.password}@", "") if parts.username else url
    client = await RtspClient.open(parts.port or 554, bare, parts.username or "", parts.password or "")
    try:
        described = await client.request("DESCRIBE")
        assert described.status == 200, described.raw
        setup = await client.request("SETUP", control_url(described.body.decode(), "video", described.header("content-base") or bare),
                                     {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        assert setup.status == 200, setup.raw
        assert (await client.request("PLAY")).status == 200
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            channel, packet = await client.packet(10)
            if channel == 0:
                offset = 12 + 4 * (packet[0] & 0x0F)
                out.setdefault(hashlib.blake2b(packet[offset:], digest_size=16).digest(), []).append(time.monotonic())
    finally:
        client.close()


async def latency(relay: str, camera: str, seconds: float) -> list[float]:
    """How much later than the camera's own client the relay's client got each payload (each
    relay arrival against the latest camera arrival of the same payload before it)."""
    at_relay: dict[bytes, list[float]] = {}
    at_camera: dict[bytes, list[float]] = {}
    await asyncio.gather(arrivals(relay, seconds, at_relay), arrivals(camera, seconds, at_camera))
    delays = []
    for key in at_relay.keys() & at_camera.keys():
        for t in at_relay[key]:
            before = [c for c in at_camera[key] if c <= t]
            if before:
                delays.append(t - before[-1])
    return sorted(delays)


class _Sink:
    """An outlet that takes everything, for timing the relay's own work."""

    name, ssrc, seq, ts_base, closed = "bench", 0, 0, 0, False

    def send(self, packets: list[bytes]) -> bool:
        return True

    def congested(self) -> bool:
        return False

    async def drain(self) -> None:
        return None


def relay_or_repacketize(mp4: Path) -> tuple[float, float, float]:
    """CPU-ms per second of video (one camera) to relay the camera's packets (header rewrite)
    and to packetize its access units again, as a relay that depacketizes would; and the
    clip's seconds."""
    clip = load_clip(mp4)
    seq, ts, frames = 0, 0, []
    for frame in clip.frames:
        nals = ((clip.sps, clip.pps) if frame.key else ()) + frame.nals
        packets = []
        for i, nal in enumerate(nals):
            for payload, marker in packetize(nal, i == len(nals) - 1):
                packets.append(rtp_packet(96, seq, ts, 1234, payload, marker))
                seq += 1
        frames.append((nals, packets))
        ts += frame.duration
    seconds = ts / 90000
    relay = RtpRelay("H264")
    relay.add(_Sink())
    t0 = time.process_time()
    for _, packets in frames:
        relay.deliver(packets)
    relayed = time.process_time() - t0
    t0 = time.process_time()
    seq = 0
    for n, (nals, _) in enumerate(frames):
        out = []
        for i, nal in enumerate(nals):
            for payload, marker in packetize(nal, i == len(nals) - 1):
                out.append(rtp_packet(96, seq, n * 3000, 1234, payload, marker))
                seq += 1
    repacketized = time.process_time() - t0
    return relayed / seconds * 1000, repacketized / seconds * 1000, seconds


# -- replay ----------------------------------------------------------------------------------
def first_recording(base: str) -> str:
    """The id of Vigil's first recording, as the recording list gives it."""
    listed = httpx.get(base + "/axis-cgi/record/list.cgi", auth=httpx.DigestAuth(*ADMIN),
                       params={"recordingid": "all"}, timeout=10).text
    found = re.search(r'recordingid="([^"]+)"', listed)
    assert found, listed[:500]
    return found.group(1)


async def replay_client(url: str, headers: dict[str, str] | None = None) -> RtspClient:
    """A raw client playing the replay at `url` (credentials in it) over TCP."""
    parts = urlsplit(url)
    bare = url.replace(f"{parts.username}:{parts.password}@", "")
    client = await RtspClient.open(parts.port or 554, bare, parts.username or "", parts.password or "")
    described = await client.request("DESCRIBE", headers={"Require": "onvif-replay"})
    assert described.status == 200, described.raw
    setup = await client.request("SETUP", control_url(described.body.decode(), "video", bare),
                                 {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1", "Require": "onvif-replay"})
    assert setup.status == 200, setup.raw
    played = await client.request("PLAY", headers={"Require": "onvif-replay", **(headers or {})})
    assert played.status == 200, played.raw
    return client


async def watch(url: str, seconds: float, out: dict[str, int]) -> None:
    """Replay from the start at 1x for `seconds`, counting packets, frames and gaps."""
    client = await replay_client(url, {"Range": "npt=0-"})
    last_seq = last_time = None
    ended_section = False
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            channel, packet = await client.packet(10)
            if channel != 0:
                continue
            out["packets"] += 1
            seq = struct.unpack_from("!H", packet, 2)[0]
            if last_seq is not None and (seq - last_seq) & 0xFFFF != 1:
                out["sequence_gaps"] += 1
            last_seq = seq
            found = extension(packet)
            if found is None:
                continue
            moment, flags, _ = found
            out["frames"] += 1
            if last_time is not None and moment - last_time > 1.5 / 30 and not ended_section:
                out["time_gaps"] += 1
            last_time, ended_section = moment, bool(flags & E)
    finally:
        client.close()


async def concurrent(url: str, n: int, seconds: float) -> dict[str, int]:
    out = {"packets": 0, "frames": 0, "sequence_gaps": 0, "time_gaps": 0}
    await asyncio.gather(*(watch(url, seconds, out) for _ in range(n)))
    return out


async def first_frames(url: str, duration: float, tries: int) -> list[float]:
    """Seconds from DESCRIBE to the last packet of the first frame, each replay from a random place."""
    out = []
    rng = random.Random(12)
    for _ in range(tries):
        t0 = time.monotonic()
        client = await replay_client(url, {"Range": f"npt={rng.uniform(0, duration - 2):.3f}-"})
        try:
            while True:
                channel, packet = await client.packet(10)
                if channel == 0 and packet[1] & 0x80:
                    out.append(time.monotonic() - t0)
                    break
        finally:
            client.close()
    return sorted(out)


def percentile(values: list[float], share: float) -> float:
    return values[min(len(values) - 1, int(len(values) * share))]


def replay_phases(vigil: psutil.Process, base: str, rtsp_url: str, source: Path, n: int, seconds: float,
                  idle: float) -> None:
    recording = first_recording(base)
    url = rtsp_url.replace("camera=1", f"recordingid={recording}")
    files = GstCameras(source, 1, shared=False).start()
    try:
        gst = psutil.Process(files.process.pid)
        watchers = clients(url, n)
        time.sleep(3)
        replayed = cores({"vigil": vigil}, seconds)
        stop(watchers)
        watchers = clients(files.url(1), n)
        time.sleep(3)
        served = cores({"gst": gst}, seconds)
        stop(watchers)
    finally:
        files.stop()
    print(f"R  N={n:<2} replays of {recording}: vigil {replayed['vigil'] * 100:5.1f} %  -> replay "
          f"{(replayed['vigil'] - idle) / n * 100:5.2f} % of a core per stream; gst-rtsp-server serving the file "
          f"(a pipeline per client) {served['gst'] * 100:5.1f} %  -> {served['gst'] / n * 100:5.2f} % per stream")
    span = Span({"vigil": [vigil]})
    counts = asyncio.run(concurrent(url, 16, seconds))
    busy = span.done().cores("vigil")
    print(f"S  16 concurrent replays over {seconds:g} s: vigil {busy * 100:5.1f} %  -> "
          f"{(busy - idle) / 16 * 100:5.2f} % of a core per stream; {counts['frames']} frames, "
          f"{counts['packets']} packets, {counts['sequence_gaps']} sequence gaps, {counts['time_gaps']} frame-time gaps")
    waits = asyncio.run(first_frames(url, 2 * seconds, 100))  # Vigil has recorded more than 4 phases by now
    ms = [w * 1000 for w in waits]
    print(f"F  time to first frame of a replay (DESCRIBE to a whole frame, random start, {len(ms)} tries): "
          f"median {statistics.median(ms):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms, max {ms[-1]:.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[4])
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "vigil-bench-clips"
    cache.mkdir(exist_ok=True)
    source = clip(cache)
    relayed, repacketized, seconds = relay_or_repacketize(cache / "clip-1080p30.mp4")
    print(f"per camera, {seconds:.0f} s of the clip in this process: relaying the camera's packets "
          f"{relayed:.1f} CPU-ms per second of video, packetizing its frames again {repacketized:.1f}")
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-rtsp-"))
    camera = GstCameras(source, 1).start()
    vigil, relay_url, base = start_vigil(work, camera.url(1))
    try:
        procs = {"vigil": psutil.Process(vigil.pid), "gst": psutil.Process(camera.process.pid)}
        idle = cores(procs, args.seconds)
        print(f"1080p30 ~4 Mbit/s H.264, {args.seconds:g} s per phase; CPU in % of one core")
        print(f"A  recording only:          vigil {idle['vigil'] * 100:5.1f} %, gst camera {idle['gst'] * 100:5.1f} %")
        first: tuple[int, float, float] | None = None  # (N, vigil, gst) of the smallest N
        for n in args.clients:
            watchers = clients(relay_url, n)
            time.sleep(3)
            relayed = cores(procs, args.seconds)
            stop(watchers)
            direct_clients = clients(camera.url(1), n)
            time.sleep(3)
            direct = cores(procs, args.seconds)
            stop(direct_clients)
            vigil_per = (relayed["vigil"] - idle["vigil"]) / n * 100
            gst_per = (direct["gst"] - idle["gst"]) / n * 100
            print(f"B  N={n:<2} on Vigil's relay:    vigil {relayed['vigil'] * 100:5.1f} %"
                  f"  -> relay {vigil_per:5.2f} % of a core per stream")
            print(f"C  N={n:<2} on GStreamer direct: gst   {direct['gst'] * 100:5.1f} %"
                  f"  -> gst-rtsp-server {gst_per:5.2f} % of a core per stream")
            if first is None:
                first = (n, relayed["vigil"], direct["gst"])
            else:  # what one more client costs, without the cost of having any
                more = n - first[0]
                print(f"   N={first[0]}->{n}: each further stream costs the relay "
                      f"{(relayed['vigil'] - first[1]) / more * 100:5.2f} %, gst-rtsp-server "
                      f"{(direct['gst'] - first[2]) / more * 100:5.2f} % of a core")
        delays = asyncio.run(latency(relay_url, camera.url(1), args.seconds))
        if delays:
            ms = [d * 1000 for d in delays]
            p95 = ms[int(len(ms) * 0.95) - 1] if len(ms) >= 20 else ms[-1]
            print(f"latency added by the relay over {len(ms)} payloads: median {statistics.median(ms):.0f} ms, "
                  f"p95 {p95:.0f} ms, max {ms[-1]:.0f} ms (ingest pass while watched: "
                  f"{LIVE_PASS_INTERVAL * 1000:.0f} ms)")
        else:
            print("latency: no payload seen by both clients")
        replay_phases(procs["vigil"], base, relay_url, source, args.clients[0], args.seconds, idle["vigil"])
    finally:
        stop([vigil])
        camera.stop()


if __name__ == "__main__":
    main()
