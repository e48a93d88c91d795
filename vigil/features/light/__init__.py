"""Light and siren (C1410): profiles, the status list and priorities (service.py, model.py),
the VAPIX Siren and light API and the Light page's status (http_siren_and_light.py), the rule
actions that start and stop profiles, and the flash of Locate device (audio's speakertest.py). The LED and the siren are HAL outputs
(vigil/hal/indicators.py), simulated unless VIGIL_HAL=linux (the LED class in /sys/class/leds).
"""

from __future__ import annotations

from vigil.device import Api, Device
from vigil.features.audio.speakertest import LOCATE
from vigil.features.light import const, http_siren_and_light
from vigil.features.light.service import LIGHT_SERVICE, LightService
from vigil.hal.indicator_backend import open_indicators
from vigil.hal.indicators import INDICATORS


def register(device: Device) -> None:
    hardware = open_indicators((const.LED,), (const.SIREN,))
    device.hardware[INDICATORS] = hardware
    service = LightService(hardware, device.store, device.events, device.logs)
    device.features[LIGHT_SERVICE] = service
    for action in service.action_types():
        device.rules.register(action)
    device.on_load.append(service.declare)
    locate = device.features.get(LOCATE)
    if locate is not None:  # the light flashes while Locate device beeps
        locate.indicators.append(service.indicate_locate)
    http_siren_and_light.register(device, service)
    device.apis.append(Api("siren-and-light", const.VERSIONS[-1], "Siren and light"))
