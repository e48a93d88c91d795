"""image.cgi on a recorder that records two test cameras (served on loopback ports): a viewer
gets a JPEG of the camera's key frame at its size or smaller, the arguments that would need the
camera to encode for us are refused with VAPIX's image error, no credentials get the challenge,
an unknown camera is 404 and one that has sent nothing yet 503."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from pathlib import Path

import av
import httpx
import pytest

from tests.conftest import eventually
from tests.rtsp.conftest import VIEWER, recorder
from vigil.device import Device
from vigil.features.recording import testcams
from vigil.features.recording.recorder import RECORDING_SERVICE

IMAGE = "/axis-cgi/jpg/image.cgi"


@pytest.fixture(scope="module")
def clip_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snapclip") / "clip-640x360.mp4"
    testcams.make_clip(path, 640, 360, 15, 3, 400_000)
    return path


@pytest.fixture
async def device(tmp_path: Path, clip_file: Path) -> AsyncIterator[Device]:
    server = testcams.TestCameraServer(await asyncio.to_thread(testcams.load_clip, clip_file), 2)
    await server.start()
    try:
        async with recorder(tmp_path / "data", [server.url(1), server.url(2)]) as device:
            snapshots = device.features[RECORDING_SERVICE].snapshots
            await eventually(lambda: len(snapshots.latest) == 2, 20, "a key frame of each camera")
            yield device
    finally:
        await server.close()


def http(device: Device, credentials: tuple[str, str] | None = VIEWER) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{device.ports.http}", timeout=20,
                             auth=httpx.DigestAuth(*credentials) if credentials else None)


def size_of(jpeg: bytes) -> tuple[int, int]:
    with av.open(io.BytesIO(jpeg)) as container:
        frame = next(container.decode(video=0))
        return frame.width, frame.height


async def test_a_viewer_gets_a_jpeg_of_the_camera(device: Device) -> None:
    async with http(device) as client:
        r = await client.get(IMAGE, params={"camera": "2"})
        assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
        assert size_of(r.content) == (640, 360)
        assert (await client.get(IMAGE)).status_code == 200  # camera 1 by default
        small = await client.get(IMAGE, params={"camera": "1", "resolution": "320x180", "compression": "80"})
        assert small.status_code == 200 and size_of(small.content) == (320, 180)
        assert len(small.content) < len(r.content)
        same = await client.get(IMAGE, params={"camera": "2", "resolution": "640x360"})
        assert size_of(same.content) == (640, 360)
    async with http(device, None) as anonymous:
        r = await anonymous.get(IMAGE, params={"camera": "1"})
        assert r.status_code == 401 and "Digest" in r.headers["www-authenticate"]
    device.params.set_internal({"System.BoaProtViewer": "anonymous"})  # anonymous viewing on: a viewer's right
    async with http(device, None) as anonymous:
        assert (await anonymous.get(IMAGE, params={"camera": "1"})).status_code == 200


REFUSED = [
    ({"camera": "1", "rotation": "90"}, 400, "'rotation' is not supported"),
    ({"camera": "1", "text": "1", "textstring": "x"}, 400, "'text' is not supported"),
    ({"camera": "1", "resolution": "1280x720"}, 400, "not available: the camera sends 640x360"),
    ({"camera": "1", "resolution": "CIF"}, 400, "Invalid resolution"),
    ({"camera": "1", "resolution": "321x181"}, 400, "even"),
    ({"camera": "1", "compression": "101"}, 400, "Invalid compression"),
    ({"camera": "3"}, 404, "Camera 3 not available: the cameras are 1 to 2"),
    ({"camera": "quad"}, 404, "not available"),
    ({"camera": "1" * 5000}, 404, "not available"),  # no int() of 5000 digits
    ({"camera": "1", "compression": "0" * 5000}, 400, "Invalid compression"),
]


async def test_refused_arguments(device: Device) -> None:
    async with http(device) as client:
        for query, status, says in REFUSED:
            r = await client.get(IMAGE, params=query)
            assert r.status_code == status and r.text.startswith("<!-- ") and says in r.text, (query, r.text)


async def test_a_camera_without_a_key_frame_yet_is_unavailable(device: Device) -> None:
    service = device.features[RECORDING_SERVICE]
    service.snapshots.forget("testcam2")  # as after a restart, before the camera's next key frame
    async with http(device) as client:
        r = await client.get(IMAGE, params={"camera": "2"})
        assert r.status_code == 503 and "no key frame yet" in r.text
        await eventually(lambda: "testcam2" in service.snapshots.latest, 10, "camera 2's next key frame")
        assert (await client.get(IMAGE, params={"camera": "2"})).status_code == 200
