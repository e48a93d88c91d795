"""MQTT event publication: latency from bus publish to a subscriber, and sustained events/s.

    .venv/bin/python bench/mqtt.py                  # 2000 latency samples, 3 s throughput run, QoS 0
    .venv/bin/python bench/mqtt.py --qos 1 -n 5000 -d 5

The bench starts a local mosquitto on a free loopback port (anonymous, plain TCP), builds a
device in-process in a temporary folder with its MQTT client connected to it and one event
publication filter, and starts a subscriber in a second process. Each event carries
time.monotonic_ns() (one clock for both processes on Linux); the subscriber reports how long
each took to arrive. Phases:

1. latency: one event every millisecond, p50/p90/p99/max from bus publish to receipt;
2. throughput: events as fast as the client's queue takes them (kept below its bound, so
   nothing is dropped) for a bounded time; events/s received by the subscriber;
3. bus cost: what EventBus.publish costs the caller with the MQTT filter active.
Everything stops after the bounded run; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from tests.peers.processes import free_port, wait_port  # the tests' peer plumbing (standard library only)

TOPIC = "tnsaxis:Bench/Tick"
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"


# -- the subscriber (second process) --------------------------------------------------------------
def subscriber(port: int, topic_filter: str, qos: int) -> None:
    """A plain paho client on its own network thread: as light a receiver as Python has."""
    import paho.mqtt.client as mqtt

    phases: dict[str, dict] = {}
    done = threading.Event()

    def on_message(client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        now = time.monotonic_ns()
        data = json.loads(message.payload)["message"]["data"]
        phase = data["phase"]
        if phase == "quit":
            done.set()
            return
        if phase.startswith("end-"):
            print(json.dumps({"phase": phase[4:], **phases.pop(phase[4:], {})}), flush=True)
            return
        p = phases.setdefault(phase, {"latencies_us": [], "count": 0, "first": now, "last": now})
        p["count"] += 1
        p["last"] = now
        if phase == "latency":
            p["latencies_us"].append((now - int(data["t"])) / 1000)

    def on_subscribe(*_args: object) -> None:
        print("READY", flush=True)

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-subscriber")
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.on_connect = lambda c, *_: c.subscribe(topic_filter, qos)
    client.connect("127.0.0.1", port)
    client.loop_start()
    done.wait(600)
    client.loop_stop()


# -- the device side ------------------------------------------------------------------------------
def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


async def bench(args: argparse.Namespace) -> None:
    from vigil.boot import build_device
    from vigil.core.events import Item, Topic
    from vigil.features.mqtt import model
    from vigil.features.mqtt.service import MQTT_SERVICE

    folder = Path(tempfile.mkdtemp(prefix="vigil-bench-mqtt-"))
    port = free_port()
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
                    f"max_queued_messages 100000\n")
    broker = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    sub = None
    device = None
    runner = None
    try:
        wait_port(port, process=broker)
        device = build_device("s3016", folder / "data")
        device.events.declare(Topic(TOPIC, "Bench tick", False, (),
                                    (Item("phase"), Item("seq"), Item("t"))))
        service = device.features[MQTT_SERVICE]
        config = model.parse_client({"server": {"host": "127.0.0.1", "port": port}, "clientId": "bench-device",
                                     "connectMessage": {"useDefault": True}}, device.identity.serial)
        service.configure_client(config, "", "bench")
        service.configure_publication(model.parse_publication(
            {"eventFilterList": [{"topicFilter": "axis:Bench/Tick", "qos": args.qos}],
             "includeTopicNamespaces": False}), "bench")
        service.set_active(True, "bench")
        runner = asyncio.create_task(service.run())
        end = time.monotonic() + 10
        while service.connection != "connected":
            if time.monotonic() > end:
                raise SystemExit(f"the client did not connect: {service.status()}")
            await asyncio.sleep(0.01)
        sub = subprocess.Popen([sys.executable, __file__, "--subscriber", str(port), "--qos", str(args.qos),
                                "--filter", f"{service.config['deviceTopicPrefix']}/event/Bench/Tick"],
                               stdout=subprocess.PIPE, text=True)
        assert sub.stdout is not None
        if sub.stdout.readline().strip() != "READY":
            raise SystemExit("the subscriber did not start")
        loop = asyncio.get_running_loop()

        async def result() -> dict:
            line = await loop.run_in_executor(None, sub.stdout.readline)
            return json.loads(line)

        def tick(phase: str, seq: int = 0) -> None:
            device.events.publish(TOPIC, {}, {"phase": phase, "seq": str(seq), "t": str(time.monotonic_ns())})

        # 1. latency
        for n in range(args.n):
            tick("latency", n)
            await asyncio.sleep(0.001)
        await asyncio.sleep(0.5)
        tick("end-latency")
        lat = await asyncio.wait_for(result(), 30)
        samples = lat["latencies_us"]

        # 2. throughput
        dropped_before = service.stats.dropped
        sent = 0
        start = time.monotonic()
        while time.monotonic() - start < args.duration:
            if service._queue.qsize() < 800:
                for _ in range(100):
                    tick("throughput", sent)
                    sent += 1
            await asyncio.sleep(0)
        while not service._queue.empty() and time.monotonic() - start < args.duration + 10:
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.5)
        tick("end-throughput")
        tput = await asyncio.wait_for(result(), 30)
        received = tput.get("count", 0)
        span = max((tput.get("last", 0) - tput.get("first", 0)) / 1e9, 1e-9)

        # 3. what the bus caller pays (the MQTT subscriber only enqueues)
        service.configure_publication(model.parse_publication(
            {"eventFilterList": [{"topicFilter": "axis:Bench/Tick", "qos": args.qos}]}), "bench")
        costs = []
        for n in range(2000):
            if service._queue.qsize() > 900:
                await asyncio.sleep(0.01)
            t0 = time.perf_counter_ns()
            tick("cost", n)
            costs.append((time.perf_counter_ns() - t0) / 1000)
        tick("quit")

        print(f"MQTT event publication, QoS {args.qos}, local mosquitto on 127.0.0.1:{port}")
        print(f"  latency (bus publish -> subscriber), {len(samples)} of {args.n} events received:")
        if samples:
            print(f"    p50 {percentile(samples, 0.5):8.0f} us   p90 {percentile(samples, 0.9):8.0f} us   "
                  f"p99 {percentile(samples, 0.99):8.0f} us   max {max(samples):8.0f} us   "
                  f"mean {statistics.fmean(samples):8.0f} us")
        print(f"  sustained: {sent} events published on the bus in {args.duration:g} s, {received} received, "
              f"{service.stats.dropped - dropped_before} dropped; {received / span:,.0f} events/s at the subscriber")
        print(f"  bus publish cost with MQTT publication on: median {statistics.median(costs):.1f} us, "
              f"p99 {percentile(costs, 0.99):.1f} us")
    finally:
        if runner is not None:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
        if sub is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                sub.wait(3)
            if sub.poll() is None:
                sub.kill()
        broker.terminate()
        broker.wait(5)
        if device is not None:
            device.close()
        shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=2000, help="latency samples (one per millisecond)")
    ap.add_argument("-d", "--duration", type=float, default=3.0, help="seconds of the throughput run")
    ap.add_argument("--qos", type=int, default=0, choices=(0, 1, 2))
    ap.add_argument("--subscriber", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--filter", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.subscriber:
        subscriber(args.subscriber, args.filter, args.qos)
        return
    if not Path(MOSQUITTO).exists():
        raise SystemExit("mosquitto is not installed (apt-get install mosquitto)")
    args.n = max(1, min(args.n, 100_000))
    args.duration = max(0.5, min(args.duration, 60.0))
    asyncio.run(bench(args))


if __name__ == "__main__":
    main()
