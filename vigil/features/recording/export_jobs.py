"""Background exports: an export written to the data folder's `exports/`, with progress, for
long ranges and the web page (record/export/jobs.cgi, getjobstatus.cgi, download.cgi).

The jobs are the platform's (`vigil.core.jobs`). A job is visible to the account that started
it and to administrators, no one else; its file goes when the job is removed or expires (an
hour after it finished, or when ten newer ones have finished), and no file outlives the process.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vigil.core import jobs
from vigil.core.auth import Principal
from vigil.core.clock import Clock
from vigil.core.logs import Logs
from vigil.core.params import ParamTree
from vigil.core.registry import Key
from vigil.core.roles import Role
from vigil.core.store import Store
from vigil.features.recording.api import iso, whole_number
from vigil.features.recording.const import INVALID_REQUEST, JOB_NOT_FOUND, PROCESSING, TOO_MANY_JOBS
from vigil.features.recording.errors import ApiError
from vigil.features.recording.export import (
    ExportCancelled,
    ExportPlan,
    encryption_check,
    plan_export,
    write_layout,
)
from vigil.footage.reader import Transform


@dataclass(kw_only=True)
class ExportJob(jobs.Job):
    recording: str
    fmt: str
    encrypted: bool
    filename: str
    size: int
    first_frame: float
    shown_start: float
    stop: float
    path: Path
    status: str = "running"  # running | done | failed | cancelled
    written: int = 0
    error: ApiError | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def progress(self) -> int:
        if self.status == "done":
            return 100
        return min(99, self.written * 100 // self.size) if self.size else 0

    def public(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "jobId": self.id, "recordingId": self.recording, "format": self.fmt, "encrypted": self.encrypted,
            "status": self.status, "progress": self.progress, "bytes": self.written, "size": self.size,
            "startTime": iso(self.first_frame if self.fmt == "matroska" else self.shown_start),
            "requestedStartTime": iso(self.shown_start), "stopTime": iso(self.stop), "fileName": self.filename,
            "owner": self.owner, "created": iso(self.started)}
        if self.error is not None:
            out["error"] = {"code": self.error.code, "message": self.error.message}
        return out

    def crashed(self, err: Exception) -> None:
        self.status = "failed"
        self.error = ApiError(PROCESSING, "the export failed: internal error, see the system log")
        self.path.unlink(missing_ok=True)


class ExportJobs:
    MAX_RUNNING = 2
    KEEP_SECONDS = 3600  # a finished job's file is kept this long (or until removed)
    KEEP_FINISHED = 10

    def __init__(self, store: Store, params: ParamTree, logs: Logs, clock: Clock, folder: Path) -> None:
        self.store = store
        self.params = params
        self.logs = logs
        self.dir = folder
        shutil.rmtree(self.dir, ignore_errors=True)  # jobs do not outlive the process
        self.registry: jobs.Jobs[ExportJob] = jobs.Jobs(clock, keep=self.KEEP_FINISHED, keep_seconds=self.KEEP_SECONDS,
                                                        on_drop=lambda job: job.path.unlink(missing_ok=True))

    def visible(self, who: Principal) -> list[ExportJob]:
        return [j for j in self.registry.all() if who.role >= Role.ADMIN or j.owner == who.name]

    def get(self, job_id: object, who: Principal) -> ExportJob:
        number = whole_number(job_id)
        if number is None:
            given = f"{job_id[:40]!r}" if isinstance(job_id, str) else f"a {type(job_id).__name__}"
            raise ApiError(INVALID_REQUEST, f"the job id must be a whole number, not {given}")
        job = next((j for j in self.visible(who) if j.id == number), None)
        if job is None:
            raise ApiError(JOB_NOT_FOUND, f"no export job {number}", 404)
        return job

    async def start(self, who: Principal, recording: str | None, start: float | None, stop: float | None,
                    fmt: str, password: str | None, encryption: str | None, filename: str | None) -> ExportJob:
        if sum(1 for j in self.registry.all() if j.status == "running") >= self.MAX_RUNNING:
            raise ApiError(TOO_MANY_JOBS, f"at most {self.MAX_RUNNING} exports can run at a time")
        encryption_check(password, encryption)
        plan = await asyncio.to_thread(plan_export, self.store, recording, start, stop, fmt)
        try:
            transform = await asyncio.to_thread(plan.encrypted, password, encryption)  # PBKDF2: off the loop
            size = transform.size(plan.layout.size) if transform else plan.layout.size
            self.dir.mkdir(parents=True, exist_ok=True)
            floor = self.params.get_int("Recording.FreeSpaceFloorMB") * 1_000_000
            if shutil.disk_usage(self.dir).free - size < floor:
                raise ApiError(PROCESSING, "not enough free space for this export; download it directly instead")
        except BaseException:
            plan.layout.close()
            raise
        name = plan.filename(filename) + (".enc" if transform else "")

        def make(job_id: int, now: float) -> ExportJob:
            return ExportJob(id=job_id, owner=who.name, started=now, recording=plan.recording, fmt=fmt,
                             encrypted=transform is not None, filename=name, size=size, first_frame=plan.first_frame,
                             shown_start=plan.shown_start, stop=plan.stop, path=self.dir / f"job-{job_id}.part")

        job = self.registry.start(make, lambda job: self._run(job, plan, transform))
        self.logs.audit(who.name, f"started export job {job.id} of recording {plan.recording} "
                        f"{iso(job.shown_start)} to {iso(job.stop)} as {fmt}"
                        + (" (encrypted)" if transform else ""), "recording")
        return job

    async def _run(self, job: ExportJob, plan: ExportPlan, transform: Transform | None) -> None:
        def progress(done: int) -> None:
            job.written = done

        def work() -> None:
            out = os.open(job.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                write_layout(plan.layout, out, transform, progress, job.cancel.is_set)
            finally:
                os.close(out)

        try:
            await asyncio.to_thread(work)
            job.status = "done"
            job.written = job.size
        except ExportCancelled:
            job.status = "cancelled"
            job.path.unlink(missing_ok=True)
        except asyncio.CancelledError:
            job.cancel.set()
            job.status = "cancelled"
            job.path.unlink(missing_ok=True)
            raise
        except OSError as err:
            job.status = "failed"
            job.error = ApiError(PROCESSING, f"writing the export failed: {err}")
            job.path.unlink(missing_ok=True)
            self.logs.system(f"export job {job.id} failed: {err}", "error")
        finally:
            plan.layout.close()

    async def remove(self, job: ExportJob) -> None:
        """Cancel the job if it runs, wait (a few seconds at most) until it stopped writing,
        and delete its file."""
        job.cancel.set()
        self.registry.drop(job)
        task = self.registry.task(job)
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=5)
            job.path.unlink(missing_ok=True)

    async def close(self) -> None:
        await self.registry.close()


EXPORT_JOBS: Key[ExportJobs] = Key("recording-export")
