"""What a SIP call costs on the C1410 (simulated audio hardware), over loopback UDP:

    .venv/bin/python bench/sip.py            # all figures
    .venv/bin/python bench/sip.py -n 200     # more setup samples

- call setup: INVITE sent -> 200 OK received, with the peer-to-peer account answering
  automatically, p50/p99 over N calls (each ended with ACK and BYE) (goal p99 <= 50 ms);
- CPU of one G.711 call, 30 s of its steady state (after its first second), the far end (a
  process of its own) sending 20 ms PCMU packets at real time and the microphone sent back, in %
  of one core of this process (the device), against this process idle for as long (goal <= 3 %);
- mouth-to-ear added by Vigil: a loud burst every half second in the far end's packets, from the
  moment its packet is sent to the moment its first sample is played by the (simulated) speaker,
  whose queue is counted as a real one's would be (p50/p99).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import statistics
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[0] = str(ROOT)  # this folder holds bench/http.py, which must not shadow the `http` package

import numpy as np  # noqa: E402

from tests.peers.processes import free_port  # noqa: E402
from vigil.boot import build_device  # noqa: E402
from vigil.core.clock import Clock  # noqa: E402
from vigil.device import Ports  # noqa: E402
from vigil.features.sip.codecs import g711_encode  # noqa: E402
from vigil.features.sip.service import SIP_SERVICE  # noqa: E402
from vigil.hal.audio import AUDIO_HARDWARE, RATE, AudioHardware  # noqa: E402

LOUD = 4000  # a sample above this is the burst (the bursts peak near 16000)
SETTLE = 1.0  # seconds of the call before its CPU is counted

SDP = "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\n"


def request(method: str, port: int, local: int, call: str, cseq: int, body: str = "", tag: str = "") -> bytes:
    head = (f"{method} sip:vigil@127.0.0.1:{port} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:{local};"
            f"branch=z9hG4bK{call}{cseq}{method}\r\nFrom: <sip:b@127.0.0.1>;tag=b\r\n"
            f"To: <sip:vigil@127.0.0.1>{tag and ';tag=' + tag}\r\nCall-ID: {call}\r\nCSeq: {cseq} {method}\r\n"
            f"Contact: <sip:b@127.0.0.1:{local}>\r\n" + ("Content-Type: application/sdp\r\n" if body else ""))
    return (head + f"Content-Length: {len(body)}\r\n\r\n{body}").encode()


async def until(sock: socket.socket, status: str) -> str:
    loop = asyncio.get_running_loop()
    while True:
        reply = (await asyncio.wait_for(loop.sock_recv(sock, 65535), 5)).decode()
        if reply.startswith(f"SIP/2.0 {status}"):
            return reply


def to_tag(reply: str) -> str:
    return next(x for x in reply.split("\r\n") if x.lower().startswith("to:")).split("tag=")[1].split(";")[0]


async def main(samples: int, seconds: float) -> None:
    device = build_device("c1410", Path(tempfile.mkdtemp()) / "data", Ports(host="127.0.0.1"), Clock())
    service = device.features[SIP_SERVICE]
    service.store.save_settings({**service.store.settings(), "enabled": True, "sipPort": free_port(),
                                 "rtpPortStart": 30000})
    await service.apply()
    agent = service.agent
    assert agent is not None
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    sock.bind(("127.0.0.1", 0))
    sock.connect(("127.0.0.1", agent.port))
    local = sock.getsockname()[1]
    media = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    media.bind(("127.0.0.1", 0))
    media.setblocking(False)
    body = SDP.format(port=media.getsockname()[1])

    setups = []
    for n in range(samples):
        call = f"bench{n}"
        start = time.perf_counter()
        await loop.sock_sendall(sock, request("INVITE", agent.port, local, call, 1, body))
        answer = await until(sock, "200")
        setups.append((time.perf_counter() - start) * 1000)
        tag = to_tag(answer)
        await loop.sock_sendall(sock, request("ACK", agent.port, local, call, 1, tag=tag))
        await loop.sock_sendall(sock, request("BYE", agent.port, local, call, 2, tag=tag))
        await until(sock, "200")
    setups.sort()
    print(f"call setup INVITE -> 200 over {samples} calls: p50 {statistics.median(setups):.1f} ms, "
          f"p99 {setups[int(len(setups) * 0.99) - 1]:.1f} ms (goal p99 <= 50 ms)")

    before = time.process_time()
    await asyncio.sleep(seconds)
    idle = time.process_time() - before
    await loop.sock_sendall(sock, request("INVITE", agent.port, local, "cpu", 1, body))
    answer = await until(sock, "200")
    tag = to_tag(answer)
    await loop.sock_sendall(sock, request("ACK", agent.port, local, "cpu", 1, tag=tag))
    device_rtp = int(answer.split("m=audio ")[1].split()[0])
    heard = Onsets(device.hardware[AUDIO_HARDWARE])
    sender = await asyncio.create_subprocess_exec(sys.executable, __file__, "--send", str(device_rtp),
                                                  str(seconds + SETTLE + 1), stdout=asyncio.subprocess.PIPE)
    assert sender.stdout is not None
    await sender.stdout.readline()  # its first packet is sent
    await asyncio.sleep(SETTLE)  # the steady state of the call: its start (and starting the sender) is not counted
    before = time.process_time()
    await asyncio.sleep(seconds)
    busy = time.process_time() - before
    out = await sender.stdout.read()
    await sender.wait()
    await asyncio.sleep(0.3)  # the last burst reaches the speaker
    sent = json.loads(out)
    await loop.sock_sendall(sock, request("BYE", agent.port, local, "cpu", 2, tag=tag))
    await until(sock, "200")
    print(f"one G.711 call, {seconds:.0f} s of its steady state, the far end's sender in its own process: "
          f"{100 * (busy - idle) / seconds:.2f} % of a core above idle "
          f"({100 * busy / seconds:.2f} % with it, idle {100 * idle / seconds:.2f} %) (goal <= 3 %)")
    delays = sorted(heard.delays(sent))
    if len(delays) < len(sent):
        print(f"  ({len(sent) - len(delays)} of {len(sent)} bursts were not heard)")
    if delays:
        print(f"mouth-to-ear added by Vigil (RTP packet sent on loopback -> that sample played by the speaker) "
              f"over {len(delays)} bursts: p50 {statistics.median(delays):.1f} ms, "
              f"p99 {delays[max(int(len(delays) * 0.99) - 1, 0)]:.1f} ms")
    await agent.stop()
    device.close()


class Onsets:
    """When each burst after silence is played by the simulated speaker: the samples of a play()
    start sounding when those before them have (the speaker's queue), as the simulation plays them."""

    def __init__(self, hardware: AudioHardware) -> None:
        self.onsets: list[float] = []
        self.played: list[tuple[float, np.ndarray]] = []
        self.until = 0.0
        self.quiet = RATE  # samples of silence so far
        self.original = hardware.play
        hardware.play = self.play  # type: ignore[method-assign]

    async def play(self, samples: np.ndarray) -> None:
        now = asyncio.get_running_loop().time()
        start = max(now, self.until)
        self.until = start + len(samples) / RATE
        self.played.append((start, samples))  # looked at after the call: the bench's work is not the call's
        await self.original(samples)

    def _find_onsets(self) -> None:
        for start, samples in self.played:
            loud = np.flatnonzero(np.abs(samples.astype(np.int32)) > LOUD)
            if len(loud):
                if self.quiet + loud[0] > RATE // 10:  # 100 ms quiet before: a new burst
                    self.onsets.append(start + loud[0] / RATE)
                self.quiet = len(samples) - 1 - loud[-1]
            else:
                self.quiet += len(samples)
        self.played.clear()

    def delays(self, sent: list[float]) -> list[float]:
        """Milliseconds from each burst sent to the first onset played after it (bursts are half a
        second apart: an onset later than 0.4 s belongs to the next; a burst skipped has none)."""
        self._find_onsets()
        out = []
        for sent_at in sent:
            played = next((x for x in self.onsets if sent_at <= x < sent_at + 0.4), None)
            if played is not None:
                out.append((played - sent_at) * 1000)
        return out


def send(port: int, seconds: float) -> None:
    """The far end: 20 ms PCMU packets at real time to 127.0.0.1:`port`, silence but for a 20 ms
    1 kHz burst every half second; prints a line as it starts, then the monotonic send times of the
    bursts (JSON)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    t = np.arange(160) / 8000
    burst = g711_encode((np.sin(2 * np.pi * 1000 * t) * 16000).astype(np.int16), "pcmu")
    silence = bytes([0xFF]) * 160
    bursts = []
    print("sending", flush=True)
    started = time.monotonic()
    for i in range(int(seconds * 50)):
        loud = i % 25 == 10
        header = struct.pack("!BBHII", 0x80, 0, i, i * 160, 1234)
        if loud:
            bursts.append(time.monotonic())
        sock.sendto(header + (burst if loud else silence), ("127.0.0.1", port))
        wait = started + (i + 1) * 0.02 - time.monotonic()
        if wait > 0:
            time.sleep(wait)
    print(json.dumps(bursts))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", type=int, default=100, help="calls for the setup time")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the call's measured steady state")
    parser.add_argument("--send", nargs=2, metavar=("PORT", "SECONDS"), help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.send:
        send(int(arguments.send[0]), float(arguments.send[1]))
    else:
        try:
            import uvloop
        except ImportError:  # the device runs on uvloop when it is installed (vigil/cli.py): so does the bench
            uvloop = None
        (uvloop.run if uvloop else asyncio.run)(main(arguments.n, arguments.seconds))
