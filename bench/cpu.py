"""What the benchmarks measure of the processes they start: CPU time (with their children's) over
a window of wall time, and the peak memory of their process trees while it lasts."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import psutil


def cpu_of(procs: list[psutil.Process]) -> float:
    """CPU-seconds the processes (and their waited-for children) have used so far."""
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.NoSuchProcess:
            pass
    return total


class Sampler:
    """Peak summed RSS of a process tree, sampled while the run lasts."""

    def __init__(self, roots: list[psutil.Process]) -> None:
        self.roots = roots
        self.peak = 0

    def sample(self) -> None:
        total = 0
        for root in self.roots:
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                continue
            for p in procs:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += p.memory_info().rss
        self.peak = max(self.peak, total)


@dataclass
class Window:
    cpu: dict[str, float]  # CPU-seconds of each group of processes
    wall: float  # seconds
    peak: int  # the sampler's peak summed RSS, bytes (0 without one)

    def cores(self, name: str) -> float:
        """The share of one core the group used: CPU-seconds per second."""
        return self.cpu[name] / self.wall


class Span:
    """CPU and wall time of groups of processes from now until `done()`: a window whose end
    something else decides (an asyncio run of clients)."""

    def __init__(self, groups: dict[str, list[psutil.Process]]) -> None:
        self.groups = groups
        self.before = {name: cpu_of(procs) for name, procs in groups.items()}
        self.t0 = time.monotonic()

    def done(self, sampler: Sampler | None = None) -> Window:
        return Window({name: cpu_of(procs) - self.before[name] for name, procs in self.groups.items()},
                      time.monotonic() - self.t0, sampler.peak if sampler is not None else 0)


def measure(groups: dict[str, list[psutil.Process]], seconds: float, sampler: Sampler | None = None) -> Window:
    """The CPU each group of processes uses over `seconds` (memory sampled once a second)."""
    span = Span(groups)
    while time.monotonic() - span.t0 < seconds:
        if sampler is not None:
            sampler.sample()
        time.sleep(min(1.0, max(0.0, seconds - (time.monotonic() - span.t0))))
    return span.done(sampler)
