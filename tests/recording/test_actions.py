"""The rule action "Record video while the rule is active": its pre- and post-event buffers are
short ASCII whole numbers of milliseconds, refused with a SOAP Sender fault otherwise."""

from __future__ import annotations

import httpx
import pytest

from tests.peers.servers import add_action, add_action_xml, fault
from vigil.device import Device
from vigil.features.recording.actions import TOKEN, prebuffer_seconds
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source


@pytest.fixture
def camera(device: Device) -> str:
    device.features[RECORDING_SERVICE].sources.put(Source("cam1", "Camera 1", "rtsp://127.0.0.1:9/none",
                                                          enabled=False), "test")
    return "cam1"


@pytest.mark.parametrize("key,value", [
    ("pre_duration", "9" * 4000),  # int() reads it; dividing it into seconds overflowed: "Internal error"
    ("post_duration", "9" * 4000),
    ("pre_duration", "9" * 5000),
    ("pre_duration", "\u0663"),  # a digit, not an ASCII one
    ("post_duration", "1_000"),  # int() reads 1000
    ("pre_duration", " 500"),
    ("pre_duration", "-1"),
    ("pre_duration", "30001"),
    ("post_duration", "300001"),
    ("post_duration", "1e3"),
    ("post_duration", "inf"),
])
async def test_a_buffer_that_is_no_short_whole_number_is_a_sender_fault(
        device: Device, admin: httpx.AsyncClient, camera: str, key: str, value: str) -> None:
    f = await fault(admin, add_action_xml(TOKEN, {"source": camera, key: value}))
    assert (f.status, f.code) == (400, "SOAP-ENV:Sender"), f
    assert f"{key} is a whole number of milliseconds" in f.reason and len(f.reason) < 200, f.reason
    assert device.rules.actions == {}


async def test_buffers_in_range_are_stored_and_size_the_prebuffer(
        device: Device, admin: httpx.AsyncClient, camera: str) -> None:
    await add_action(admin, TOKEN, {"source": camera, "pre_duration": "30000", "post_duration": "300000"})
    await add_action(admin, TOKEN, {"source": camera, "pre_duration": "0", "post_duration": ""})
    assert prebuffer_seconds(device.rules, camera) == 30.0
