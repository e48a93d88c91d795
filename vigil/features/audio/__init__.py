"""Audio (the manual's Audio > Device settings and Stream): the speaker and the microphone of
the audio hardware (vigil/hal/audio.py: simulated unless VIGIL_HAL=linux, where PulseAudio's
VIGIL_AUDIO_SINK and VIGIL_AUDIO_SOURCE are the speaker and the microphone).

The settings are the `Audio.A0.*` / `AudioSource.A0.*` parameters; `service` applies them to the
hardware path as they change (a setting the hardware cannot do is vetoed), and shares the
microphone's capture. `http_audiodevicecontrol` is the VAPIX Audio Device Control API over the
same parameters, `live` the microphone's live stream on the RTSP server (`/axis-media/media.amp?audio=1`),
which the ONVIF audio profile's GetStreamUri gives; `sim_api` the simulation API of the simulated
hardware (feed the microphone, read what the speaker played). Profiles whose hardware has audio (the C1410).
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from vigil.features.audio import http_audiodevicecontrol, sim_api
from vigil.features.audio.live import LiveAudioMount
from vigil.features.audio.service import AUDIO_SERVICE, AudioService, param_defs
from vigil.hal.audio import AUDIO_HARDWARE, AudioHardware
from vigil.hal.sim.audio import C1410, SimulatedAudio
from vigil.rtsp.mounts import AXIS_MEDIA

if TYPE_CHECKING:
    from vigil.device import Device


def make_hardware() -> AudioHardware:
    if os.environ.get("VIGIL_HAL") == "linux" and os.environ.get("VIGIL_AUDIO_SINK"):
        from vigil.hal.linux.audio import PulseAudio  # the Linux backend runs pulseaudio-utils

        sink = os.environ["VIGIL_AUDIO_SINK"]
        return PulseAudio(sink, os.environ.get("VIGIL_AUDIO_SOURCE", f"{sink}.monitor"), C1410,
                          os.environ.get("VIGIL_PULSE_SERVER") or None)
    return SimulatedAudio(C1410)


def register(device: Device) -> None:
    hardware = make_hardware()
    device.params.declare(param_defs(hardware))
    service = AudioService(hardware, device.params, device.logs)
    device.params.vetoes.append(service.veto)
    device.params.listeners.append(service.on_params)
    device.hardware[AUDIO_HARDWARE] = hardware
    device.features[AUDIO_SERVICE] = service
    device.on_load.append(service.apply)
    device.services.append(service.run)
    device.rtsp.add(AXIS_MEDIA, LiveAudioMount(service, device.clock.time, device.clock.monotonic))
    http_audiodevicecontrol.register(device, service)
    if isinstance(hardware, SimulatedAudio):
        device.router.include(sim_api.ROUTES)
