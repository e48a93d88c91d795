"""PoE test helpers: the default device is the S3016 (16 ports, 305 W, class 4 per port)."""

from __future__ import annotations

from vigil.device import Device
from vigil.features.poe.service import POE_SERVICE, PoeService
from vigil.hal.poe import POE_HARDWARE
from vigil.hal.sim.poe import SimulatedPoe


def switch(device: Device) -> tuple[SimulatedPoe, PoeService]:
    hardware = device.hardware[POE_HARDWARE]
    assert isinstance(hardware, SimulatedPoe)
    return hardware, device.features[POE_SERVICE]


def fill_s3016(hardware: SimulatedPoe) -> None:
    """Fifteen cameras that reserve 304 of the 305 W: five class 4 (30 W, drawing 15 W) on ports
    1-5, ten class 3 (15.4 W, drawing 7.5 W) on ports 6-15, as in the S3016 manual's example."""
    for port in range(1, 6):
        hardware.connect(port, 4, 15.0)
    for port in range(6, 16):
        hardware.connect(port, 3, 7.5)
