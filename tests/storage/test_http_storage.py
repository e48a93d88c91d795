"""storage.cgi (JSON) beyond the tools' own tests: parameters of the wrong JSON type or out of
range are this API's errors, never an internal error, and refused calls change nothing."""

from __future__ import annotations

import pytest

from tests.conftest import client_as
from tests.storage.conftest import call, storage
from vigil.device import Device

BAD_PARAMS, REFUSED = 4002, 1000


async def test_get_job_needs_a_job_number(dev: Device) -> None:
    async with client_as(dev, "operator") as operator:
        job = (await call(operator, "check", diskId="RAID_DISK"))["data"]["job"]
        assert job["jobId"] == 1
        assert (await call(operator, "getJob", jobId=1))["data"]["job"]["jobId"] == 1
        for wrong in (True, 1.0, "1", [1], 10**30, -1):
            reply = await call(operator, "getJob", jobId=wrong)
            assert reply["error"]["code"] == REFUSED, (wrong, reply)  # true named job 1
        r = await operator.post("/axis-cgi/storage.cgi", content=b'{"apiVersion":"1.0","method":"getJob",'
                                                               b'"params":{"jobId":1e999}}')
        assert r.json()["error"]["code"] == REFUSED


@pytest.mark.parametrize("level", [True, "raid\u00b2", "raid" + "9" * 5000, "raid-5", 5.0, None, [5]])
async def test_change_raid_level_reads_the_level_strictly(dev: Device, level) -> None:
    """"raid²" and 5,000 digits were internal errors; true was RAID 1."""
    async with client_as(dev, "admin") as admin:
        reply = await call(admin, "changeRaidLevel", raidLevel=level, confirm=True)
    assert reply["error"]["code"] == BAD_PARAMS, reply
    assert storage(dev).jobs.recent() == [] and storage(dev).hw.array().level == 5


async def test_change_raid_level_still_takes_a_number_or_its_name(dev: Device) -> None:
    async with client_as(dev, "admin") as admin:
        for level in (7, "raid7", "7"):
            reply = await call(admin, "changeRaidLevel", raidLevel=level, confirm=True)
            assert reply["error"] == {"code": REFUSED, "message": "RAID level raid7 not supported; the levels are "
                                      "raid0, raid1, raid5, raid6, raid10"}, reply


async def test_health_test_names_a_bay(dev: Device) -> None:
    async with client_as(dev, "operator") as operator:
        assert (await call(operator, "healthTest", slot=3))["data"] == {"slot": 3, "health": "passed"}
        reply = await call(operator, "healthTest", slot=-1)  # was bay 3, counted from the end
        assert reply["error"] == {"code": REFUSED, "message": "There is no bay -1; the bays are 0 to 3"}, reply
        assert (await call(operator, "healthTest", slot=4))["error"]["code"] == REFUSED
        for wrong, code in ((True, BAD_PARAMS), (1.5, BAD_PARAMS), ("1", BAD_PARAMS), (10**30, REFUSED)):
            assert (await call(operator, "healthTest", slot=wrong))["error"]["code"] == code, wrong


async def test_mount_refuses_a_password_that_is_not_text(dev: Device) -> None:
    """A password of the wrong type was dropped silently and the mount went ahead without it."""
    async with client_as(dev, "admin") as admin:
        reply = await call(admin, "mount", diskId="RAID_DISK", password=12345678)
    assert reply["error"] == {"code": BAD_PARAMS, "message": "Parameter 'password' must be a string"}
    assert storage(dev).jobs.recent() == []
    dev.logs.flush()
    assert "storage.cgi mount refused for root: Parameter 'password' must be a string" in dev.logs.text("system")


@pytest.mark.parametrize("days", [True, 7001, -1, 1.5, "7", 10**30])
async def test_retention_is_0_to_7000_days(dev: Device, days) -> None:
    async with client_as(dev, "admin") as admin:
        reply = await call(admin, "setRetention", diskId="RAID_DISK", maxAgeDays=days)
    assert reply["error"]["code"] == BAD_PARAMS, reply
    assert dev.params.get("Storage.S0.CleanupMaxAge") == "0"
