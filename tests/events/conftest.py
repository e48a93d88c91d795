"""Fixtures of the events tests: a W401 (virtual inputs, I/O ports) and its administrator, and a
Samba server for network share recipients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import client_as, make_device
from tests.peers.samba import samba  # noqa: F401 - a fixture of these tests
from vigil.device import Device


@pytest.fixture
def w401(tmp_path: Path, clock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock, "w401")
    yield dev
    dev.close()


@pytest.fixture
async def admin401(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "admin") as c:
        yield c
