"""Fixtures of the MQTT tests against a real mosquitto (tests/peers/mosquitto.py: `broker`):
`dev`, a W401 whose MQTT client runs (reconnecting quickly), and configuring that client."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.conftest import eventually
from tests.peers.mosquitto import Broker, client_params
from vigil.device import Device
from vigil.features.mqtt import model
from vigil.features.mqtt.service import MQTT_SERVICE, MqttService


@contextlib.asynccontextmanager
async def mqtt_running(device: Device) -> AsyncIterator[Device]:
    """The device's MQTT client running (reconnecting quickly) until the block ends."""
    service = mqtt(device)
    service.backoff_min = 0.2
    task = asyncio.create_task(service.run())
    try:
        yield device
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await device.rules.close()


@pytest.fixture
async def dev(w401: Device) -> AsyncIterator[Device]:
    async with mqtt_running(w401) as device:
        yield device


def mqtt(device: Device) -> MqttService:
    return device.features[MQTT_SERVICE]


def configure(device: Device, broker: Broker, active: bool = True, **changes: Any) -> MqttService:
    """The client set up for the broker's plain TCP listener (`changes` to client_params), and
    turned on unless not `active`."""
    service = mqtt(device)
    params = client_params(broker, **changes)
    password, keep = model.parse_password(params)
    service.configure_client(model.parse_client(params, device.identity.serial), None if keep else password, "test")
    if active:
        service.set_active(True, "test")
    return service


async def connected(service: MqttService, timeout: float = 5.0) -> None:
    await eventually(lambda: service.connection == "connected", timeout, "the MQTT client to connect")
