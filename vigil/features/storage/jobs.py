"""Long-running storage tools as jobs: a job id to poll, progress in percent, a result, and an
audit entry when the tool starts and when it ends (VAPIX disks/job.cgi, networkshare/job.cgi).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vigil.core.logs import Logs

log = logging.getLogger("vigil.storage")
KEEP = 50  # finished jobs kept for polling


class StorageError(Exception):
    """A refused storage request; `str()` is the text the user sees. `code` is the VAPIX error
    code of the API that refuses (network share errors 200..760, disk properties 10..160)."""

    def __init__(self, message: str, code: int = 10) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class Job:
    id: int
    disk_id: str
    action: str  # format | checkdisk | repair | mount | unmount | raid | test
    actor: str
    started: float
    progress: int = 0
    result: str = "OK"  # OK (running or done) | ERROR
    description: str = ""
    code: int = 0  # the VAPIX error code when result is ERROR
    finished: float | None = None

    @property
    def done(self) -> bool:
        return self.finished is not None

    def step(self, progress: float, description: str | None = None) -> None:
        self.progress = max(self.progress, min(99, int(progress)))
        if description is not None:
            self.description = description

    def public(self) -> dict:
        return {"jobId": self.id, "diskId": self.disk_id, "action": self.action, "progress": self.progress,
                "result": self.result, "description": self.description, "done": self.done,
                "errorCode": self.code or None}


class Jobs:
    def __init__(self, logs: Logs, clock) -> None:
        self.logs = logs
        self.clock = clock
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._tasks: set[asyncio.Task] = set()

    def running(self, disk_id: str) -> Job | None:
        return next((j for j in self._jobs.values() if j.disk_id == disk_id and not j.done and j.action != "test"),
                    None)

    def get(self, job_id: int) -> Job | None:
        return self._jobs.get(job_id)

    def recent(self) -> list[Job]:
        return sorted(self._jobs.values(), key=lambda j: j.id)

    def start(self, disk_id: str, action: str, actor: str, work: Callable[[Job], Awaitable[str]],
              what: str = "") -> Job:
        """Run `work(job)` in the background; it returns the result description or raises
        StorageError. Only one job (other than a connection test) runs per disk at a time."""
        if action != "test":
            busy = self.running(disk_id)
            if busy is not None:
                raise StorageError(f"{disk_id} is busy with a {busy.action} job ({busy.progress} % done); "
                                   "wait until it is done")
        job = Job(next(self._ids), disk_id, action, actor, self.clock.time())
        self._jobs[job.id] = job
        for old in sorted(j.id for j in self._jobs.values() if j.done)[:-KEEP]:
            del self._jobs[old]
        label = what or f"{action} {disk_id}"
        self.logs.audit(actor, f"started storage tool: {label} (job {job.id})", "storage")
        task = asyncio.ensure_future(self._run(job, work, label))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return job

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[str]], label: str) -> None:
        try:
            job.description = await work(job) or "Done"
            job.progress = 100
            self.logs.audit(job.actor, f"storage tool done: {label}: {job.description}", "storage")
        except StorageError as err:
            job.result, job.code, job.description, job.progress = "ERROR", err.code, str(err), 100
            self.logs.audit(job.actor, f"storage tool failed: {label}: {err}", "storage")
        except Exception as err:  # noqa: BLE001 - a job reports, it never takes the device down
            log.exception("storage job %s failed", label)
            job.result, job.code, job.description, job.progress = "ERROR", 10, f"Internal error: {err}", 100
            self.logs.audit(job.actor, f"storage tool failed: {label}: internal error", "storage")
        finally:
            job.finished = self.clock.time()

    async def wait(self, job: Job, timeout: float = 30.0) -> Job:
        """Tests and the CLI: wait until `job` is done."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not job.done:
            if loop.time() > deadline:
                raise TimeoutError(f"job {job.id} ({job.action}) not done after {timeout} s")
            await asyncio.sleep(0.01)
        return job

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
