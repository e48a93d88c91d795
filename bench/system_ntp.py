"""NTP convergence: how long the device's clock takes to come back to chrony's time from a known
offset, over plain NTP and over NTS.

    .venv/bin/python bench/system_ntp.py                 # 2 s offset, 5 runs each, plus one slew run
    .venv/bin/python bench/system_ntp.py -n 10 --slew 0.9
    .venv/bin/python bench/system_ntp.py --in-process    # the in-process server even with chrony

The bench starts chrony (`chronyd -d -x`, tests/peers/chrony.py) on free loopback ports with an
NTS-KE listener, builds a device in-process on the host's clock in a temporary folder, sets its
clock the given offset ahead of chrony, points it at chrony and starts its NTP client. It polls
chrony directly meanwhile and reports the time until the device's clock is within 1 ms of
chrony's, when the client first counted itself synchronised, and the error left once the
correction is done (median of 20 readings). A 2 s offset is stepped at the first poll; the slew
run shows an offset under the step threshold corrected gradually. Baseline, measured in the same
run: one plain NTP exchange with the server from a bare socket. Nothing leaves 127.0.0.1.

Without chrony (or with `--in-process`) the server is the time tests' in-process NTP server
(tests/peers/ntp.py) serving the host's time from a thread of its own; the output says so, and
the NTS case is left out (that server has no NTS-KE).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(HERE.parent))

from tests.peers.chrony import Chrony, installed, ntp_time  # the tests' chrony peer (no pytest)
from tests.peers.ntp import FakeNtpServer, start_ntp_server
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Ports
from vigil.features.timesync.const import STEP_THRESHOLD
from vigil.features.timesync.service import TIMESYNC_SERVICE

WITHIN = 0.001  # converged: the device's clock within 1 ms of chrony's


@dataclass(frozen=True)
class Reference:
    """The NTP server whose time is the truth: where to ask plainly, and its NTS-KE listener if any."""

    name: str
    ntp_port: int
    nts_server: str = ""
    nts_ca: Path | None = None

    @property
    def server(self) -> str:
        return f"127.0.0.1:{self.ntp_port}"


class ThreadedNtpServer:
    """The in-process NTP server on an event loop of its own thread, so that it answers while the
    bench's loop (the device) or a blocking reading waits, as chrony would from its own process."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bench-ntp-server", daemon=True)
        self.server: FakeNtpServer | None = None

    def start(self) -> FakeNtpServer:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(start_ntp_server(time.time), self.loop).result(5)
        return self.server

    def stop(self) -> None:
        if self.server is not None:
            self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@dataclass(frozen=True)
class Run:
    converged: float  # seconds until the device's clock was within WITHIN of the reference
    synced: float  # seconds until the client first counted itself synchronised
    left: float  # seconds of error once the correction was done (absolute, median)
    stepped: bool


def error_now(clock: Clock, reference: Reference) -> float:
    """The device's clock minus the reference's, read around one NTP exchange."""
    before = clock.time()
    theirs = ntp_time(reference.ntp_port)
    return (before + clock.time()) / 2 - theirs


async def converge(reference: Reference, folder: Path, offset: float, nts: bool, timeout: float) -> Run:
    device = build_device("s3016", folder, Ports(http=80, https=443), Clock())
    try:
        settings = {"Time.ObtainFromDHCP": "no", "Time.NTP.Server": reference.server, "Time.NTP.MinPoll": "6"}
        if nts:
            assert reference.nts_ca is not None
            store = folder / "certificates"
            store.mkdir(exist_ok=True)
            shutil.copy(reference.nts_ca, store / "benchca.pem")
            settings |= {"Time.NTP.NTS": "yes", "Time.NTP.NTSKEServer": reference.nts_server,
                         "Time.NTP.NTSKECACerts": "benchca"}
        device.params.set_internal(settings, "bench")
        service = device.features[TIMESYNC_SERVICE]
        device.clock.set_time(time.time() + offset)
        start = time.perf_counter()
        task = asyncio.create_task(service.run())
        synced_at = None
        try:
            while True:
                await asyncio.sleep(0.001)
                now = time.perf_counter() - start
                if synced_at is None and service.state.synced:
                    synced_at = now
                if abs(error_now(device.clock, reference)) < WITHIN:
                    converged = time.perf_counter() - start
                    break
                if now > timeout:
                    raise TimeoutError(f"not converged after {timeout:g} s: {service.state.error}")
            while device.clock.slew_remaining:  # the error left is the one once the slew is done
                await asyncio.sleep(0.01)
            left = statistics.median(abs(error_now(device.clock, reference)) for _ in range(20))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        return Run(converged, synced_at or converged, left, service.state.adjustment == "step")
    finally:
        device.close()


def baseline(reference: Reference, count: int = 200) -> float:
    times = []
    for _ in range(count):
        start = time.perf_counter()
        ntp_time(reference.ntp_port)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def show(name: str, runs: list[Run]) -> None:
    conv = [r.converged * 1000 for r in runs]
    synced = [r.synced * 1000 for r in runs]
    left = [r.left * 1e6 for r in runs]
    how = "stepped" if all(r.stepped for r in runs) else "slewed" if not any(r.stepped for r in runs) else "mixed"
    print(f"{name:<28} {how:<8} converged in ms: median {statistics.median(conv):9.2f}  min {min(conv):9.2f}  "
          f"max {max(conv):9.2f} | first synced {statistics.median(synced):8.2f} ms | "
          f"error after: {statistics.median(left):6.1f} us  ({len(runs)} runs)")


async def measure(reference: Reference, root: Path, args: argparse.Namespace) -> None:
    print(f"{reference.name} on {reference.server}"
          + (f", NTS-KE on {reference.nts_server}" if reference.nts_server else ", no NTS-KE (NTS case left out)")
          + f"; converged = within {WITHIN * 1000:g} ms of it; step threshold {STEP_THRESHOLD:g} s")
    print(f"baseline: one plain NTP exchange from a bare socket: {baseline(reference) * 1e6:.0f} us (median of 200)")
    cases = [(f"NTP, {args.offset:+g} s", False)]
    if reference.nts_server:
        cases.append((f"NTS, {args.offset:+g} s", True))
    for name, nts in cases:
        runs = [await converge(reference, root / f"{'nts' if nts else 'ntp'}-{i}", args.offset, nts, 30)
                for i in range(args.runs)]
        show(name, runs)
    if args.slew:
        run = await converge(reference, root / "slew", args.slew, False, args.slew * 12 + 30)
        show(f"NTP, {args.slew:+g} s (slew)", [run])


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("-n", "--runs", type=int, default=5, help="runs per case")
    parser.add_argument("--offset", type=float, default=2.0, help="the offset to converge from, seconds")
    parser.add_argument("--slew", type=float, default=0.5, help="the offset of the slew run (0: none)")
    parser.add_argument("--in-process", action="store_true", help="the in-process NTP server even if chrony is installed")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="vigil-bench-ntp-") as tmp:
        root = Path(tmp)
        if installed() and not args.in_process:
            chrony = Chrony(root / "chrony").start()
            try:
                await measure(Reference("chrony", chrony.ntp_port, chrony.nts_server, chrony.certs.ca), root, args)
            finally:
                chrony.stop()
        else:
            why = "as asked" if args.in_process else "chrony is not installed: apt-get install chrony (make debs)"
            print(f"in-process NTP server serving the host's time ({why})")
            threaded = ThreadedNtpServer()
            try:
                server = threaded.start()
                await measure(Reference("in-process NTP server", server.port), root, args)
            finally:
                threaded.stop()


if __name__ == "__main__":
    asyncio.run(main())
