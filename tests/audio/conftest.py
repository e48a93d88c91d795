"""Fixtures of the audio tests: `speaker`, an in-process C1410 with the simulated audio hardware."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import make_device
from vigil.core.clock import FakeClock
from vigil.device import Device


@pytest.fixture
def speaker(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock, "c1410")
    yield dev
    dev.close()
