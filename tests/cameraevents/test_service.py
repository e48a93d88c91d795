"""Camera events as rule conditions, against a real `vigil run` W401 (the event source) and a
GStreamer camera: the recorder follows the W401's virtual input over the VAPIX event stream and
over ONVIF PullPoint, a rule records the camera while the input is active, with the pre-event
buffer; a camera that refuses or vanishes clears its events, says so and is followed again
when it returns."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, add_source, eventually, start_live, wait_until
from tests.onvif.conftest import ONVIF_ADMIN, onvif_device
from tests.peers.rtsp import GstCameras, gst_cameras
from vigil.boot import build_device
from vigil.core.clock import Clock
from vigil.core.rules import Condition, Rule
from vigil.device import Device, Ports
from vigil.features.cameraevents.const import CAMERA_EVENT, CAMERA_EVENTS_CONNECTION
from vigil.features.cameraevents.service import CAMERA_EVENTS
from vigil.features.onvif.const import DEVICE_PATH
from vigil.features.recording.recorder import RECORDING_SERVICE

INPUT = "tns1:Device/tnsaxis:IO/VirtualInput port=3"


@pytest.fixture(scope="module")
def w401(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDevice]:
    yield from onvif_device(tmp_path_factory, "w401")


@pytest.fixture(scope="module")
def camera(clip: Path) -> Iterator[GstCameras]:
    yield from gst_cameras(clip, 1)


@pytest.fixture
async def recorder(tmp_path: Path) -> AsyncIterator[Device]:
    device = build_device("s3016", tmp_path / "data", Ports(), Clock())
    device.params.set_internal({"Recording.FreeSpaceFloorMB": "0"})
    tasks = [asyncio.ensure_future(device.features[RECORDING_SERVICE].run()),
             asyncio.ensure_future(device.features[CAMERA_EVENTS].run())]
    yield device
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    device.close()


def virtual_input(w401: LiveDevice, action: str) -> None:
    r = httpx.get(f"{w401.http}/axis-cgi/virtualinput/{action}.cgi", params={"schemaversion": "1", "port": "3"},
                  auth=httpx.DigestAuth(*ADMIN))
    assert r.status_code == 200 and "Success" in r.text, r.text


def state(device: Device, topic: str, **source: str) -> str | None:
    data = device.events.state(topic, source)
    return next(iter(data.values())) if data else None


def system_log(device: Device) -> str:
    device.logs.flush()
    return "\n".join(m for (m,) in device.store.query("SELECT message FROM log WHERE kind='system'"))


async def test_a_rule_records_while_the_w401_input_is_active_with_the_pre_buffer(
        recorder: Device, w401: LiveDevice, camera: GstCameras) -> None:
    service = recorder.features[RECORDING_SERVICE]
    await add_source(recorder, "cam1", camera.url(1), username=ADMIN[0], password=ADMIN[1], continuous=False,
                     events=w401.http)
    action = recorder.rules.add_action("rec", "com.axis.action.unlimited.recording.storage",
                                       {"source": "cam1", "pre_duration": "2000", "post_duration": "0"}, "t")
    recorder.rules.add_rule(Rule(0, "motion", True, action.id,
                                 (Condition(CAMERA_EVENT, (("source", "cam1"), ("event", INPUT))),)), "t")
    await eventually(lambda: state(recorder, CAMERA_EVENTS_CONNECTION, source="cam1") == "1", 20,
                     "the W401's event stream")
    prebuffer = service.recorders["cam1"].prebuffer

    def buffered_since() -> float:  # the reader thread trims the buffer meanwhile
        try:
            return prebuffer[0].start
        except IndexError:
            return time.time()

    await eventually(lambda: buffered_since() <= time.time() - 1, 20, "a second of pre-event buffer")
    assert not service.ongoing()
    activated = time.time()
    await asyncio.to_thread(virtual_input, w401, "activate")
    await eventually(lambda: service.ongoing(), 10, "the triggered recording")
    assert state(recorder, CAMERA_EVENT, source="cam1", event=INPUT) == "1"
    await asyncio.to_thread(virtual_input, w401, "deactivate")
    await eventually(lambda: not service.ongoing(), 10, "the recording's end")
    assert await asyncio.to_thread(service.segments.drain, 10)  # the writer indexes its fragments in its thread
    (rid, kind), = recorder.store.query("SELECT id, kind FROM recordings")
    first = recorder.store.query("SELECT MIN(start) FROM fragments")[0][0]
    assert kind == "triggered" and first < activated, (first, activated)  # footage from before the event
    assert recorder.store.query("SELECT topic FROM recording_triggers") == [(CAMERA_EVENT,)]


async def test_onvif_pullpoint_events_and_refusals(recorder: Device, w401: LiveDevice, camera: GstCameras) -> None:
    await add_source(recorder, "cam2", camera.url(1), username=ONVIF_ADMIN[0], password="wrong", continuous=False,
                     events=w401.http + DEVICE_PATH)
    await eventually(lambda: "camera cam2: events not received (the camera refused the user name or password"
                     in system_log(recorder), 20, "the refusal in the log")
    assert state(recorder, CAMERA_EVENTS_CONNECTION, source="cam2") == "0"
    await add_source(recorder, "cam2", camera.url(1), username=ONVIF_ADMIN[0], password=ONVIF_ADMIN[1],
                     continuous=False, events=w401.http + DEVICE_PATH)
    await eventually(lambda: state(recorder, CAMERA_EVENTS_CONNECTION, source="cam2") == "1", 20, "the PullPoint")
    await asyncio.to_thread(virtual_input, w401, "activate")
    await eventually(lambda: state(recorder, CAMERA_EVENT, source="cam2", event=INPUT) == "1", 15, "the input")
    await asyncio.to_thread(virtual_input, w401, "deactivate")
    await eventually(lambda: state(recorder, CAMERA_EVENT, source="cam2", event=INPUT) == "0", 15, "its end")


async def test_a_vanished_camera_clears_its_events_and_is_followed_when_it_returns(
        recorder: Device, w401: LiveDevice, camera: GstCameras) -> None:
    """Last in the module: it stops the module's W401 and starts it again on the same ports."""
    await add_source(recorder, "cam3", camera.url(1), username=ADMIN[0], password=ADMIN[1], continuous=False,
                     events=w401.http)
    await eventually(lambda: state(recorder, CAMERA_EVENTS_CONNECTION, source="cam3") == "1", 20, "the stream")
    await asyncio.to_thread(virtual_input, w401, "activate")
    await eventually(lambda: state(recorder, CAMERA_EVENT, source="cam3", event=INPUT) == "1", 10, "the input")
    seen: list[tuple[str, str]] = []
    recorder.events.subscribe(lambda e: seen.append((e.topic, e.data.get("active", e.data.get("connected", ""))))
                              if e.source.get("source") == "cam3" else None)
    await asyncio.to_thread(w401.stop)
    await eventually(lambda: state(recorder, CAMERA_EVENTS_CONNECTION, source="cam3") == "0", 20, "the loss")
    assert state(recorder, CAMERA_EVENT, source="cam3", event=INPUT) is None  # cleared, not left active
    assert (CAMERA_EVENT, "0") in seen  # rules saw it go inactive
    assert "camera cam3: events not received" in system_log(recorder)
    again = await asyncio.to_thread(start_live, w401.data, "w401", (w401.http_port, w401.https_port, w401.rtsp_port))
    try:
        await asyncio.to_thread(wait_until, lambda: again.process.poll() is None, 5, "the W401")
        await eventually(lambda: state(recorder, CAMERA_EVENTS_CONNECTION, source="cam3") == "1", 40, "the return")
    finally:
        await asyncio.to_thread(again.stop)
