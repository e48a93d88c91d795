"""The recorders' front panel (S3008, S3016, S4000): status, hard drive and PoE LEDs, the alarm
buzzer and the power button (service.py), over the indicator HAL (vigil/hal/indicators.py:
simulated, or the LED class in /sys/class/leds with VIGIL_HAL=linux); the Status page's card
reads http_panel.py; sim_api.py presses the simulated button.
"""

from __future__ import annotations

from vigil.device import Device
from vigil.features.network.service import NETWORK_SERVICE
from vigil.features.panel import http_panel, sim_api
from vigil.features.panel.const import BUZZER, POWER_BUTTON
from vigil.features.panel.service import PANEL_SERVICE, PanelService, panel_parts
from vigil.features.storage.service import STORAGE_SERVICE
from vigil.hal.indicator_backend import open_indicators
from vigil.hal.indicators import INDICATORS

ROUTES = (*http_panel.ROUTES, *sim_api.ROUTES)


def register(device: Device) -> None:
    hw = device.profile.hardware
    raid = device.profile.has("raid")
    hardware = open_indicators(panel_parts(hw.disks, raid, hw.poe_ports), (BUZZER,), (POWER_BUTTON,))
    device.hardware[INDICATORS] = hardware
    service = PanelService(hardware, device.events, device.logs, device.features.get(STORAGE_SERVICE), hw.poe_ports,
                           lambda: device.request_stop("shutdown"))
    device.features[PANEL_SERVICE] = service
    network = device.features.get(NETWORK_SERVICE)
    if network is not None:
        network.on_interface(service.on_interface)
    device.on_load.append(service.declare)
    device.services.append(service.run)
    device.router.include(ROUTES)
