"""Power over Ethernet (the S3008's and S3016's PoE switch chapter): the profile's ports and
budget become a PoE switch in the HAL (simulated unless VIGIL_HAL=linux, where the PSE
interfaces are VIGIL_POE_PORTS); the service (service.py) allocates power by class or by the
LLDP requests it reads (lldp.py), enforces the budget and publishes the port power and PoE
failure events; the VAPIX NVR PoE API (http_nvr_poe.py), the page's API (http_ports.py) and the
simulation API (sim_api.py) sit on top.
"""

from __future__ import annotations

import os

from vigil.device import Api, Device
from vigil.features.poe import http_nvr_poe, http_ports, params, sim_api
from vigil.features.poe.service import POE_SERVICE, PoeService
from vigil.hal.poe import POE_HARDWARE, PoeHardware
from vigil.hal.sim.poe import SimulatedPoe

ROUTES = (*http_nvr_poe.ROUTES, *http_ports.ROUTES, *sim_api.ROUTES)


def make_hardware(device: Device) -> PoeHardware:
    hw = device.profile.hardware
    if os.environ.get("VIGIL_HAL") == "linux":
        from vigil.hal.linux.poe import LinuxNetworkPorts, LinuxPoe  # ethtool, ip and packet sockets

        if not hw.poe_ports:
            ports = [name for name in os.environ.get("VIGIL_NETWORK_PORTS", "").split(",") if name]
            return LinuxNetworkPorts(ports)
        interfaces = [name for name in os.environ.get("VIGIL_POE_PORTS", "").split(",") if name]
        return LinuxPoe(interfaces, hw.poe_budget_w, hw.poe_port_class)
    if not hw.poe_ports:  # the S4000: its network ports, without power
        return SimulatedPoe(len(hw.network_ports), 0, 0, device.data / "hw" / "poe.json", pse=False)
    return SimulatedPoe(hw.poe_ports, hw.poe_budget_w, hw.poe_port_class, device.data / "hw" / "poe.json")


def register(device: Device) -> None:
    hardware = make_hardware(device)
    device.params.declare(params.param_defs(hardware.ports, hardware.pse))
    service = PoeService(hardware, device.params, device.events, device.logs, lambda: device.next_action,
                         device.profile.hardware.network_ports)
    device.hardware[POE_HARDWARE] = hardware
    device.features[POE_SERVICE] = service
    device.on_load.append(service.start)
    device.services.append(service.run)
    if hardware.pse:
        device.router.include(ROUTES)
        device.apis.append(Api("nvr-poe", "1.2", "NVR PoE switch configuration"))
    else:
        device.router.include((*http_ports.ROUTES, *sim_api.ROUTES))
        device.apis.append(Api("network-ports", "1.0", "Network ports"))
