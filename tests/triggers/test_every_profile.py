"""Manual triggers on every profile: the recorders and the speaker have no I/O ports, and their
virtual inputs work as the W401's do (VAPIX virtualinput/*.cgi, the VirtualInput event, rule
conditions); a manual trigger starts a recording on the S3016."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_as, eventually, make_device
from tests.peers.rtsp import GstCameras
from tests.triggers.test_http_virtual_input import activate, changed, deactivate, error, state
from vigil.core.clock import FakeClock
from vigil.core.rules import Condition, Rule
from vigil.device import Device
from vigil.features.recording.recorder import RECORDING_SERVICE
from vigil.features.recording.sources import Source
from vigil.features.triggers.const import VIRTUAL_INPUT


@pytest.fixture(params=["s3008", "s4000", "c1410"])
def profile_device(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Device]:
    dev = make_device(tmp_path, clock, request.param)
    yield dev
    dev.close()


async def test_virtual_inputs_on_devices_without_io(profile_device: Device) -> None:
    assert profile_device.profile.hardware.io_ports == 0
    assert any(t.topic == VIRTUAL_INPUT for t in profile_device.events.topics())
    async with client_as(profile_device, "operator") as operator:
        assert changed(await activate(operator, port="7"), "ActivateSuccess") is True
        assert state(profile_device, 7) == "1"
        assert changed(await deactivate(operator, port="7"), "DeactivateSuccess") is True
        assert state(profile_device, 7) == "0"
        assert error(await activate(operator, port="33"))[0] == 20
        props = (await operator.get("/axis-cgi/param.cgi", params={"action": "list",
                                                                   "group": "Properties.VirtualInput"})).text
        assert "root.Properties.VirtualInput.VirtualInput=yes" in props
    async with client_as(profile_device, "viewer") as viewer:
        assert (await activate(viewer, port="7")).status_code in (401, 403)
    assert state(profile_device, 7) == "0"


async def test_manual_trigger_starts_a_recording_on_the_s3016(device: Device, clip: Path) -> None:
    """Rule: virtual input 4 active -> record the camera while the rule is active."""
    service = device.features[RECORDING_SERVICE]
    task = asyncio.ensure_future(service.run())
    cams = GstCameras(clip, 1).start()
    try:
        service.sources.put(Source("c1", "c1", cams.url(1), continuous=False), "test")
        action = device.rules.add_action("rec", "com.axis.action.unlimited.recording.storage", {"source": "c1"}, "t")
        device.rules.add_rule(Rule(0, "manual record", True, action.id,
                                   (Condition(VIRTUAL_INPUT, (("port", "4"), ("active", "1"))),)), "t")
        await service.reconfigure("c1")
        await eventually(lambda: "c1" in service.recorders and service.recorders["c1"].connected, what="camera")
        assert not service.ongoing()
        async with client_as(device, "operator") as operator:
            assert changed(await activate(operator, port="4"), "ActivateSuccess") is True
            await eventually(lambda: [k for _s, _r, k in service.ongoing()] == ["triggered"], what="recording")
            assert changed(await deactivate(operator, port="4"), "DeactivateSuccess") is True
        await eventually(lambda: not service.ongoing(), what="recording to stop")
    finally:
        cams.stop()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    (kind, stop), = device.store.query("SELECT kind, stop FROM recordings")
    assert kind == "triggered" and stop is not None
    assert device.store.query("SELECT topic, data FROM recording_triggers") == [(VIRTUAL_INPUT, '{"active": "1"}')]
