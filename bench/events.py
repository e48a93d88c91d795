"""Rule engine latency on a W401: input change -> output change, with 256 rules loaded.

    .venv/bin/python bench/events.py                     # 10,000 input changes, 256 rules
    .venv/bin/python bench/events.py -n 2000 --rules 64  # smaller

An in-process W401 (temporary data folder, no network) gets ports 1-4 as inputs and 5-8 as
outputs. Four rules make "input N active" hold output N+4 active ("Toggle I/O while the rule
is active", the input as trigger); the other rules (up to --rules in all) watch the same
inputs together with a virtual input that stays off, so every input change evaluates every
rule but only the four act. The bench flips the inputs one at a time through the simulated
hardware (`SimulatedIO.set_input`, as a wired contact would) and measures the time from that
call to the moment the device drives the output's circuit (the hardware layer's `drive`),
then prints p50 / p99 / max latency, input changes per second and bus events per second.
Each change waits for its output (at most 1 s) before the next one: this is latency, not a
saturation test. Goal: p99 <= 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
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

from vigil.boot import build_device  # noqa: E402
from vigil.core.rules import Condition, Rule  # noqa: E402
from vigil.device import Ports  # noqa: E402
from vigil.hal.io import IO_HARDWARE  # noqa: E402

PORT = "tns1:Device/tnsaxis:IO/Port"
VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"
INPUTS = (0, 1, 2, 3)
OUTPUTS = (4, 5, 6, 7)


def setup(data: Path, rule_count: int):
    device = build_device("w401", data, Ports(http=0, https=0, rtsp=0))
    device.params.set_internal({f"IOPort.I{p}.Direction": "output" for p in OUTPUTS}, "bench")
    rules = device.rules
    holds = [rules.add_action(f"hold {o + 1}", "com.axis.action.unlimited.io.toggle",
                              {"port": str(o), "state": "high"}, "bench") for o in OUTPUTS]
    for i, action in zip(INPUTS, holds, strict=True):
        rules.add_rule(Rule(0, f"input {i + 1} -> output {i + 5}", True, action.id, (),
                            Condition(PORT, (("port", str(i + 1)),))), "bench")
    for k in range(max(0, rule_count - len(INPUTS))):
        i = INPUTS[k % len(INPUTS)]
        rules.add_rule(Rule(0, f"background {k}", True, holds[k % len(holds)].id, (
            Condition(PORT, (("port", str(i + 1)), ("state", "1"))),
            Condition(VIRTUAL, (("port", str(k % 32 + 1)), ("active", "1"))),
        )), "bench")
    return device


@dataclass
class Measured:
    latencies: list[float]  # seconds, input change -> output change
    timeouts: int  # changes whose output did not follow within 1 s
    events: int  # bus events meanwhile
    elapsed: float  # seconds

    def p(self, q: float) -> float:
        """The `q` quantile of the latencies, in ms."""
        ms = sorted(x * 1000 for x in self.latencies)
        return ms[min(len(ms) - 1, int(round(q * len(ms))) - 1)]


async def measure(device, changes: int) -> Measured:
    """Flip the inputs of a device made by `setup` `changes` times, one at a time, and time each
    output that follows (at the hardware layer's `drive`)."""
    hw = device.hardware[IO_HARDWARE]
    loop = asyncio.get_running_loop()
    waiting: dict[int, tuple[str, asyncio.Future]] = {}
    original_drive = hw.drive

    def drive(index: int, circuit: str) -> None:
        original_drive(index, circuit)
        pending = waiting.get(index)
        if pending is not None and pending[0] == circuit and not pending[1].done():
            pending[1].set_result(time.perf_counter())

    hw.drive = drive  # instrument the hardware layer: the moment the circuit changes
    events = 0

    def count(_event) -> None:
        nonlocal events
        events += 1

    subscription = device.events.subscribe(count)
    try:
        for i in INPUTS:  # start with every input inactive (Input.Trig=closed: an open loop)
            hw.set_input(i, "open")
        await device.rules.drain()

        latencies: list[float] = []
        state = dict.fromkeys(INPUTS, False)
        timeouts = 0
        started = time.perf_counter()
        for n in range(changes):
            i = INPUTS[n % len(INPUTS)]
            state[i] = not state[i]
            output = OUTPUTS[INPUTS.index(i)]
            expected = "closed" if state[i] else "open"  # Output.Active=closed: active drives a closed circuit
            future = loop.create_future()
            waiting[output] = (expected, future)
            t0 = time.perf_counter()
            hw.set_input(i, "closed" if state[i] else "open")
            try:
                t1 = await asyncio.wait_for(future, 1.0)
            except TimeoutError:
                timeouts += 1
                continue
            finally:
                waiting.pop(output, None)
            latencies.append(t1 - t0)
        elapsed = time.perf_counter() - started
    finally:
        hw.drive = original_drive
        subscription.cancel()
    return Measured(latencies, timeouts, events, elapsed)


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-events-") as tmp:
        device = setup(Path(tmp) / "data", args.rules)
        result = await measure(device, args.changes)
        await device.rules.close()
        device.close()

    latencies, timeouts, events, elapsed = result.latencies, result.timeouts, result.events, result.elapsed
    if not latencies:
        print("no output change observed")
        return 1
    ms = sorted(x * 1000 for x in latencies)
    p50 = statistics.median(ms)
    p99 = result.p(0.99)
    print(f"W401, {args.rules} rules, {args.changes} input changes ({len(latencies)} measured, {timeouts} timed out)")
    print(f"input change -> output change latency: p50 {p50:.3f} ms  p99 {p99:.3f} ms  max {ms[-1]:.3f} ms  "
          f"mean {statistics.fmean(ms):.3f} ms  ({sum(1 for x in ms if x > 20)} over 20 ms)")
    print(f"throughput: {args.changes / elapsed:.0f} input changes/s, {events / elapsed:.0f} bus events/s "
          f"({events} events in {elapsed:.2f} s)")
    goal = p99 <= 20.0 and timeouts == 0
    print(f"goal p99 <= 20 ms: {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--changes", type=int, default=10_000, help="input changes (default 10000)")
    ap.add_argument("--rules", type=int, default=256, help="rules loaded, at least 4, at most 256 (default 256)")
    args = ap.parse_args()
    if not 4 <= args.rules <= 256 or args.changes < 1:
        ap.error("--rules must be 4..256 and --changes positive")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
