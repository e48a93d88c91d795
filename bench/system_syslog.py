"""Remote syslog over TCP: messages per second with no loss, and what forwarding costs the event path.

    .venv/bin/python bench/system_syslog.py                  # 5 s per rate, 10,000 input changes per case
    .venv/bin/python bench/system_syslog.py -s 3 -n 3000     # shorter
    .venv/bin/python bench/system_syslog.py --in-process     # the in-process receiver even with rsyslog

The receiver is rsyslogd (tests/peers/rsyslog.py: its TCP input, each message written to a file)
when it is installed, else an asyncio receiver in this process (tests/syslog/conftest.py's
`Receiver`, which then shares the CPU and the event loop with the device); the output says which.

1. Throughput. An in-process W401 (bench/events.py's, 256 rules) forwards its logs over TCP as
   RFC 5424 (severity Debug, type All) to the receiver. Its system log gets messages of ~120
   bytes through the ordinary log call (`Logs.system`) at a paced rate for --seconds, starting
   at 5,000/s and doubling; a rate counts as kept up with when the receiver got every message
   and the sender dropped none. Per rate: messages offered, dropped, received, the rate offered
   and the rate received (messages / time until the last one arrived). Stops at the first loss.
2. Event path. bench/events.py's measurement (input change -> output change through the rules)
   three ways: no log traffic; 5,000 log messages/s with forwarding off; the same 5,000/s
   forwarded over TCP. Prints p50 / p99 / max each and the log call's mean cost.

Goal (issue 14): >= 5,000 messages/s with no loss, and the event path's p99 with forwarding
within 20 % (or 0.5 ms) of its p99 without it under the same log traffic.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

# Run as a script, this file's folder is first on sys.path, where bench/http.py would hide the
# standard library's `http` package: drop the folder, and put the project root there instead.
HERE = Path(__file__).resolve().parent
sys.path[:] = [str(HERE.parent)] + [p for p in sys.path if Path(p or ".").resolve() != HERE]

from bench.events import measure, setup  # noqa: E402
from tests.peers.certs import ca_signed  # noqa: E402
from tests.peers.rsyslog import Rsyslog, available  # noqa: E402
from tests.syslog.conftest import Receiver  # noqa: E402
from vigil.features.syslog.config import parse_servers  # noqa: E402
from vigil.features.syslog.service import SYSLOG_SERVICE, SyslogService  # noqa: E402

GOAL_RATE = 5_000
TICK = 0.01  # seconds between bursts of the paced producer
PAD = "x" * 80  # a message of ~120 bytes, as a typical log line


class RsyslogSink:
    """rsyslogd's TCP input; counts the lines of its output file that hold a watched marker,
    reading only what was added since the last look."""

    name = "rsyslogd (TCP input, omfile)"

    def __init__(self, folder: Path) -> None:
        certs = ca_signed(folder / "certs")
        self.server = Rsyslog(folder / "rsyslog", certs.ca, certs.cert, certs.key)
        self.offset = 0
        self.counts: dict[bytes, int] = {}

    async def start(self) -> int:
        await asyncio.to_thread(self.server.start)
        return self.server.tcp

    def _read(self) -> None:
        try:
            with open(self.server.output, "rb") as f:
                f.seek(self.offset)
                chunk = f.read()
        except FileNotFoundError:
            return
        whole = chunk[:chunk.rfind(b"\n") + 1]  # complete lines only
        self.offset += len(whole)
        for marker in self.counts:
            self.counts[marker] += whole.count(marker)

    def watch(self, marker: bytes) -> None:
        self._read()
        self.counts[marker] = 0

    def count(self, marker: bytes) -> int:
        self._read()
        return self.counts[marker]

    async def stop(self) -> None:
        self.server.stop()


class InProcessSink:
    """The tests' asyncio receiver on this process's event loop (shares the device's CPU)."""

    name = "in-process asyncio receiver (same process and event loop as the device)"

    def __init__(self) -> None:
        self.receiver = Receiver()
        self.counts: dict[bytes, int] = {}

    async def start(self) -> int:
        return await self.receiver.start_tcp()

    def _read(self) -> None:
        messages = self.receiver.messages
        for marker in self.counts:
            self.counts[marker] += sum(marker in m for m in messages)
        messages.clear()  # what was counted is not kept

    def watch(self, marker: bytes) -> None:
        self._read()
        self.counts[marker] = 0

    def count(self, marker: bytes) -> int:
        self._read()
        return self.counts[marker]

    async def stop(self) -> None:
        await self.receiver.close()


@dataclass
class Traffic:
    offered: int = 0
    seconds: float = 0.0
    call_seconds: float = 0.0  # time spent inside the log calls

    @property
    def call_us(self) -> float:
        return self.call_seconds / self.offered * 1e6 if self.offered else 0.0


async def produce(service: SyslogService, rate: int, seconds: float, marker: str, traffic: Traffic,
                  stop: asyncio.Event | None = None) -> None:
    """`rate` system log messages per second, in bursts every TICK, for `seconds` or until `stop`."""
    logs = service.logs
    started = time.perf_counter()
    while True:
        now = time.perf_counter()
        elapsed = now - started
        if elapsed >= seconds or (stop is not None and stop.is_set()):
            break
        due = int(rate * elapsed) - traffic.offered
        for _ in range(due):
            logs.system(f"{marker} {traffic.offered} {PAD}", "info", "bench")
            traffic.offered += 1
        traffic.call_seconds += time.perf_counter() - now
        await asyncio.sleep(TICK)
    traffic.seconds = time.perf_counter() - started


async def forward_to(service: SyslogService, port: int | None) -> None:
    """Forward every log over TCP to 127.0.0.1:`port` (None: forwarding off) and wait for the sender."""
    servers = [{"address": "127.0.0.1", "port": port, "protocol": "TCP", "syslogFormat": "RFC5424",
                "severity": "Debug", "type": "All"}] if port else []
    service.setup(parse_servers(servers), None, "bench")
    deadline = time.monotonic() + 10
    while (len(service.senders) != len(servers) or any(s.state != "connected" for s in service.senders)):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the syslog sender did not connect: {service.delivery()}")
        await asyncio.sleep(0.01)


async def received_all(sink, marker: bytes, wanted: int, quiet: float = 3.0) -> tuple[int, float]:
    """Wait until `wanted` messages with `marker` arrived, or none came for `quiet` s; the count and
    the moment the last one was seen."""
    count, last = sink.count(marker), time.perf_counter()
    while count < wanted:
        await asyncio.sleep(0.02)
        now_count = sink.count(marker)
        if now_count > count:
            count, last = now_count, time.perf_counter()
        elif time.perf_counter() - last > quiet:
            break
    return count, last


async def throughput(service: SyslogService, sink, seconds: float, top: int) -> int:
    """Paced runs from GOAL_RATE, doubling up to `top`; the highest rate with no loss (0: none)."""
    print(f"\nThroughput over TCP (RFC 5424, {seconds:g} s per rate) to {sink.name}")
    print(f"{'rate/s':>8} {'offered':>9} {'dropped':>8} {'received':>9} {'offered/s':>10} {'received/s':>11}  result")
    best, rate = 0, GOAL_RATE
    while rate <= top:
        sender = service.senders[0]
        dropped_before = sender.dropped
        marker = f"bench-{rate}-{secrets.token_hex(4)}"
        traffic = Traffic()
        sink.watch(marker.encode())
        started = time.perf_counter()
        await produce(service, rate, seconds, marker, traffic)
        got, last = await received_all(sink, marker.encode(), traffic.offered)
        dropped = sender.dropped - dropped_before
        kept_up = got == traffic.offered and dropped == 0
        print(f"{rate:>8} {traffic.offered:>9} {dropped:>8} {got:>9} {traffic.offered / traffic.seconds:>10.0f} "
              f"{got / (last - started):>11.0f}  {'no loss' if kept_up else 'LOSS'}")
        if not kept_up:
            break
        best, rate = rate, rate * 2
    return best


async def event_path(device, service: SyslogService, port: int, changes: int) -> dict[str, tuple]:
    """The event path's latency with no log traffic, with GOAL_RATE messages/s not forwarded,
    and with them forwarded."""
    results: dict[str, tuple] = {}
    await measure(device, min(changes, 1000))  # warm up
    for label, traffic_on, forwarding in (("no log traffic", False, False),
                                          (f"{GOAL_RATE}/s logs, forwarding off", True, False),
                                          (f"{GOAL_RATE}/s logs, forwarded over TCP", True, True)):
        await forward_to(service, port if forwarding else None)
        traffic, stop = Traffic(), asyncio.Event()
        producer = asyncio.create_task(produce(service, GOAL_RATE, 3600, f"event-path-{secrets.token_hex(4)}",
                                               traffic, stop)) if traffic_on else None
        try:
            result = await measure(device, changes)
        finally:
            stop.set()
            if producer is not None:
                await producer
        dropped = sum(s.dropped for s in service.senders)
        results[label] = (result, traffic, dropped)
    await forward_to(service, None)
    print(f"\nEvent path: input change -> output change, W401 with 256 rules, {changes} changes per case")
    print(f"{'case':<36} {'p50 ms':>7} {'p99 ms':>7} {'max ms':>7} {'timeouts':>8} {'log msgs':>9} {'µs/log call':>11}")
    for label, (result, traffic, dropped) in results.items():
        ms = sorted(x * 1000 for x in result.latencies)
        print(f"{label:<36} {statistics.median(ms):>7.3f} {result.p(0.99):>7.3f} {ms[-1]:>7.3f} "
              f"{result.timeouts:>8} {traffic.offered:>9} {traffic.call_us:>11.2f}"
              + (f"  ({dropped} dropped)" if dropped else ""))
    return results


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-syslog-") as tmp:
        folder = Path(tmp)
        sink = InProcessSink() if args.in_process or not available() else RsyslogSink(folder)
        if isinstance(sink, InProcessSink) and not args.in_process:
            print("rsyslogd (rsyslog, rsyslog-gnutls) is not installed: using the in-process receiver")
        port = await sink.start()
        device = setup(folder / "data", 256)
        service = device.features[SYSLOG_SERVICE]
        runner = asyncio.create_task(service.run())
        try:
            await forward_to(service, port)
            best = await throughput(service, sink, args.seconds, args.top)
            results = await event_path(device, service, port, args.changes)
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await device.rules.close()
            device.close()
            await sink.stop()

    off = results[f"{GOAL_RATE}/s logs, forwarding off"][0].p(0.99)
    on_result, _, on_dropped = results[f"{GOAL_RATE}/s logs, forwarded over TCP"]
    on = on_result.p(0.99)
    not_slowed = on <= max(off * 1.2, off + 0.5) and on_result.timeouts == 0 and on_dropped == 0
    print(f"\nhighest rate with no loss: {best}/s (goal >= {GOAL_RATE}/s: {'met' if best >= GOAL_RATE else 'NOT met'})")
    print(f"event path p99 with forwarding {on:.3f} ms vs {off:.3f} ms without "
          f"(goal within 20 % or 0.5 ms: {'met' if not_slowed else 'NOT met'})")
    return 0 if best >= GOAL_RATE and not_slowed else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-s", "--seconds", type=float, default=5.0, help="seconds per throughput rate (default 5)")
    ap.add_argument("-n", "--changes", type=int, default=10_000, help="input changes per event path case (10000)")
    ap.add_argument("--top", type=int, default=80_000, help="highest rate tried, messages/s (default 80000)")
    ap.add_argument("--in-process", action="store_true", help="use the in-process receiver even if rsyslog is there")
    args = ap.parse_args()
    if args.seconds <= 0 or args.changes < 1 or args.top < GOAL_RATE:
        ap.error(f"--seconds and --changes must be positive, --top at least {GOAL_RATE}")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
