"""A W401 (I0..I7 configurable and supervisable, I8 a relay) and clients of each role."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import client_as, make_device
from vigil.core.clock import FakeClock
from vigil.device import Device


@pytest.fixture
def w401(tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock, "w401")
    yield dev
    dev.close()


@pytest.fixture
async def admin(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "admin") as c:
        yield c


@pytest.fixture
async def admin401(admin: httpx.AsyncClient) -> httpx.AsyncClient:
    return admin


@pytest.fixture
async def operator(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "operator") as c:
        yield c


@pytest.fixture
async def viewer(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "viewer") as c:
        yield c
