"""The recorder's ONVIF camera finder against another Vigil process (a live S3016 with a test
camera, an ONVIF device with Media profiles): getCameraStreams reads its profiles and stream
addresses with an ONVIF account, and the offered address records with the same credentials
(testSource); wrong credentials, an unreachable device, something that is no ONVIF device and
bad addresses are recorder.cgi errors, and nothing is stored."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, client_as, wait_until
from tests.onvif.conftest import ONVIF_MEDIA, onvif_device
from tests.peers.lan import Lan, lan, needs_lan  # noqa: F401 (fixture)
from tests.peers.processes import free_port, stop_process
from tests.peers.rtsp import GstCameras
from tests.recording.conftest import RECORDER, call
from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.device import Device, Ports
from vigil.features.discovery.interfaces import Interface
from vigil.features.discovery.service import DISCOVERY_SERVICE
from vigil.features.onvif.const import DEVICE_PATH


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


@pytest.fixture(scope="module")
def peer_camera(lan: Lan, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:  # noqa: F811
    """A `vigil run` W401 in the peers' namespace of the private LAN (an ONVIF device that
    answers WS-Discovery probes there); its device service address."""
    port = free_port()
    data = tmp_path_factory.mktemp("peer-camera") / "data"
    process = subprocess.Popen(lan.command(
        sys.executable, "-m", "vigil", "run", "--profile", "w401", "--data", str(data), "--host", lan.peer_address,
        "--http-port", str(port), "--https-port", str(free_port()), "--rtsp-port", str(free_port()),
        "--ssh-port", str(free_port())), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://{lan.peer_address}:{port}"
        wait_until(lambda: reachable(base + "/vigil/session"), 20, "the peer camera")
        r = httpx.post(base + "/axis-cgi/pwdgrp.cgi", data={"action": "add", "user": ADMIN[0], "pwd": ADMIN[1],
                                                             "grp": "users", "sgrp": "admin:operator:viewer"})
        assert "Created account" in r.text, r.text
        wait_until(lambda: wsdiscovery_state(base) == "on", 20, "the peer camera's WS-Discovery")
        yield base + DEVICE_PATH
    finally:
        stop_process(process)


def wsdiscovery_state(base: str) -> str:
    return httpx.get(base + "/vigil/discovery", auth=httpx.DigestAuth(*ADMIN)).json()["wsdiscovery"]["state"]


def reachable(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.TransportError:
        return False


@needs_lan
async def test_cameras_on_the_local_network_are_found(device: Device, lan: Lan, peer_camera: str) -> None:  # noqa: F811
    # The recorder searches the LAN's interface, as discovery does when the network settings manage it.
    device.features[DISCOVERY_SERVICE].use_interfaces([Interface(lan.device_if, lan.device_address)])
    reply = await call(device, "admin", "findCameras", {"timeout": 1.0})
    (found,) = reply["data"]["cameras"]
    assert found["address"] == peer_camera and found["hardware"] == "W401", found
    assert found["endpoint"].startswith("urn:uuid:") and found["name"], found
    for timeout in (0.1, "3", True, 60):
        bad = await call(device, "admin", "findCameras", {"timeout": timeout})
        assert bad["error"]["code"] == 4002, (timeout, bad)


async def test_a_recorder_on_the_loopback_address_says_there_is_no_network_to_search(tmp_path: Path) -> None:
    device = build_device("s3016", tmp_path / "data", Ports(host="127.0.0.1"), FakeClock())
    try:
        reply = await call(device, "admin", "findCameras", {})
        assert reply["error"]["code"] == 1003 and "no local network interface" in reply["error"]["message"]
    finally:
        device.close()


async def test_an_address_that_is_no_host_name_is_refused(device: Device) -> None:
    reply = await call(device, "admin", "getCameraStreams", {"address": "üñ€😀\u202e", "username": "", "password": ""})
    assert reply["error"]["code"] == 1003 and "not a usable address" in reply["error"]["message"], reply
