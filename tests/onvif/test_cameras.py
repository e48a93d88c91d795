"""The recorder's ONVIF camera finder against another Vigil process (a live S3016 with a test
camera, an ONVIF device with Media profiles): getCameraStreams reads its profiles and stream
addresses with an ONVIF account, and the offered address records with the same credentials
(testSource); wrong credentials, an unreachable device, something that is no ONVIF device and
bad addresses are recorder.cgi errors, and nothing is stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, client_as
from tests.onvif.conftest import ONVIF_MEDIA, onvif_device
from tests.peers.processes import free_port
from tests.peers.rtsp import GstCameras
from tests.recording.conftest import RECORDER, call
from vigil.device import Device


@pytest.fixture(scope="module")
def camera(tmp_path_factory: pytest.TempPathFactory, clip: Path) -> Iterator[LiveDevice]:
    """A live S3016 with ONVIF accounts recording one GStreamer camera: an ONVIF device whose
    one media profile plays that camera."""
    cams = GstCameras(clip, 1).start()
    try:
        for server in onvif_device(tmp_path_factory, "s3016"):
            r = httpx.post(server.http + RECORDER, auth=httpx.DigestAuth(*ADMIN), json={
                "apiVersion": "1.0", "method": "setSource",
                "params": {"source": {"id": "cam1", "name": "Yard", "url": cams.url(1)}}})
            assert "error" not in r.json(), r.text
            yield server
    finally:
        cams.stop()


def streams_of(camera: LiveDevice, password: str = ONVIF_MEDIA[1], address: str | None = None) -> dict:
    return {"address": address or f"127.0.0.1:{camera.http_port}", "username": ONVIF_MEDIA[0], "password": password}


async def test_a_cameras_streams_are_offered_and_record_with_its_credentials(device: Device,
                                                                             camera: LiveDevice) -> None:
    reply = await call(device, "admin", "getCameraStreams", streams_of(camera))
    (offer,) = reply["data"]["streams"]
    assert offer["profile"] == "profile_1" and offer["video"] == "H264", offer
    assert offer["url"] == f"rtsp://127.0.0.1:{camera.rtsp_port}/axis-media/media.amp?camera=1"
    tested = await call(device, "admin", "testSource", {"source": {"url": offer["url"], "username": ONVIF_MEDIA[0],
                                                                   "password": ONVIF_MEDIA[1]}})
    assert tested["data"]["camera"]["video"] == offer["video"] and tested["data"]["camera"]["width"] > 0, tested
    full = await call(device, "admin", "getCameraStreams",
                      streams_of(camera, address=f"http://127.0.0.1:{camera.http_port}/onvif/device_service"))
    assert [(o["profile"], o["url"]) for o in full["data"]["streams"]] == [(offer["profile"], offer["url"])]
    assert device.store.query("SELECT id FROM sources") == []


async def test_refusals_and_bad_addresses_are_clear_errors(device: Device, camera: LiveDevice) -> None:
    wrong = await call(device, "admin", "getCameraStreams", streams_of(camera, password="nope"))
    assert wrong["error"]["code"] == 1003
    assert "the camera refused the user name or password" in wrong["error"]["message"], wrong
    port = free_port()
    gone = await call(device, "admin", "getCameraStreams", streams_of(camera, address=f"127.0.0.1:{port}"))
    assert gone["error"]["code"] == 1003 and f"cannot reach 127.0.0.1:{port}" in gone["error"]["message"], gone
    web = await call(device, "admin", "getCameraStreams",
                     streams_of(camera, address=f"http://127.0.0.1:{camera.http_port}/index.html"))
    assert "without a SOAP message: is it an ONVIF device?" in web["error"]["message"], web
    for address in ("ftp://127.0.0.1/x", "http://u:p@127.0.0.1/onvif/device_service", "127.0.0.1:99999"):
        bad = await call(device, "admin", "getCameraStreams", streams_of(camera, address=address))
        assert bad["error"]["code"] == 1003, (address, bad)
    assert (await call(device, "admin", "getCameraStreams", {"address": 5}))["error"]["code"] == 4002
    async with client_as(device, "operator") as operator:
        r = await operator.post(RECORDER, json={"apiVersion": "1.0", "method": "getCameraStreams",
                                                "params": streams_of(camera)})
    assert r.status_code == 403
