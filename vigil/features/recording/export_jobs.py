"""Background exports: an export written to the data folder's `exports/` (destination
"device", downloaded with download.cgi) or to the USB drive (destination "usb", usb.py), with
progress, for long ranges and the web page (record/export/jobs.cgi, getjobstatus.cgi,
download.cgi).

The jobs are the platform's (`vigil.core.jobs`). A job is visible to the account that started
it and to administrators, no one else; its file goes when the job is removed or expires (an
hour after it finished, or when ten newer ones have finished), and no file outlives the process.
A file written to the USB drive is the user's: removing its job leaves it there (a job that
stops before the end removes its partial file).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
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
from vigil.features.recording.const import (
    DESTINATIONS,
    INVALID_REQUEST,
    JOB_NOT_FOUND,
    PROCESSING,
    TOO_MANY_JOBS,
    USB_FULL,
    USB_READ_ONLY,
    USB_REMOVED,
)
from vigil.features.recording.errors import ApiError
from vigil.features.recording.export import (
    ExportCancelled,
    ExportPlan,
    encryption_check,
    plan_export,
    write_layout,
)
from vigil.features.recording.usb import UsbPort, partial_name
from vigil.footage.reader import Transform
from vigil.hal.usb import UsbDrive


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
    destination: str = "device"  # one of DESTINATIONS
    drive: UsbDrive | None = None  # the USB drive it is written to
    final: Path | None = None  # on the USB drive: the name the file gets when it is complete
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
            "owner": self.owner, "created": iso(self.started), "destination": self.destination}
        if self.error is not None:
            out["error"] = {"code": self.error.code, "message": self.error.message}
        return out

    def crashed(self, err: Exception) -> None:
        self.status = "failed"
        self.error = ApiError(PROCESSING, "the export failed: internal error, see the system log")
        self.discard()

    def discard(self) -> None:
        """Remove the file of an export that did not complete (what it is written over)."""
        with contextlib.suppress(OSError):
            self.path.unlink(missing_ok=True)

    def drop(self) -> None:
        """The job is forgotten: its file goes with it, unless the file is on the USB drive."""
        if self.destination == "device" or self.status != "done":
            self.discard()


class ExportJobs:
    MAX_RUNNING = 2
    KEEP_SECONDS = 3600  # a finished job's file is kept this long (or until removed)
    KEEP_FINISHED = 10

    def __init__(self, store: Store, params: ParamTree, logs: Logs, clock: Clock, folder: Path,
                 usb: UsbPort | None = None) -> None:
        self.store = store
        self.params = params
        self.logs = logs
        self.dir = folder
        self.usb = usb
        shutil.rmtree(self.dir, ignore_errors=True)  # jobs do not outlive the process
        self.registry: jobs.Jobs[ExportJob] = jobs.Jobs(clock, keep=self.KEEP_FINISHED, keep_seconds=self.KEEP_SECONDS,
                                                        on_drop=ExportJob.drop)
        if usb is not None:
            usb.when_removed(self._usb_removed)

    def writing_to_usb(self) -> list[ExportJob]:
        return [j for j in self.registry.all() if j.status == "running" and j.destination == "usb"]

    def _usb_removed(self) -> None:
        for job in self.writing_to_usb():
            job.error = ApiError(USB_REMOVED, "the USB drive was pulled out during the export: the export is "
                                 "incomplete (its partial file is removed when the drive is inserted again)")
            job.cancel.set()

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
                    fmt: str, password: str | None, encryption: str | None, filename: str | None,
                    destination: str = "device") -> ExportJob:
        if destination not in DESTINATIONS or (destination == "usb" and self.usb is None):
            offered = [d for d in DESTINATIONS if d != "usb" or self.usb is not None]
            raise ApiError(INVALID_REQUEST, f"unknown destination {destination[:40]!r}; use {' or '.join(offered)}")
        if sum(1 for j in self.registry.all() if j.status == "running") >= self.MAX_RUNNING:
            raise ApiError(TOO_MANY_JOBS, f"at most {self.MAX_RUNNING} exports can run at a time")
        encryption_check(password, encryption)
        plan = await asyncio.to_thread(plan_export, self.store, recording, start, stop, fmt)
        try:
            transform = await asyncio.to_thread(plan.encrypted, password, encryption)  # PBKDF2: off the loop
            size = transform.size(plan.layout.size) if transform else plan.layout.size
            drive = folder = None
            if destination == "usb":
                assert self.usb is not None
                drive, folder = await asyncio.to_thread(self.usb.target, size)
            else:
                self.dir.mkdir(parents=True, exist_ok=True)
                floor = self.params.get_int("Recording.FreeSpaceFloorMB") * 1_000_000
                if shutil.disk_usage(self.dir).free - size < floor:
                    raise ApiError(PROCESSING, "not enough free space for this export; download it directly instead")
        except BaseException:
            plan.layout.close()
            raise
        name = plan.filename(filename) + (".enc" if transform else "")
        if folder is not None:
            name = _unused_name(folder, name)

        def make(job_id: int, now: float) -> ExportJob:
            path = self.dir / f"job-{job_id}.part" if folder is None else folder / partial_name(name)
            return ExportJob(id=job_id, owner=who.name, started=now, recording=plan.recording, fmt=fmt,
                             encrypted=transform is not None, filename=name, size=size, first_frame=plan.first_frame,
                             shown_start=plan.shown_start, stop=plan.stop, path=path, destination=destination,
                             drive=drive, final=None if folder is None else folder / name)

        job = self.registry.start(make, lambda job: self._run(job, plan, transform))
        self.logs.audit(who.name, f"started export job {job.id} of recording {plan.recording} "
                        f"{iso(job.shown_start)} to {iso(job.stop)} as {fmt}"
                        + (" (encrypted)" if transform else "")
                        + (f" to the USB drive {drive.label}" if drive is not None else ""), "recording")
        return job

    async def _run(self, job: ExportJob, plan: ExportPlan, transform: Transform | None) -> None:
        def progress(done: int) -> None:
            job.written = done

        def work() -> None:
            out = os.open(job.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
            try:
                write_layout(plan.layout, out, transform, progress, job.cancel.is_set)
                if job.final is not None:  # on the drive before it counts as done
                    os.fsync(out)
            finally:
                os.close(out)
            if job.final is not None:
                if job.cancel.is_set():  # (the drive went while the last bytes were written)
                    raise ExportCancelled()
                os.rename(job.path, job.final)
                job.path = job.final

        try:
            await asyncio.to_thread(work)
            job.status = "done"
            job.written = job.size
            if job.drive is not None:
                self.logs.system(f"export job {job.id} written to the USB drive {job.drive.label} as {job.filename}",
                                 "info")
        except ExportCancelled:
            job.status = "failed" if job.error is not None else "cancelled"
            self._stopped(job)
        except asyncio.CancelledError:
            job.cancel.set()
            job.status = "cancelled"
            job.discard()
            raise
        except OSError as err:
            if job.drive is not None and self.usb is not None:  # was it pulled out? (the port is polled)
                await asyncio.to_thread(self.usb.hardware.refresh)
            job.status = "failed"
            job.error = self._write_error(job, err)
            self._stopped(job)
        finally:
            plan.layout.close()

    def _stopped(self, job: ExportJob) -> None:
        """A job that ended before its file was complete: its partial file goes (when it can: a
        drive pulled out keeps it until it is inserted again), and a failure is logged."""
        if job.drive is None or self.usb is None or self.usb.present(job.drive):
            job.discard()
        if job.error is not None:
            self.logs.system(f"export job {job.id} failed: {job.error.message}", "error")

    def _write_error(self, job: ExportJob, err: OSError) -> ApiError:
        if job.drive is None or self.usb is None:
            return ApiError(PROCESSING, f"writing the export failed: {err}")
        label = job.drive.label
        if not self.usb.present(job.drive):
            return ApiError(USB_REMOVED, f"the USB drive {label} was pulled out during the export: the export is "
                            "incomplete (its partial file is removed when the drive is inserted again)")
        if err.errno == errno.ENOSPC:
            return ApiError(USB_FULL, f"the USB drive {label} is full: the export is incomplete and was removed")
        if err.errno == errno.EROFS:
            return ApiError(USB_READ_ONLY, f"the USB drive {label} is read-only: nothing was written")
        return ApiError(PROCESSING, f"writing the export to the USB drive {label} failed: {err}")

    async def remove(self, job: ExportJob) -> None:
        """Cancel the job if it runs, wait (a few seconds at most) until it stopped writing,
        and delete its file."""
        job.cancel.set()
        self.registry.drop(job)
        task = self.registry.task(job)
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=5)
            if job.status != "done":
                job.discard()

    async def close(self) -> None:
        await self.registry.close()


def _unused_name(folder: Path, name: str) -> str:
    """`name`, or `name (2)`, `name (3)` ... when the folder holds one already: nothing on the
    drive is written over."""
    stem, dot, extension = name.partition(".")
    candidate, n = name, 1
    while (folder / candidate).exists() or (folder / partial_name(candidate)).exists():
        n += 1
        candidate = f"{stem} ({n}){dot}{extension}"
    return candidate


EXPORT_JOBS: Key[ExportJobs] = Key("recording-export")
