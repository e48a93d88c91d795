"""Fixtures of the recording tests that run in-process (the live recorder is live.py's)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.conftest import eventually
from vigil.device import Device
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.features.recording.sources import Source


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

