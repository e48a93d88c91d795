"""In the I/O tests `admin`, `operator` and `viewer` are clients of the W401 (tests/conftest.py's
`w401`: I0..I7 configurable and supervisable, I8 a relay), not of the default S3016."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import client_as
from vigil.device import Device


@pytest.fixture
async def admin(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "admin") as c:
        yield c


@pytest.fixture
async def operator(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "operator") as c:
        yield c


@pytest.fixture
async def viewer(w401: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(w401, "viewer") as c:
        yield c
