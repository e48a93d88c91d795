"""Rule engine latency on a W401: input change -> output change, with 256 rules loaded; and the
Bluetooth beacon paths: input change -> beacon on the air, beacon received -> output change.

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

The beacon paths run on the same device with the same rules, `--beacons` times each. Input 1
also starts "Broadcast signal while the rule is active": the time is from the input change to
the simulated radio putting the beacon on the air, or taking it off (`SimulatedBle.watch_air`).
A rule "Bluetooth beacon signal received" (System ID 00C0FFEE, port 2) holds the relay (port 9)
active: the time is from the radio hearing a new beacon (`SimulatedBle.hear`) to the relay's
circuit changing; between two beacons the bench moves the event loop's clock past the hold time
so that the signal ends (the end is not timed: it is the hold time by design).
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
from vigil.features.beacon.const import BEACON_RECEIVED, BROADCAST_WHILE  # noqa: E402
from vigil.features.beacon.payload import COMPANY_ID, Signal, encode  # noqa: E402
from vigil.hal.ble import BLE_RADIO  # noqa: E402
from vigil.hal.io import IO_HARDWARE  # noqa: E402

PORT = "tns1:Device/tnsaxis:IO/Port"
VIRTUAL = "tns1:Device/tnsaxis:IO/VirtualInput"
INPUTS = (0, 1, 2, 3)
OUTPUTS = (4, 5, 6, 7)
RELAY = 8
SYSTEM = 0x00C0FFEE


def setup(data: Path, rule_count: int):
    device = build_device("w401", data, Ports(http=0, https=0, rtsp=0))
    device.params.set_internal({f"IOPort.I{p}.Direction": "output" for p in OUTPUTS}, "bench")
    rules = device.rules
    holds = [rules.add_action(f"hold {o + 1}", "com.axis.action.unlimited.io.toggle",
                              {"port": str(o), "state": "high"}, "bench") for o in OUTPUTS]
    for i, action in zip(INPUTS, holds, strict=True):
        rules.add_rule(Rule(0, f"input {i + 1} -> output {i + 5}", True, action.id, (),
                            Condition(PORT, (("port", str(i + 1)),))), "bench")
    for k in range(max(0, rule_count - len(INPUTS) - 2)):  # the two beacon rules below count too
        i = INPUTS[k % len(INPUTS)]
        rules.add_rule(Rule(0, f"background {k}", True, holds[k % len(holds)].id, (
            Condition(PORT, (("port", str(i + 1)), ("state", "1"))),
            Condition(VIRTUAL, (("port", str(k % 32 + 1)), ("active", "1"))),
        )), "bench")
    broadcast = rules.add_action("wake the cameras", BROADCAST_WHILE, {"system_id": "00C0FFEE", "message_type": "1"},
                                 "bench")
    rules.add_rule(Rule(0, "input 1 -> beacon", True, broadcast.id, (), Condition(PORT, (("port", "1"),))), "bench")
    relay = rules.add_action("relay", "com.axis.action.unlimited.io.toggle", {"port": str(RELAY), "state": "high"},
                             "bench")
    rules.add_rule(Rule(0, "beacon -> relay", True, relay.id, (), Condition(BEACON_RECEIVED, (
        ("SystemID", "00C0FFEE"), ("Port", "2"), ("Active", "1")))), "bench")
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


async def input_to_beacon(device, changes: int) -> Measured:
    """Flip input 1 `changes` times; time each change until the beacon is on (or off) the air."""
    hw, radio = device.hardware[IO_HARDWARE], device.hardware[BLE_RADIO]
    loop = asyncio.get_running_loop()
    waiting: list[tuple[bool, asyncio.Future]] = []

    def on_air(air: dict) -> None:
        if waiting and bool(air) == waiting[0][0] and not waiting[0][1].done():
            waiting[0][1].set_result(time.perf_counter())

    radio.watch_air(on_air)
    hw.set_input(0, "open")
    await device.rules.drain()
    latencies, timeouts, on = [], 0, False
    started = time.perf_counter()
    for _ in range(changes):
        on = not on
        future = loop.create_future()
        waiting[:] = [(on, future)]
        t0 = time.perf_counter()
        hw.set_input(0, "closed" if on else "open")
        try:
            latencies.append(await asyncio.wait_for(future, 1.0) - t0)
        except TimeoutError:
            timeouts += 1
    elapsed = time.perf_counter() - started
    hw.set_input(0, "open")
    await device.rules.drain()
    return Measured(latencies, timeouts, 0, elapsed)


async def beacon_to_output(device, beacons: int) -> Measured:
    """Make the radio hear `beacons` new beacons, one signal at a time; time each until the relay closes."""
    hw, radio = device.hardware[IO_HARDWARE], device.hardware[BLE_RADIO]
    loop = asyncio.get_running_loop()
    real_time = type(loop).time.__get__(loop)
    offset = 0.0
    loop.time = lambda: real_time() + offset  # type: ignore[method-assign]
    hold = float(device.params.get("Bluetooth.Beacon.HoldTime"))
    waiting: dict[str, asyncio.Future] = {}
    original_drive = hw.drive

    def drive(index: int, circuit: str) -> None:
        original_drive(index, circuit)
        pending = waiting.get(circuit)
        if index == RELAY and pending is not None and not pending.done():
            pending.set_result(time.perf_counter())

    hw.drive = drive
    latencies, timeouts = [], 0
    started = time.perf_counter()
    try:
        for n in range(beacons):
            closed, opened = loop.create_future(), loop.create_future()
            waiting.update(closed=closed, open=opened)
            t0 = time.perf_counter()
            radio.hear("AA:BB:CC:00:11:22", -55, {COMPANY_ID: encode(Signal(SYSTEM, 2, n % 256))})
            try:
                latencies.append(await asyncio.wait_for(closed, 1.0) - t0)
            except TimeoutError:
                timeouts += 1
            offset += hold + 0.5  # the signal ends: the relay returns to normal (not timed)
            for _ in range(200):
                if opened.done():
                    break
                await asyncio.sleep(0)
    finally:
        hw.drive = original_drive
        del loop.time
    return Measured(latencies, timeouts, 0, time.perf_counter() - started)


def report(what: str, result: Measured) -> bool:
    ms = sorted(x * 1000 for x in result.latencies)
    if not ms:
        print(f"{what}: nothing observed")
        return False
    print(f"{what} ({len(ms)} measured, {result.timeouts} timed out): p50 {statistics.median(ms):.3f} ms  "
          f"p99 {result.p(0.99):.3f} ms  max {ms[-1]:.3f} ms  ({sum(1 for x in ms if x > 20)} over 20 ms)")
    return result.p(0.99) <= 20.0 and result.timeouts == 0


async def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="vigil-bench-events-") as tmp:
        device = setup(Path(tmp) / "data", args.rules)
        result = await measure(device, args.changes)
        broadcast = await input_to_beacon(device, args.beacons)
        received = await beacon_to_output(device, args.beacons)
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
    goal &= report("input change -> beacon on/off the air", broadcast)
    goal &= report("beacon received -> output change", received)
    print(f"goal p99 <= 20 ms: {'met' if goal else 'NOT met'}")
    return 0 if goal else 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--changes", type=int, default=10_000, help="input changes (default 10000)")
    ap.add_argument("--rules", type=int, default=256, help="rules loaded, at least 6, at most 256 (default 256)")
    ap.add_argument("--beacons", type=int, default=2000, help="changes of each beacon path (default 2000)")
    args = ap.parse_args()
    if not 6 <= args.rules <= 256 or args.changes < 1 or args.beacons < 1:
        ap.error("--rules must be 6..256, --changes and --beacons positive")
    sys.exit(asyncio.run(run(args)))


if __name__ == "__main__":
    main()
