"""Fixtures of the event stream tests: `running`, an S3016 served in-process on free loopback
ports (HTTP and RTSP), with an admin, a viewer and two test topics the tests publish on."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ROLE_USERS, add_account, free_port
from tests.peers.processes import wait_port_async
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.core.events import Item, Topic
from vigil.device import Device, Ports
from vigil.features.eventstream.fanout import EVENT_FANOUT, Fanout
from vigil.http.server import serve_device
from vigil.rtsp.server import RtspServer

PORT_TOPIC = "tns1:Device/tnsaxis:IO/Port"
PULSE_TOPIC = "tns1:Device/tnsaxis:SystemMessage/ActionFailed"
VIEWER = ROLE_USERS["viewer"]


@dataclass
class Running:
    device: Device
    clock: FakeClock
    task: asyncio.Task

    @property
    def ports(self) -> Ports:
        return self.device.ports

    @property
    def rtsp(self) -> RtspServer:
        return next(s.__self__ for s in self.device.services if isinstance(getattr(s, "__self__", None), RtspServer))

    @property
    def fanout(self) -> Fanout:
        return self.device.features[EVENT_FANOUT]

    def url(self, query: str = "video=0&audio=0&event=on") -> str:
        return f"rtsp://127.0.0.1:{self.ports.rtsp}/axis-media/media.amp?{query}"

    def publish(self, port: str, state: str) -> None:
        self.device.events.publish(PORT_TOPIC, {"port": port}, {"state": state})


def declare_test_topics(device: Device) -> None:
    device.events.declare(Topic(PORT_TOPIC, "Input port", True, (Item("port", "xsd:int"),),
                                (Item("state", "xsd:boolean", state=True),)))
    device.events.declare(Topic(PULSE_TOPIC, "Action failed", False, (), (Item("description"),)))


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    clock = FakeClock()
    device = build_device("s3016", tmp_path / "data", Ports(http=free_port(), https=free_port(), rtsp=free_port(),
                                                         host="127.0.0.1"),
                          clock)
    add_account(device, *ADMIN, "admin", ptz=True)
    add_account(device, *VIEWER, "viewer")
    declare_test_topics(device)
    task = asyncio.create_task(serve_device(device))
    try:
        await wait_port_async(device.ports.http, 20)
        await wait_port_async(device.ports.rtsp, 20)
        yield Running(device, clock, task)
    finally:
        device.request_stop("shutdown")
        await asyncio.wait_for(task, 15)
        device.close()
