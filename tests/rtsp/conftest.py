"""Fixtures of the RTSP server tests: `cameras`, an S3016 served in-process on free loopback
ports, recording two built-in test cameras (whose server counts the streams it plays), with an
admin and a viewer; `clip_path`, the cameras' clip, made once a session."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ROLE_USERS, add_account, add_source, eventually, free_port
from tests.peers.processes import wait_port_async
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.features.recording.testcams import TestCameraServer, load_clip, make_clip
from vigil.http.server import serve_device
from vigil.rtsp.server import RtspServer

VIEWER = ROLE_USERS["viewer"]
CAMERAS = 2


@pytest.fixture(scope="session")
def clip_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("testcam") / "clip-640x360-15.mp4"
    make_clip(path, 640, 360, 15, 4, 500_000)
    return path


@dataclass
class Cameras:
    device: Device
    server: TestCameraServer

    @property
    def port(self) -> int:
        return self.device.ports.rtsp

    @property
    def rtsp(self) -> RtspServer:
        return next(s.__self__ for s in self.device.services if isinstance(getattr(s, "__self__", None), RtspServer))

    @property
    def recording(self) -> RecordingService:
        return self.device.features[RECORDING_SERVICE]

    def url(self, query: str = "camera=1", credentials: tuple[str, str] | None = ADMIN) -> str:
        user = f"{credentials[0]}:{credentials[1]}@" if credentials else ""
        return f"rtsp://{user}127.0.0.1:{self.port}/axis-media/media.amp?{query}"


@asynccontextmanager
async def recorder(data: Path, urls: list[str]) -> AsyncIterator[Device]:
    """An S3016 served on free loopback ports, recording the cameras at `urls` (as testcam1...),
    once the relay of each has its camera connected."""
    device = build_device("s3016", data, Ports(http=free_port(), https=free_port(), rtsp=free_port(),
                                               host="127.0.0.1"), Clock())
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    add_account(device, *ADMIN, "admin", ptz=True)
    add_account(device, *VIEWER, "viewer")
    task = asyncio.create_task(serve_device(device))
    try:
        await wait_port_async(device.ports.rtsp, 20)
        service = device.features[RECORDING_SERVICE]
        for n, url in enumerate(urls, 1):
            await add_source(device, f"testcam{n}", url)
        await eventually(lambda: len(service.relays.feeds) == len(urls), 20, "the cameras to connect")
        yield device
    finally:
        device.request_stop("shutdown")
        await asyncio.wait_for(task, 15)
        device.close()


@pytest.fixture
async def cameras(tmp_path: Path, clip_path: Path) -> AsyncIterator[Cameras]:
    server = TestCameraServer(await asyncio.to_thread(load_clip, clip_path), CAMERAS)
    await server.start()
    try:
        async with recorder(tmp_path / "data", [server.url(n) for n in range(1, CAMERAS + 1)]) as device:
            yield Cameras(device, server)
    finally:
        await server.close()
