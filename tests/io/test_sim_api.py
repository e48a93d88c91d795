"""The I/O simulation API (/vigil/sim/io): scripted input circuits, and refusals that change nothing."""

from __future__ import annotations

import httpx
import pytest

from vigil.device import Device
from vigil.hal.io import IO_HARDWARE

URL = "/vigil/sim/io"


async def test_set_an_input_circuit(w401: Device, admin: httpx.AsyncClient) -> None:
    r = await admin.post(URL, json={"port": 0, "circuit": "closed"})
    assert r.status_code == 200
    assert r.json()["ports"][0] == {"port": 0, "direction": "input", "circuit": "closed", "active": True}
    assert w401.hardware[IO_HARDWARE].read(0) == "closed"
    assert "simulated port 0 circuit closed" in w401.logs.text("audit")


@pytest.mark.parametrize("body", [
    b"[" * 100_000 + b"]" * 100_000,  # deeper than the JSON parser goes
    b'{"port": 1e999, "circuit": "closed"}',  # infinity
    b'{"port": NaN, "circuit": "closed"}',
    b'{"port": true, "circuit": "closed"}',
    b'{"port": 1.0, "circuit": "closed"}',
    b'{"port": "9' + b"9" * 5000 + b'", "circuit": "closed"}',
    b'{"port": 99, "circuit": "closed"}',
    b'{"port": 0, "circuit": ["closed"]}',
    b'{"port": 0, "circuit": "melted"}',
    b'{"port": 8, "circuit": "closed"}',  # the relay is an output
    b'{"port": 0}',
    b"not json",
])
async def test_bad_requests_get_a_json_error_and_change_nothing(w401: Device, admin: httpx.AsyncClient,
                                                                body: bytes) -> None:
    r = await admin.post(URL, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == 400 and error["message"].startswith("bad simulation request: ")
    assert [w401.hardware[IO_HARDWARE].read(i) for i in range(9)] == ["open"] * 9
    assert "I/O simulation request of root refused" in w401.logs.text("system")
