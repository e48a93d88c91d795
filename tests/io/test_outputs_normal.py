"""Outputs return to their normal position: after a restart (the circuit is open while the device
starts, then normal) and when the port settings change, whatever held them active (the W401
manual, Accessories > I/O ports, note)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.conftest import eventually, make_device
from tests.io.test_http_port_management import call, ports
from vigil.core.clock import FakeClock
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.io.service import IO_SERVICE
from vigil.hal.io import IO_HARDWARE

RELAY = 8
PORT = "tns1:Device/tnsaxis:IO/Port"


def test_an_output_normally_closed_comes_up_closed_and_inactive_after_a_restart(tmp_path: Path) -> None:
    first = make_device(tmp_path, FakeClock(), "w401")
    first.params.update([("IOPort.I8.Output.Active", "open"),  # normal state closed
                         ("IOPort.I2.Direction", "output"), ("IOPort.I2.Output.Active", "open")], Role.ADMIN, "test")
    assert first.hardware[IO_HARDWARE].read(RELAY) == "closed"
    first.close()

    again = make_device(tmp_path, FakeClock(), "w401")
    try:
        hw = again.hardware[IO_HARDWARE]
        for index in (RELAY, 2):
            view = again.features[IO_SERVICE].view(index)
            assert (hw.read(index), view.active) == ("closed", False), index
            assert again.events.state(PORT, {"port": str(index + 1)}) == {"state": "0"}
        # A normally open output stays open, and inactive.
        assert (hw.read(3), again.features[IO_SERVICE].view(3).active) == ("open", False)
    finally:
        again.close()


async def test_changing_a_port_setting_returns_an_active_output_to_normal(w401: Device,
                                                                          admin: httpx.AsyncClient) -> None:
    hw = w401.hardware[IO_HARDWARE]
    service = w401.features[IO_SERVICE]
    service.set_output(RELAY, True, "test")
    assert hw.output(RELAY) == "closed" and service.view(RELAY).active
    reply = await call(admin, "setPorts", {"ports": [{"port": "8", "name": "Siren"}]})
    assert reply["data"] == {"ports": ["8"]}
    got = (await ports(admin))["8"]
    assert (got["state"], got["normalState"], got["name"]) == ("open", "open", "Siren")
    assert w401.events.state(PORT, {"port": "9"}) == {"state": "0"}
    assert "back to its normal state" in w401.logs.text("system", "output 8")


async def test_a_setting_of_another_port_also_returns_outputs_to_normal(w401: Device) -> None:
    """"Any settings on this page": supervising input 1 ends the relay's sequence too, and the
    rest of the sequence never runs."""
    hw = w401.hardware[IO_HARDWARE]
    service = w401.features[IO_SERVICE]
    service.run_sequence(RELAY, [("closed", 40), ("open", 40), ("closed", 0)], "test")
    await eventually(lambda: hw.output(RELAY) == "closed", what="the sequence's first step")
    w401.params.update([("IOPort.I0.Input.Supervised", "yes")], Role.ADMIN, "admin")
    assert hw.output(RELAY) == "open" and not service.view(RELAY).active
    await asyncio.sleep(0.15)
    assert hw.output(RELAY) == "open"  # the sequence (ending closed) was cancelled


async def test_a_port_made_an_output_starts_in_its_normal_position(w401: Device) -> None:
    w401.params.update([("IOPort.I4.Output.Active", "open")], Role.ADMIN, "admin")  # normal closed, still an input
    w401.params.update([("IOPort.I4.Direction", "output")], Role.ADMIN, "admin")
    view = w401.features[IO_SERVICE].view(4)
    assert (w401.hardware[IO_HARDWARE].read(4), view.active) == ("closed", False)
