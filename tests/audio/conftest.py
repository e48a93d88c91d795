"""Fixtures of the audio tests: `speaker`, an in-process C1410 with the simulated audio hardware,
and `served`, one whose HTTP and RTSP servers listen on 127.0.0.1 (with the test administrator)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conftest import ADMIN, add_account, serving
from vigil.device import Device


@pytest.fixture
def speaker(c1410: Device) -> Device:
    return c1410


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Device]:
    async with serving("c1410", tmp_path / "data") as device:
        add_account(device, *ADMIN, "admin")
        yield device
