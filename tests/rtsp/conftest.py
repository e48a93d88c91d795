"""Fixtures of the RTSP server tests: `cameras`, an S3016 served in-process on free loopback
ports, recording two built-in test cameras (whose server counts the streams it plays), with an
admin and a viewer; `clip_path`, the cameras' clip, made once a session; `stored_footage`, an
S3016 with stored recordings to replay (one plain camera with a gap, one on an encrypted volume)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ADMIN, ROLE_USERS, add_account, add_source, eventually, free_port
from tests.peers.processes import wait_port_async
from tests.recording.footage import record
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.device import Device, Ports
from vigil.features.recording.recorder import RECORDING_SERVICE, RecordingService
from vigil.features.recording.sources import Source
from vigil.features.recording.testcams import TestCameraServer, load_clip, make_clip
from vigil.footage import atrest
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


# -- stored footage to replay ------------------------------------------------------------------
T0 = 1_790_000_000.0  # 2026-09-21 14:13:20 UTC
FPS = 15  # the recorded clip: 320x240, a key frame each second (15 frames a GOP), one fragment a second
RECORDINGS = {  # id: (source, start, seconds); "cam" has a 4 s gap between its two recordings, "overlap" two
    # recordings at once for 2 s (a triggered one during the continuous one)
    "camA": ("cam", T0, 6), "camB": ("cam", T0 + 10, 4), "vaultA": ("vault", T0 + 100, 3),
    "overlapA": ("overlap", T0 + 200, 4), "overlapB": ("overlap", T0 + 202, 4)}


@dataclass
class StoredFootage:
    device: Device
    vault: Path  # the encrypted volume's folder
    key: bytes

    @property
    def port(self) -> int:
        return self.device.ports.rtsp

    def url(self, query: str, credentials: tuple[str, str] | None = ADMIN, path: str = "/axis-media/media.amp") -> str:
        user = f"{credentials[0]}:{credentials[1]}@" if credentials else ""
        return f"rtsp://{user}127.0.0.1:{self.port}{path}?{query}"

    @staticmethod
    def frame_times(recording: str) -> list[float]:
        """When each frame of a recording was recorded (as written: 6000 ticks of 90 kHz apart)."""
        _, start, seconds = RECORDINGS[recording]
        return [start + n * 6000 / 90000 for n in range(seconds * FPS)]


@asynccontextmanager
async def stored_footage(tmp: Path) -> AsyncIterator[StoredFootage]:
    """An S3016 served on free loopback ports with RECORDINGS stored (written by the segment
    writer) and their cameras as disabled sources (ONVIF recording_1 = cam, recording_2 = overlap,
    recording_3 = vault); vaultA is on an encrypted volume, unlocked."""
    vault, key = tmp / "vault", os.urandom(32)
    atrest.keyring.set(vault, key)
    try:
        async with recorder(tmp / "data", []) as device:
            for recording, (source, start, seconds) in RECORDINGS.items():
                folder = vault / source if source == "vault" else tmp / "footage" / source
                record(tmp, "PCMU", seconds, device.store, recording=recording, source=source, start=start,
                       footage=folder)
            sources = device.features[RECORDING_SERVICE].sources
            for source in ("cam", "overlap", "vault"):
                sources.put(Source(source, f"Camera {source}", "rtsp://192.0.2.1/none", enabled=False), "test")
            yield StoredFootage(device, vault, key)
    finally:
        atrest.keyring.forget(vault)
