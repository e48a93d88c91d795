"""What the speaker's playback costs and how fast it answers, on the simulated audio hardware:

    .venv/bin/python bench/audio.py            # all figures
    .venv/bin/python bench/audio.py -n 200     # more latency samples

- latency from a rule's trigger (an event published) to the clip's first sample handed to the
  speaker, p50/p99 over N triggers, for a .wav and an .mp3 clip (goal p99 <= 50 ms); baseline: the
  rule engine's own trigger-to-action time (an action that only notes the time);
- CPU of playing a 10 s .mp3 clip at real time, and of transmit.cgi receiving the same sound from
  Home Assistant's ffmpeg command at real time (-re), in % of one core of this process (goal <= 2 %),
  against this process idle for as long;
- 20 clips played back to back (a list of 20 different clips, and one clip with repeat=19 over
  mediaclip.cgi): gaps and overlaps between them at the speaker (the speaker would run dry, or two
  would be queued at once), in ms (goal 0).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this folder holds bench/http.py, which must not shadow the `http` package

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from tests.peers.processes import free_port, wait_port_async  # noqa: E402
from vigil.boot import build_device  # noqa: E402
from vigil.core.accounts import Role  # noqa: E402
from vigil.core.clock import Clock  # noqa: E402
from vigil.core.events import Item, Topic  # noqa: E402
from vigil.core.rules import ActionType, Condition, Rule  # noqa: E402
from vigil.device import Device, Ports  # noqa: E402
from vigil.features.playback import const as c  # noqa: E402
from vigil.features.playback.service import PLAYBACK_SERVICE  # noqa: E402
from vigil.hal.audio import AUDIO_HARDWARE, RATE  # noqa: E402
from vigil.http.server import serve_device  # noqa: E402

USER, PASSWORD = "root", "bench-pass-1234"
TRIGGER = "tns1:Device/tnsaxis:Bench/Trigger"


def tone_file(path: Path, frequency: float, seconds: float) -> bytes:
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
                    f"aevalsrc=0.35*sin(2*PI*{frequency}*t):s=48000:d={seconds}", "-ac", "1", str(path)], check=True)
    return path.read_bytes()


class SinkLog:
    """Wraps the simulated speaker's play(): when each block was handed over and when it starts
    sounding (the speaker's queue, modelled as the simulated hardware keeps it)."""

    def __init__(self, device: Device) -> None:
        self.hardware = device.hardware[AUDIO_HARDWARE]
        self.original = self.hardware.play
        self.blocks: list[tuple[float, float, int]] = []  # (handed at, sounds from, samples)
        self.queued_until = 0.0
        self.hardware.play = self.play

    async def play(self, samples: np.ndarray) -> None:
        now = asyncio.get_running_loop().time()
        starts = max(now, self.queued_until)
        self.queued_until = starts + len(samples) / RATE
        self.blocks.append((now, starts, len(samples)))
        await self.original(samples)

    def clear(self) -> None:
        self.blocks.clear()
        self.hardware.clear_sink()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


async def upload(client: httpx.AsyncClient, data: bytes, name: str) -> str:
    r = await client.post("/axis-cgi/mediaclip.cgi", params={"action": "upload", "media": "audio", "name": name},
                          files={"file": (name, data, "application/octet-stream")})
    assert r.text.startswith("OK"), r.text
    return r.text.split("=")[1].strip()


async def ended(device: Device) -> None:
    player = device.features[PLAYBACK_SERVICE].player
    while player.current is not None or player.playing_clip is not None:
        await asyncio.sleep(0.005)


async def latency(device: Device, log: SinkLog, clip: str, samples: int) -> list[float]:
    action = device.rules.add_action(f"play {clip}", c.PLAY_ONCE, {"clip_id": clip}, "bench")
    rule = device.rules.add_rule(Rule(0, f"bench {clip}", True, action.id, (), Condition(TRIGGER, (("active", "1"),))),
                                 "bench")
    delays = []
    for _ in range(samples):
        log.clear()
        t0 = asyncio.get_running_loop().time()
        device.events.publish(TRIGGER, {}, {"active": "1"})
        while not log.blocks:
            await asyncio.sleep(0.0005)
        delays.append((log.blocks[0][1] - t0) * 1000)
        await device.features[PLAYBACK_SERVICE].stop()
        device.events.publish(TRIGGER, {}, {"active": "0"})
        await asyncio.sleep(max(0.01, log.queued_until - asyncio.get_running_loop().time()))  # the speaker is idle again
    device.rules.remove_rule(rule.id, "bench")
    return delays


async def baseline_latency(device: Device, samples: int) -> list[float]:
    noted: list[float] = []

    async def note(ctx) -> None:  # noqa: ANN001
        noted.append(asyncio.get_running_loop().time())
    device.rules.register(ActionType("bench.note", "Note", (), run=note))
    action = device.rules.add_action("note", "bench.note", {}, "bench")
    rule = device.rules.add_rule(Rule(0, "note", True, action.id, (), Condition(TRIGGER, (("active", "1"),))), "bench")
    delays = []
    for _ in range(samples):
        noted.clear()
        t0 = asyncio.get_running_loop().time()
        device.events.publish(TRIGGER, {}, {"active": "1"})
        while not noted:
            await asyncio.sleep(0.0005)
        delays.append((noted[0] - t0) * 1000)
        device.events.publish(TRIGGER, {}, {"active": "0"})
        await asyncio.sleep(0.005)
    device.rules.remove_rule(rule.id, "bench")
    return delays


async def cpu_share(work) -> tuple[float, float]:  # noqa: ANN001
    """(% of one core this process used while `work` ran, seconds it took)."""
    wall, cpu = time.monotonic(), time.process_time()
    await work
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    return 100 * cpu / wall, wall


def gaps(log: SinkLog, first: int = 0) -> tuple[float, float, int]:
    """(total gap ms, total overlap ms, blocks) between consecutive blocks at the speaker, from block `first`."""
    gap = overlap = 0.0
    blocks = log.blocks[first:]
    for (_, start, n), (handed, nxt, _) in zip(blocks, blocks[1:], strict=False):
        end = start + n / RATE
        if handed > end:  # the speaker had played all it had: it ran dry in between
            gap += handed - end
        overlap += max(0.0, end - nxt)
    return gap * 1000, overlap * 1000, len(blocks)


async def main(samples: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="vigil-bench-audio-"))
    device = build_device("c1410", folder / "data", Ports(http=free_port(), https=free_port(), rtsp=free_port(),
                                                          host="127.0.0.1"), Clock())
    device.accounts.add(USER, PASSWORD, Role.ADMIN, True, "", "bench")
    server = asyncio.create_task(serve_device(device))
    await wait_port_async(device.ports.http, 20)
    device.events.declare(Topic(TRIGGER, "Bench trigger", True, (), (Item("active", "xsd:boolean", state=True),)))
    device.events.publish(TRIGGER, {}, {"active": "0"})
    log = SinkLog(device)
    base = f"http://127.0.0.1:{device.ports.http}"
    try:
        async with httpx.AsyncClient(base_url=base, auth=httpx.DigestAuth(USER, PASSWORD), timeout=60) as client:
            wav = await upload(client, tone_file(folder / "short.wav", 1000, 0.2), "short.wav")
            mp3 = await upload(client, tone_file(folder / "short.mp3", 1000, 0.2), "short.mp3")
            long_mp3 = tone_file(folder / "long.mp3", 440, 10.0)
            long_clip = await upload(client, long_mp3, "long.mp3")

            print(f"latency, rule trigger -> first sample at the speaker ({samples} triggers each):")
            base_delays = await baseline_latency(device, samples)
            print(f"  baseline (rule -> action that notes the time): p50 {percentile(base_delays, .5):.2f} ms, "
                  f"p99 {percentile(base_delays, .99):.2f} ms")
            for name, clip in (("wav", wav), ("mp3", mp3)):
                delays = await latency(device, log, clip, samples)
                print(f"  {name} clip: p50 {percentile(delays, .5):.2f} ms, p99 {percentile(delays, .99):.2f} ms, "
                      f"max {max(delays):.2f} ms (goal p99 <= 50 ms)")

            print("CPU at real time (% of one core of this process):")
            idle, _ = await cpu_share(asyncio.sleep(10.0))
            print(f"  idle (baseline), 10 s: {idle:.2f} %")
            service = device.features[PLAYBACK_SERVICE]

            async def play_long() -> None:
                await (await service.play([service.clips.get(long_clip)]))
            share, wall = await cpu_share(play_long())
            print(f"  playing a 10 s mp3 clip: {share:.2f} % ({share - idle:+.2f} % over idle) over {wall:.1f} s "
                  f"(goal <= 2 %)")
            url = f"http://{USER}:{PASSWORD}@127.0.0.1:{device.ports.http}{c.TRANSMIT}"

            async def transmit() -> None:
                proc = await asyncio.create_subprocess_exec(
                    "ffmpeg", "-v", "error", "-re", "-i", str(folder / "long.mp3"), "-c:a", "pcm_mulaw", "-ac", "1",
                    "-ar", "16000", "-f", "wav", "-chunked_post", "0", "-content_type", "audio/axis-mulaw-128", url)
                await proc.wait()  # ffmpeg sent the last of it: about 100 ms are still to play
                while service.player.live:
                    await asyncio.sleep(0.05)
            log.clear()
            share, wall = await cpu_share(transmit())
            played = sum(n for _, _, n in log.blocks) / RATE
            print(f"  transmit.cgi, ffmpeg -re of the same 10 s: {share:.2f} % ({share - idle:+.2f} % over idle) "
                  f"over {wall:.1f} s, {played:.2f} s played (goal <= 2 %)")

            print("20 clips back to back at the speaker:")
            clips = [service.clips.get(await upload(client, tone_file(folder / f"c{i}.wav", 300 + 50 * i, 0.25),
                                                    f"c{i}.wav")) for i in range(18)]
            clips += [service.clips.get(wav), service.clips.get(mp3)]
            log.clear()
            await (await service.play(clips))
            gap, overlap, count = gaps(log)
            expected = sum((0.25 if i < 18 else 0.2) for i in range(20))
            sounded = sum(n for _, _, n in log.blocks) / RATE
            print(f"  a list of 20 different clips: gaps {gap:.2f} ms, overlaps {overlap:.2f} ms over {count} blocks; "
                  f"{sounded:.3f} s at the speaker for {expected:.3f} s of clips (goal 0 ms, 0 ms)")
            log.clear()
            await client.get("/axis-cgi/mediaclip.cgi", params={"action": "play", "clip": wav, "repeat": "19"})
            await asyncio.sleep(0.05)
            await ended(device)
            gap, overlap, count = gaps(log)
            sounded = sum(n for _, _, n in log.blocks) / RATE
            print(f"  one clip, repeat=19 over mediaclip.cgi: gaps {gap:.2f} ms, overlaps {overlap:.2f} ms; "
                  f"{sounded:.3f} s at the speaker for 4.000 s (goal 0 ms, 0 ms)")
    finally:
        device.request_stop("shutdown")
        await asyncio.wait_for(server, 15)
        device.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=100, help="latency samples per case")
    args = parser.parse_args()
    asyncio.run(main(args.n))
