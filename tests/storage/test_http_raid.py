"""VAPIX RAID management (raid.cgi): status and capabilities, recreating the array only after
the explicit unmount, and RAID levels read strictly (this API's codes, never 1100)."""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import client_as
from tests.storage.conftest import storage
from vigil.device import Device


async def raid(client: httpx.AsyncClient, method: str, **params) -> dict:
    body = {"apiVersion": "1.0", "method": method, "params": params}
    return (await client.post("/axis-cgi/disks/raid.cgi", json=body)).json()


async def test_status_capabilities_and_recreate_after_unmount(dev: Device) -> None:
    async with client_as(dev, "admin") as admin:
        assert (await raid(admin, "getCapabilities"))["data"] == {"raidLevels": ["raid0", "raid1", "raid5", "raid6",
                                                                                 "raid10"]}
        assert (await raid(admin, "getStatus"))["data"]["raids"][0]["status"] == "active"
        mounted = await raid(admin, "recreateRaidOnAllComponents", raidLevel="raid6")
        assert mounted["error"]["code"] == 1200 and "unmount it" in mounted["error"]["message"]
        await storage(dev).jobs.wait(storage(dev).unmount("RAID_DISK", "test"))
        assert (await raid(admin, "recreateRaidOnAllComponents", raidLevel="raid6"))["data"] == {}
        job = storage(dev).jobs.recent()[-1]
        await storage(dev).jobs.wait(job)
    assert job.action == "raid" and job.result == "OK" and storage(dev).hw.array().level == 6


@pytest.mark.parametrize(("level", "code"), [("raid\u00b2", 1201), ("raid" + "9" * 5000, 1201), ("raid7", 1201),
                                             ("RAID5", 1201), ("5", 1201), (5, 2103), (None, 2103)])
async def test_a_level_the_device_has_not_is_refused(dev: Device, level, code: int) -> None:
    """"raid²" and 5,000 digits were internal errors (1100)."""
    await storage(dev).jobs.wait(storage(dev).unmount("RAID_DISK", "test"))
    async with client_as(dev, "admin") as admin:
        reply = await raid(admin, "recreateRaidOnAllComponents", raidLevel=level)
    assert reply["error"]["code"] == code, reply
    assert storage(dev).hw.array().level == 5 and [j.action for j in storage(dev).jobs.recent()] == ["unmount"]
