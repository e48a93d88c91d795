"""Long-running operations as jobs: an id to poll, progress, a background task, a public view
and expiry (disk tools behind VAPIX disks/job.cgi and networkshare/job.cgi, exports behind
record/export/jobs.cgi).

`Jobs[J]` keeps one feature's jobs. It numbers them, runs each one's work as a background task,
stamps when each finished (device clock), and drops finished jobs once more than `keep` of them
are kept or, with `keep_seconds`, once they have been finished that long (measured on the
monotonic clock, so setting the device time neither keeps nor drops them early). A feature's
job type subclasses `Job` with what its API shows and says how an unexpected failure reads;
who may see which job is the feature's business.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from vigil.core.clock import Clock

log = logging.getLogger("vigil.jobs")


@dataclass(kw_only=True)
class Job:
    id: int
    owner: str  # the account that started it
    started: float  # device clock
    finished: float | None = None  # device clock; None while the work runs

    @property
    def done(self) -> bool:
        return self.finished is not None

    def public(self) -> dict[str, Any]:
        """The job as its API shows it."""
        raise NotImplementedError

    def crashed(self, err: Exception) -> None:
        """The work raised an error it did not report itself: record the failure in the job's
        own terms (the registry has logged the traceback)."""
        raise NotImplementedError


J = TypeVar("J", bound=Job)


class Jobs(Generic[J]):
    def __init__(self, clock: Clock, keep: int, keep_seconds: float | None = None,
                 on_drop: Callable[[J], None] | None = None) -> None:
        self.clock = clock
        self.keep = keep  # finished jobs kept for polling
        self.keep_seconds = keep_seconds
        self.on_drop = on_drop  # called for each job that expires or is removed (to delete its file ...)
        self._ids = itertools.count(1)
        self._jobs: dict[int, J] = {}
        self._tasks: dict[int, asyncio.Task] = {}
        self._finished_at: dict[int, float] = {}  # monotonic clock

    def start(self, make: Callable[[int, float], J], work: Callable[[J], Awaitable[None]]) -> J:
        """A new job `make(id, now)`, whose `work(job)` runs in the background from now on."""
        self.expire()
        job = make(next(self._ids), self.clock.time())
        self._jobs[job.id] = job
        task = asyncio.ensure_future(self._run(job, work))
        self._tasks[job.id] = task
        task.add_done_callback(lambda _task, n=job.id: self._tasks.pop(n, None))
        return job

    async def _run(self, job: J, work: Callable[[J], Awaitable[None]]) -> None:
        try:
            await work(job)
        except Exception as err:  # noqa: BLE001 - a job reports, it never takes the device down
            log.exception("job %s failed", job.id)
            job.crashed(err)
        finally:
            job.finished = self.clock.time()
            if job.id in self._jobs:  # not removed meanwhile
                self._finished_at[job.id] = self.clock.monotonic()

    def get(self, job_id: int) -> J | None:
        self.expire()
        return self._jobs.get(job_id)

    def all(self) -> list[J]:
        """The jobs kept, oldest first."""
        self.expire()
        return sorted(self._jobs.values(), key=lambda j: j.id)

    def task(self, job: J) -> asyncio.Task | None:
        """The job's background task while it runs."""
        return self._tasks.get(job.id)

    def drop(self, job: J) -> None:
        """Forget a job (its work, if still running, goes on until it sees that it should stop)."""
        if self._jobs.pop(job.id, None) is not None:
            self._finished_at.pop(job.id, None)
            if self.on_drop is not None:
                self.on_drop(job)

    def expire(self) -> None:
        now = self.clock.monotonic()
        finished = sorted(self._finished_at.items(), key=lambda item: item[1])
        surplus = len(finished) - self.keep
        for n, (job_id, at) in enumerate(finished):
            if n < surplus or (self.keep_seconds is not None and now - at > self.keep_seconds):
                self.drop(self._jobs[job_id])

    async def wait(self, job: J, timeout: float = 30.0) -> J:
        """Tests and the CLI: wait until `job` is done."""
        task = self._tasks.get(job.id)
        if task is not None and not job.done:
            finished, _running = await asyncio.wait({task}, timeout=timeout)
            if not finished:
                raise TimeoutError(f"job {job.id} not done after {timeout} s")
        return job

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
