"""The disk simulation API (/vigil/sim/disks): a refused request (non-finite or out-of-range
numbers, wrong JSON types, absurd nesting) answers 400 with a reason, is logged, and stores
nothing, so the storage views that read the drives keep working."""

from __future__ import annotations

import json

import pytest

from tests.conftest import client_as
from tests.storage.conftest import call, xml
from vigil.device import Device
from vigil.hal.disks import DISK_HARDWARE

SIM = "/vigil/sim/disks"
REFUSED_BODIES = [
    b'{"action":"temperature","slot":1,"celsius":1e999}',
    b'{"action":"temperature","slot":1,"celsius":-1e999}',
    b'{"action":"temperature","slot":1,"celsius":NaN}',
    b'{"action":"temperature","slot":1,"celsius":Infinity}',
    b'{"action":"temperature","slot":1,"celsius":"65"}',
    b'{"action":"temperature","slot":1,"celsius":true}',
    b'{"action":"temperature","slot":1,"celsius":1000}',
    b'{"action":"temperature","slot":1e999,"celsius":40}',
    b'{"action":"temperature","slot":"1","celsius":40}',
    b'{"action":"temperature","slot":-1,"celsius":40}',
    b'{"action":"fail","slot":' + b"9" * 5000 + b"}",
    b'{"action":"fail","slot":true}',
    b'{"action":"insert","slot":1,"capacityGB":1e999}',
    b'{"action":"insert","slot":1,"capacityGB":-4}',
    b'{"action":"insert","slot":1,"serial":["x"]}',
    b'{"action":"capacity","capacityGB":NaN}',
    b'{"action":"capacity","capacityGB":0}',
    b'{"action":"step","seconds":NaN}',
    b'{"action":"step","seconds":1e999}',
    b'{"action":"step","seconds":-5}',
    b'{"action":"resyncSeconds","seconds":1e999}',
    b'{"action":"resyncSeconds","seconds":0}',
    b'{"action":"health","slot":1,"health":["passed"]}',
    b'{"action":["fail"],"slot":1}',
    b'{"action":"melt","slot":1}',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    b"\xff\xfe",
    b"[]",
]


@pytest.mark.parametrize("body", REFUSED_BODIES, ids=range(len(REFUSED_BODIES)))
async def test_a_refused_simulation_request_stores_nothing(dev: Device, body: bytes) -> None:
    """Finding 17 (1e999 was stored as Infinity and broke gethealth.cgi and getStatus) and the
    100,000-deep nesting of finding 14."""
    hardware = dev.hardware[DISK_HARDWARE]
    state_file = hardware.state_file.read_bytes()
    async with client_as(dev, "admin") as admin:
        before = (await admin.get(SIM)).json()
        r = await admin.post(SIM, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["message"].startswith("bad simulation request: "), r.text
        assert (await admin.get(SIM)).json() == before
        assert hardware.state_file.read_bytes() == state_file
        health = xml(await admin.get("/axis-cgi/disks/gethealth.cgi")).find(".//HealthStatus").attrib
        assert health["temperature"] == "310"  # 37 degrees C: the hottest drive, the simulation's bay 3
        status = await admin.post("/axis-cgi/storage.cgi", json={"apiVersion": "1.0", "method": "getStatus"})
        json.loads(status.text, parse_constant=lambda name: pytest.fail(f"{name} in getStatus"))
    dev.logs.flush()
    assert "simulation request refused" in dev.logs.text("system")


async def test_plain_numbers_still_work(dev: Device) -> None:
    async with client_as(dev, "admin") as admin:
        r = await admin.post(SIM, json={"action": "temperature", "slot": 1, "celsius": 61.5})
        assert r.status_code == 200 and r.json()["bays"][1]["temperature"] == 61.5
        r = await admin.post(SIM, json={"action": "insert", "slot": 2, "capacityGB": 2000, "serial": "NEW-1"})
        assert r.status_code == 200 and r.json()["bays"][2]["capacity"] == 2 * 10**12
        assert (await admin.post(SIM, json={"action": "resyncSeconds", "seconds": 100})).json()["resyncSeconds"] == 100
        assert (await admin.post(SIM, json={"action": "step", "seconds": 100})).json()["array"]["state"] == "online"
        drives = (await call(admin, "getStatus"))["data"]["drives"]
    assert drives[1]["temperature"] == 61.5 and drives[2]["serialNumber"] == "NEW-1"
