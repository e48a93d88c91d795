"""A delayed shutdown goes through the device's own stop path: the served device (listeners,
services) stops, `vigil run`'s loop ends instead of restarting, and the next start knows the
last run ended with a stop, not a power loss."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import eventually, make_device
from tests.peers.processes import free_port
from tests.peers.servers import LoopClock
from vigil.core.clock import FakeClock
from vigil.core.roles import Role
from vigil.core.store import Store
from vigil.device import DB_FILE, Device, Ports
from vigil.features.power.const import LAST_STOP_KEY, RUNNING_KEY
from vigil.features.power.service import POWER_SERVICE
from vigil.hal.power import POWER_HARDWARE
from vigil.hal.sim.power import SimulatedPower
from vigil.http.server import run


async def test_the_served_device_stops_cleanly_at_the_end_of_the_delay(tmp_path: Path) -> None:
    data = tmp_path / "data"
    setup = make_device(tmp_path, FakeClock(), "w401")  # installed and set up, then stopped
    setup.params.update([("PowerSettings.DelayedShutdown.Enabled", "yes"),
                         ("PowerSettings.DelayedShutdown.Delay", "1")], Role.ADMIN, "test")
    setup.features[POWER_SERVICE].close()
    setup.close()

    served: list[Device] = []
    ports = Ports(host="127.0.0.1", http=free_port(), https=free_port(), rtsp=free_port())
    clock = LoopClock()
    try:
        task = asyncio.create_task(run("w401", data, ports, on_listening=served.append))
        device = (await eventually(lambda: served, 20, "the device to listen"))[0]
        hw = device.hardware[POWER_HARDWARE]
        assert isinstance(hw, SimulatedPower)
        hw.set_ignition(False)
        await clock.advance(61)
        await asyncio.wait_for(task, 20)  # run() returns: a shutdown, not a restart
    finally:
        clock.close()
    assert len(served) == 1 and device.next_action == "shutdown"
    store = Store(data / DB_FILE)
    try:
        assert store.get_kv(LAST_STOP_KEY) == "delayed-shutdown" and store.get_kv(RUNNING_KEY) == "0"
        logged = [m for (m,) in store.query("SELECT message FROM log WHERE message LIKE '%shutting down%'")]
        assert logged, "the shutdown is in the system log"
    finally:
        store.close()
