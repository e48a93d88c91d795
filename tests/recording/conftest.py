"""Fixtures of the recording tests that run in-process (the live recorder is live.py's): the
device's recorder running with a camera source that needs no camera, and recorder.cgi calls."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from tests.conftest import client_as, eventually
from vigil.device import Device
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.features.recording.sources import Source

RECORDER = "/axis-cgi/recorder.cgi"


@pytest.fixture
async def recorder(device: Device) -> AsyncIterator[RecordingService]:
    """The device's recorder running, with one camera source `cam1` that is turned off: no
    camera is needed, yet the source has its recorder, so recordings of it can be started."""
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    service = device.features[RECORDING_SERVICE]
    service.sources.put(Source("cam1", "Camera 1", "rtsp://127.0.0.1:9/none", enabled=False), "test")
    task = asyncio.ensure_future(service.run())
    # start-up recovery runs in a thread first
    await eventually(lambda: "cam1" in service.recorders, 5, "the recorder of cam1")
    yield service
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def call(device: Device, role: str, method: str, params: dict | None = None, raw: str | None = None) -> dict:
    """A recorder.cgi call as `role` (`raw`: this body instead of one made of `method` and
    `params`); the JSON reply of an HTTP 200."""
    body = raw if raw is not None else json.dumps({"apiVersion": "1.0", "method": method, "params": params or {}})
    async with client_as(device, role) as client:
        r = await client.post(RECORDER, content=body)
    assert r.status_code == 200, r.text
    return r.json()
