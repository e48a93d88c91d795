"""The light tests run on a C1410 (tests/conftest.py's `c1410`, in-process) with an operator client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from tests.conftest import client_as
from vigil.device import Device


@pytest.fixture
async def operator(c1410: Device) -> AsyncIterator[httpx.AsyncClient]:
    async with client_as(c1410, "operator") as c:
        yield c
