"""Background exports in-process: jobs keep time by the device clock (created, expiry), stay
private to their owner, and job ids of the wrong kind (1e999, true, 1.5, 5,000 digits) are API
errors in the export API's codes, never "Internal error"."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import add_account, asgi_client, client_as
from tests.recording.footage import record
from vigil.core.clock import FakeClock
from vigil.device import Device
from vigil.features.recording.api import iso
from vigil.features.recording.export_jobs import EXPORT_JOBS, ExportJobs

JOBS = "/axis-cgi/record/export/jobs.cgi"


async def jobs_call(client: httpx.AsyncClient, method: str, params: dict | None = None,
                    raw: str | None = None) -> dict:
    body = raw if raw is not None else json.dumps({"apiVersion": "1.0", "method": method, "params": params or {}})
    r = await client.post(JOBS, content=body)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def footage(device: Device, tmp_path: Path) -> str:
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    _store, recording = record(tmp_path, "PCMU", seconds=3, store=device.store)
    return recording


async def test_export_jobs_keep_time_by_the_device_clock(device: Device, clock: FakeClock, footage: str) -> None:
    exports = device.features[EXPORT_JOBS]
    async with client_as(device, "operator") as operator:
        job = (await jobs_call(operator, "startExport", {"recordingId": footage, "format": "matroska"}))["data"]["job"]
        assert job["created"] == iso(clock.time())
        await exports.registry.wait(exports.registry.get(job["jobId"]))
        done = (await jobs_call(operator, "getExport", {"jobId": job["jobId"]}))["data"]["job"]
        assert done["status"] == "done" and done["progress"] == 100
        path = exports.registry.get(job["jobId"]).path
        assert path.stat().st_size == done["size"]
        clock.advance(ExportJobs.KEEP_SECONDS - 1)
        assert "data" in await jobs_call(operator, "getExport", {"jobId": job["jobId"]})
        clock.advance(2)  # an hour after it finished, by the device's clock: gone, with its file
        assert (await jobs_call(operator, "getExport", {"jobId": job["jobId"]}))["error"]["code"] == 190
    assert not path.exists()


async def test_export_jobs_are_private_to_their_owner(device: Device, footage: str) -> None:
    async with client_as(device, "operator") as operator:
        job = (await jobs_call(operator, "startExport", {"recordingId": footage}))["data"]["job"]
    exports = device.features[EXPORT_JOBS]
    await exports.registry.wait(exports.registry.get(job["jobId"]))
    add_account(device, "operator2", "oper5678", "operator")
    async with asgi_client(device, httpx.DigestAuth("operator2", "oper5678")) as other:
        assert (await jobs_call(other, "getExport", {"jobId": job["jobId"]}))["error"]["code"] == 190
        assert (await jobs_call(other, "listExports"))["data"]["jobs"] == []
        assert (await jobs_call(other, "removeExport", {"jobId": job["jobId"]}))["error"]["code"] == 190
    async with client_as(device, "admin") as admin:
        assert [j["jobId"] for j in (await jobs_call(admin, "listExports"))["data"]["jobs"]] == [job["jobId"]]
    async with client_as(device, "operator") as operator:
        assert (await jobs_call(operator, "removeExport", {"jobId": job["jobId"]}))["data"] == {}
        assert (await jobs_call(operator, "getExport", {"jobId": job["jobId"]}))["error"]["code"] == 190


@pytest.mark.parametrize("job_id", ["1e999", "-1e999", "NaN", "true", "1.5", "-1", '"1e3"', '" 1"', '"٣"',
                                    '"' + "9" * 5000 + '"', "[1]", "null", "{}"])
@pytest.mark.parametrize("method", ["getExport", "removeExport"])
async def test_job_ids_of_the_wrong_kind_are_refused(device: Device, footage: str, method: str, job_id: str) -> None:
    async with client_as(device, "operator") as operator:
        job = (await jobs_call(operator, "startExport", {"recordingId": footage}))["data"]["job"]
        assert job["jobId"] == 1  # so that a job id read as 1 would find it
        raw = f'{{"apiVersion":"1.0","method":"{method}","params":{{"jobId":{job_id}}}}}'
        reply = await jobs_call(operator, method, raw=raw)
        assert reply["error"]["code"] == 20, reply
        assert "whole number" in reply["error"]["message"]
        exports = device.features[EXPORT_JOBS]
        await exports.registry.wait(exports.registry.get(1))
        assert (await jobs_call(operator, "getExport", {"jobId": 1}))["data"]["job"]["status"] == "done"


@pytest.mark.parametrize("job_id", ["9" * 5000, "1e999", "-1", "%ff"])
async def test_vapix_job_status_and_download_refuse_bad_job_ids(device: Device, job_id: str) -> None:
    async with client_as(device, "operator") as operator:
        for path in ("/axis-cgi/record/export/getjobstatus.cgi?schemaversion=1&jobid=",
                     "/axis-cgi/record/export/download.cgi?jobid="):
            r = await operator.get(path + job_id)
            assert r.status_code == 200 and "<ErrorCode>20</ErrorCode>" in r.text, r.text
