"""The light tests run on a C1410 (in-process) with operator and viewer clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import client_as, make_device
from vigil.core.clock import FakeClock
from vigil.device import Device


@pytest.fixture
def c1410(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock, "c1410")
    yield dev
    dev.close()


@pytest.fixture
async def operator(c1410: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(c1410, "operator") as c:
        yield c
