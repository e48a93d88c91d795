"""The job registry: ids, background work, finished stamps from the injectable clock, expiry by
count and by age (monotonic), removal, and a crash that becomes the job's own failure."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import pytest

from vigil.core.clock import FakeClock
from vigil.core.jobs import Job, Jobs


@dataclass(kw_only=True)
class Sample(Job):
    result: str = "running"

    def public(self) -> dict[str, Any]:
        return {"id": self.id, "result": self.result}

    def crashed(self, err: Exception) -> None:
        self.result = f"crashed: {err}"


def make(job_id: int, now: float) -> Sample:
    return Sample(id=job_id, owner="someone", started=now)


async def finish(job: Sample) -> None:
    job.result = "done"


async def test_jobs_are_numbered_run_in_the_background_and_stamped_with_the_device_clock() -> None:
    clock = FakeClock(5000.0)
    jobs: Jobs[Sample] = Jobs(clock, keep=10)
    release = asyncio.Event()

    async def work(job: Sample) -> None:
        await release.wait()
        job.result = "done"

    first, second = jobs.start(make, work), jobs.start(make, finish)
    assert (first.id, second.id) == (1, 2) and first.started == 5000.0 and not first.done
    clock.advance(7)
    release.set()
    await jobs.wait(first)
    await jobs.wait(second)
    assert first.finished == 5007.0 and first.result == "done" and first.done
    assert [j.id for j in jobs.all()] == [1, 2] and jobs.get(2) is second and jobs.get(3) is None


async def test_finished_jobs_expire_by_count_and_by_age_and_go_through_on_drop() -> None:
    clock = FakeClock()
    dropped: list[int] = []
    jobs: Jobs[Sample] = Jobs(clock, keep=2, keep_seconds=60, on_drop=lambda job: dropped.append(job.id))
    for _ in range(3):
        await jobs.wait(jobs.start(make, finish))
        clock.advance(1)
    assert [j.id for j in jobs.all()] == [2, 3] and dropped == [1]  # only two finished ones kept
    clock.set_time(clock.time() + 3600)  # setting the device time does not age jobs ...
    assert [j.id for j in jobs.all()] == [2, 3]
    clock.advance(59)  # ... the monotonic clock does: job 2 finished 60 s ago, job 3 59 s ago
    assert [j.id for j in jobs.all()] == [3] and dropped == [1, 2]


async def test_a_running_job_is_never_expired_and_a_removed_one_is_forgotten() -> None:
    clock = FakeClock()
    jobs: Jobs[Sample] = Jobs(clock, keep=0, keep_seconds=0)
    release = asyncio.Event()

    async def work(job: Sample) -> None:
        await release.wait()

    running = jobs.start(make, work)
    clock.advance(1000)
    assert jobs.get(running.id) is running
    jobs.drop(running)
    assert jobs.get(running.id) is None
    release.set()
    await jobs.wait(running)
    assert running.done and jobs.all() == []


async def test_an_unexpected_error_becomes_the_jobs_failure(caplog: pytest.LogCaptureFixture) -> None:
    jobs: Jobs[Sample] = Jobs(FakeClock(), keep=5)

    async def broken(job: Sample) -> None:
        raise ValueError("bad footage")

    job = await jobs.wait(jobs.start(make, broken))
    assert job.result == "crashed: bad footage" and job.done
    assert "job 1 failed" in caplog.text


async def test_close_cancels_running_work_and_wait_gives_up_after_its_timeout() -> None:
    jobs: Jobs[Sample] = Jobs(FakeClock(), keep=5)
    job = jobs.start(make, lambda job: asyncio.Event().wait())
    with pytest.raises(TimeoutError, match="job 1 not done"):
        await jobs.wait(job, timeout=0.01)
    await jobs.close()
    assert job.done and jobs.task(job) is None
