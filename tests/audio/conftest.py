"""Fixtures of the audio tests: `speaker`, an in-process C1410 with the simulated audio hardware
(`served`, one whose HTTP and RTSP servers listen on 127.0.0.1, is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from vigil.device import Device


@pytest.fixture
def speaker(c1410: Device) -> Device:
    return c1410

