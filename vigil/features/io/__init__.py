"""I/O ports: inputs (optionally supervised), outputs, relays and virtual inputs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.features.io import sim_api, vapix
from vigil.features.io.service import IO_SERVICE, IOService
from vigil.hal.io import IO_HARDWARE, PortSpec
from vigil.hal.sim.io import SimulatedIO

if TYPE_CHECKING:
    from vigil.device import Device


def port_specs(device: Device) -> list[PortSpec]:
    hw = device.profile.hardware
    kinds = (["input"] * hw.io_inputs + ["output"] * hw.io_outputs
             + ["configurable"] * hw.configurable_io + ["relay"] * hw.relays)
    return [PortSpec(i, kind, kind == "configurable") for i, kind in enumerate(kinds)]


def register(device: Device) -> None:

    hardware = SimulatedIO(port_specs(device))
    service = IOService(hardware, device.params, device.events, device.logs)
    device.hardware[IO_HARDWARE] = hardware
    device.features[IO_SERVICE] = service
    for action in service.action_types():
        device.rules.register(action)
    device.on_load.append(service.declare)
    sim_api.register(device, hardware, service)
    vapix.register(device, service)
