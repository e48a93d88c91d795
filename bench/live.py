#!/usr/bin/env python3
"""Live view in the browser (/vigil/live, fragmented MP4 to Media Source Extensions): the latency
Vigil adds and the CPU each live viewer costs, with a 1080p30 GStreamer camera that Vigil records.

Latency: a raw RTSP client on the camera reassembles each frame (with Vigil's own depacketizer, so
a frame is the same bytes on both sides) and notes when its last packet arrived; an HTTP viewer
of /vigil/live notes when each frame's fragment arrived. The difference, per frame (against the
latest camera arrival of the same frame before it: the clip loops), is what Vigil adds from
packet arrival to fragment received, the ingest's reader pass included. With --browser, the Live
view page in Chromium as well: when its MediaSource finished appending each frame (`updateend`),
against the same camera arrival. Both in wall-clock time of this machine (loopback only).
Goal: p99 <= 150 ms.

CPU: Vigil's CPU while it only records, then with N viewers (asyncio clients in this process,
reading everything): the first viewer's cost includes the faster reader passes a watched camera
gets (ingest.LIVE_PASS_INTERVAL); each further viewer's cost is (CPU at N - CPU at 1) / (N - 1).
Goal: <= 0.5 % of a core per viewer.

    .venv/bin/python bench/live.py --viewers 1 8 --seconds 20 [--browser]
Every process it starts is stopped at the end, and its work folder removed.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[0] = str(ROOT)  # bench/http.py must not shadow the standard library's http package

import argparse
import asyncio
import hashlib
import shutil
import tempfile
import threading
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

import httpx
import psutil

from bench.recording import clip
from bench.rtsp import ADMIN, cores, percentile, start_vigil
from tests.peers.rtsp import GstCameras
from tests.peers.rtsp_client import RtspClient, control_url
from vigil.features.recording.ingest import LIVE_PASS_INTERVAL
from vigil.features.recording.rtp import AccessUnit, H264Depacketizer, ParameterSets
from vigil.footage import mp4

Arrivals = dict[bytes, list[float]]  # frame digest -> wall times it arrived (the clip loops)


def digest(data: bytes | memoryview) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


async def camera_frames(url: str, seconds: float, out: Arrivals) -> None:
    """When each frame was complete at a raw client of the camera (its marker packet arrived)."""
    client = await RtspClient.open(urlsplit(url).port or 554, url)
    try:
        described = await client.request("DESCRIBE")
        setup = await client.request("SETUP", control_url(described.body.decode(), "video",
                                                          described.header("content-base") or url),
                                     {"Transport": "RTP/AVP/TCP;unicast;interleaved=0-1"})
        assert setup.status == 200, setup.raw
        assert (await client.request("PLAY")).status == 200

        def complete(unit: AccessUnit) -> None:
            out.setdefault(digest(unit.data), []).append(time.time())

        depacketizer = H264Depacketizer(complete, ParameterSets())
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            channel, packet = await client.packet(10)
            if channel == 0:
                depacketizer.packet(memoryview(packet))
    finally:
        client.close()


async def viewer(base: str, seconds: float, frames: Arrivals | None, times: dict[int, bytes] | None,
                 counted: list[int]) -> None:
    """One live viewer reading everything for `seconds`; with `frames`, when each frame's fragment
    arrived (by digest), and with `times`, which frame each decode time is."""
    async with httpx.AsyncClient(base_url=base, auth=httpx.DigestAuth(*ADMIN), timeout=30) as client, \
            client.stream("GET", "/vigil/live", params={"camera": "1"}) as response:
        assert response.status_code == 200, await response.aread()
        buffer = b""
        deadline = time.monotonic() + seconds
        async for chunk in response.aiter_bytes():
            now = time.time()
            counted[0] += len(chunk)
            if frames is not None:
                buffer += chunk
                boxes = list(mp4.iter_boxes(buffer))
                used = 0
                for (kind, pos, size), (_k, _p, size2) in zip(boxes, boxes[1:], strict=False):
                    if kind == b"moof":
                        for sample in mp4.parse_fragment(buffer[pos:pos + size + size2]):
                            key = digest(sample.data)
                            frames.setdefault(key, []).append(now)
                            if times is not None:
                                times[sample.time] = key
                        used = pos + size + size2
                buffer = buffer[used:]
            if time.monotonic() > deadline:
                return


def delays(later: Arrivals, camera: Arrivals, skip_before: float) -> list[float]:
    """Milliseconds from each frame's camera arrival to its later arrival."""
    out = []
    for key in later.keys() & camera.keys():
        for t in later[key]:
            if t < skip_before:
                continue  # the key frame's GOP a new viewer starts with is old by design
            before = [c for c in camera[key] if c <= t]
            if before:
                out.append((t - before[-1]) * 1000)
    return sorted(out)


def summary(name: str, ms: list[float]) -> str:
    if not ms:
        return f"{name}: no frame seen on both sides"
    return (f"{name} over {len(ms)} frames: p50 {percentile(ms, 0.5):.0f} ms, p99 {percentile(ms, 0.99):.0f} ms, "
            f"max {ms[-1]:.0f} ms (goal p99 <= 150 ms)")


APPEND_PROBE = """
window.__appended = [];
const append = SourceBuffer.prototype.appendBuffer;
SourceBuffer.prototype.appendBuffer = function (data) {
  const bytes = new Uint8Array(data.buffer || data, data.byteOffset || 0, data.byteLength);
  const rest = this.__rest || new Uint8Array(0);
  const all = new Uint8Array(rest.length + bytes.length);
  all.set(rest); all.set(bytes, rest.length);
  const view = new DataView(all.buffer);
  const times = [];
  let pos = 0;
  while (pos + 8 <= all.length) {
    const size = view.getUint32(pos);
    if (size < 8 || pos + size > all.length) break;
    if (view.getUint32(pos + 4) === 0x6d6f6f66) times.push(Number(view.getBigUint64(pos + 60)));  // moof: tfdt
    pos += size;
  }
  this.__rest = all.slice(pos);
  this.addEventListener("updateend", () => {
    const at = performance.timeOrigin + performance.now();
    for (const t of times) window.__appended.push([t, at]);
  }, { once: true });
  return append.call(this, data);
};
"""


def browser_appends(base: str, seconds: float, ready: threading.Event) -> list[tuple[int, float]]:
    """The Live view page in Chromium: (decode time, wall ms when its append finished) per frame."""
    from playwright.sync_api import sync_playwright

    from tests.peers.browser import CHROMIUM, CHROMIUM_ARGS
    from tests.web.conftest import log_in

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.add_init_script(APPEND_PROBE)
            log_in(page, SimpleNamespace(http=base), *ADMIN)
            page.goto(base + "/#/live")
            page.wait_for_function("() => window.__appended && window.__appended.length > 0", timeout=30_000)
            ready.set()
            time.sleep(seconds)
            return [(int(t), at) for t, at in page.evaluate("() => window.__appended")]
        finally:
            browser.close()


async def latency(base: str, camera_url: str, seconds: float, browser: bool) -> None:
    camera: Arrivals = {}
    fragments: Arrivals = {}
    times: dict[int, bytes] = {}
    started = time.time()
    appended: list[tuple[int, float]] = []
    ready = threading.Event()
    page = asyncio.create_task(asyncio.to_thread(browser_appends, base, seconds + 5, ready)) if browser else None
    if page is not None:
        await asyncio.to_thread(ready.wait, 60)
    await asyncio.gather(camera_frames(camera_url, seconds + 2, camera),
                         viewer(base, seconds, fragments, times, [0]))
    print(summary("packet arrival -> fragment received (HTTP viewer)", delays(fragments, camera, started + 2)))
    if page is not None:
        appended = await page
        in_browser: Arrivals = {}
        for t, at in appended:
            if t in times:
                in_browser.setdefault(times[t], []).append(at / 1000)
        print(summary("packet arrival -> MSE append done (Chromium)", delays(in_browser, camera, started + 2)))


async def watch(base: str, n: int, seconds: float) -> int:
    counted = [0]
    await asyncio.gather(*(viewer(base, seconds, None, None, counted) for _ in range(n)))
    return counted[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--viewers", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--browser", action="store_true", help="also the MSE append in Chromium")
    args = parser.parse_args()
    cache = Path(tempfile.gettempdir()) / "vigil-bench-clips"
    cache.mkdir(exist_ok=True)
    source = clip(cache)
    work = Path(tempfile.mkdtemp(prefix="vigil-bench-live-"))
    camera = GstCameras(source, 1).start()
    vigil, _relay_url, base = start_vigil(work, camera.url(1))
    try:
        proc = {"vigil": psutil.Process(vigil.pid)}
        print(f"1080p30 ~4 Mbit/s H.264 camera; {args.seconds:g} s per phase; reader pass while watched "
              f"{LIVE_PASS_INTERVAL * 1000:.0f} ms")
        asyncio.run(latency(base, camera.url(1), args.seconds, args.browser))
        idle = cores(proc, args.seconds)["vigil"]
        print(f"CPU, recording only: vigil {idle * 100:.2f} % of a core")
        first: tuple[int, float] | None = None
        for n in args.viewers:
            window: dict[str, float] = {}

            def measure_while_watched(n: int = n, window: dict[str, float] = window) -> None:
                time.sleep(3)  # the viewers are in, past their first GOP
                window.update(cores(proc, args.seconds))

            thread = threading.Thread(target=measure_while_watched)
            thread.start()
            received = asyncio.run(watch(base, n, args.seconds + 4))
            thread.join()
            used = window["vigil"]
            print(f"N={n:<3} viewers: vigil {used * 100:.2f} %, {(used - idle) / n * 100:.2f} % of a core per viewer "
                  f"(received {received / 1e6 / (args.seconds + 4) / n * 8:.1f} Mbit/s each)")
            if first is None:
                first = (n, used)
            elif n > first[0]:
                print(f"   each viewer beyond {first[0]}: {(used - first[1]) / (n - first[0]) * 100:.2f} % of a core "
                      "(goal <= 0.5 %)")
    finally:
        vigil.terminate()
        try:
            vigil.wait(10)
        except Exception:  # noqa: BLE001 - stop it whatever happened
            vigil.kill()
        camera.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
