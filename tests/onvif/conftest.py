"""ONVIF fixtures: a recorder with ONVIF accounts of each level (`add_onvif_accounts`) and a SOAP
caller (`soap`) that signs with a UsernameToken made at the device's time."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import pytest

from tests.conftest import ADMIN, asgi_client
from tests.onvif.schemas import request, security
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.onvif.const import DEVICE_PATH, TDS

ONVIF_USERS = {"Administrator": ("onvifadmin", "adm1nPass"), "Operator": ("onvifop", "0perPass"),
               "User": ("onvifmedia", "med1aPass")}


def add_onvif_accounts(device: Device) -> None:
    device.accounts.add(*ADMIN, Role.ADMIN, True, "", "test")
    for level, role in (("Administrator", Role.ADMIN), ("Operator", Role.OPERATOR), ("User", Role.VIEWER)):
        device.accounts.add(*ONVIF_USERS[level], role, False, "", "test", onvif=True)


@dataclass
class Soap:
    client: httpx.AsyncClient
    device: Device

    async def __call__(self, operation: str, inner: str = "", namespace: str = TDS, as_level: str | None = None,
                       path: str = DEVICE_PATH, header: str = "", **token) -> httpx.Response:
        if as_level is not None:
            created = datetime.fromtimestamp(self.device.clock.time(), UTC)
            header += security(*ONVIF_USERS[as_level], created=token.pop("created", created), **token)
        return await self.client.post(path, content=request(operation, inner, namespace, header),
                                      headers={"Content-Type": "application/soap+xml; charset=utf-8"})


@pytest.fixture
async def soap(device: Device) -> AsyncIterator[Soap]:
    add_onvif_accounts(device)
    async with asgi_client(device) as c:
        yield Soap(c, device)
