"""Long-running storage tools as jobs: a job id to poll, progress in percent, a result, and an
audit entry when the tool starts and when it ends (VAPIX disks/job.cgi, networkshare/job.cgi).
The registry itself is the platform's (`vigil.core.jobs`); this module adds what a storage
tool's job shows and the rule that one tool at a time works on a disk.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from vigil.core import jobs
from vigil.core.clock import Clock
from vigil.core.logs import Logs

log = logging.getLogger("vigil.storage")
KEEP = 50  # finished jobs kept for polling


class StorageError(Exception):
    """A refused storage request; `str()` is the text the user sees. `code` is the VAPIX error
    code of the API that refuses (network share errors 200..760, disk properties 10..160)."""

    def __init__(self, message: str, code: int = 10) -> None:
        super().__init__(message)
        self.code = code


@dataclass(kw_only=True)
class Job(jobs.Job):
    disk_id: str
    action: str  # format | checkdisk | repair | mount | unmount | raid | test | encrypt ...
    progress: int = 0
    result: str = "OK"  # OK (running or done) | ERROR
    description: str = ""
    code: int = 0  # the VAPIX error code when result is ERROR

    def step(self, progress: float, description: str | None = None) -> None:
        self.progress = max(self.progress, min(99, int(progress)))
        if description is not None:
            self.description = description

    def public(self) -> dict:
        return {"jobId": self.id, "diskId": self.disk_id, "action": self.action, "progress": self.progress,
                "result": self.result, "description": self.description, "done": self.done,
                "errorCode": self.code or None}

    def crashed(self, err: Exception) -> None:
        self.result, self.code, self.description, self.progress = "ERROR", 10, f"Internal error: {err}", 100


class Jobs:
    def __init__(self, logs: Logs, clock: Clock) -> None:
        self.logs = logs
        self.registry: jobs.Jobs[Job] = jobs.Jobs(clock, keep=KEEP)

    def running(self, disk_id: str) -> Job | None:
        return next((j for j in self.registry.all() if j.disk_id == disk_id and not j.done and j.action != "test"),
                    None)

    def get(self, job_id: int) -> Job | None:
        return self.registry.get(job_id)

    def recent(self) -> list[Job]:
        return self.registry.all()

    def start(self, disk_id: str, action: str, actor: str, work: Callable[[Job], Awaitable[str]],
              what: str = "") -> Job:
        """Run `work(job)` in the background; it returns the result description or raises
        StorageError. Only one job (other than a connection test) runs per disk at a time."""
        if action != "test":
            busy = self.running(disk_id)
            if busy is not None:
                raise StorageError(f"{disk_id} is busy with a {busy.action} job ({busy.progress} % done); "
                                   "wait until it is done")
        label = what or f"{action} {disk_id}"

        def make(job_id: int, now: float) -> Job:
            return Job(id=job_id, owner=actor, started=now, disk_id=disk_id, action=action)

        job = self.registry.start(make, lambda job: self._run(job, work, label))
        self.logs.audit(actor, f"started storage tool: {label} (job {job.id})", "storage")
        return job

    async def _run(self, job: Job, work: Callable[[Job], Awaitable[str]], label: str) -> None:
        try:
            job.description = await work(job) or "Done"
            job.progress = 100
            self.logs.audit(job.owner, f"storage tool done: {label}: {job.description}", "storage")
        except StorageError as err:
            job.result, job.code, job.description, job.progress = "ERROR", err.code, str(err), 100
            self.logs.audit(job.owner, f"storage tool failed: {label}: {err}", "storage")
        except Exception as err:  # noqa: BLE001 - a job reports, it never takes the device down
            log.exception("storage job %s failed", label)
            job.crashed(err)
            self.logs.audit(job.owner, f"storage tool failed: {label}: internal error", "storage")

    async def wait(self, job: Job, timeout: float = 30.0) -> Job:
        """Tests and the CLI: wait until `job` is done."""
        try:
            return await self.registry.wait(job, timeout)
        except TimeoutError:
            raise TimeoutError(f"job {job.id} ({job.action}) not done after {timeout} s") from None

    async def close(self) -> None:
        await self.registry.close()
