"""Audio (the manual's Audio > Device settings and Stream): the speaker and the microphone of
the audio hardware (vigil/hal/audio.py: simulated unless VIGIL_HAL=linux, where PulseAudio's
VIGIL_AUDIO_SINK and VIGIL_AUDIO_SOURCE are the speaker and the microphone).

The settings are the `Audio.A0.*` / `AudioSource.A0.*` parameters; `service` applies them to the
hardware path as they change (a setting the hardware cannot do is vetoed), and shares the
microphone's capture. `http_audiodevicecontrol` is the VAPIX Audio Device Control API over the
same parameters, `live` the microphone's live stream on the RTSP server (`/axis-media/media.amp?audio=1`),
which the ONVIF audio profile's GetStreamUri gives; `sim_api` the simulation API of the simulated
hardware (feed the microphone, read what the speaker played). The same capture feeds `http_receive`
(VAPIX receive.cgi: the input over HTTP, what the Listen page plays), `detection` (Detectors > Audio
detection: the level against `AudioSource.A0.AlarmLevel`, the TriggerLevel event) and `speakertest`
(the speaker test over `/vapix/axast` and as a rule action, its result event; Locate device);
`http_audio` is the pages' JSON for detection and locating. Profiles whose hardware has audio (the C1410).
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING

from vigil.core.rules import ActionType
from vigil.device import Api
from vigil.features.audio import (
    const,
    detection,
    http_audio,
    http_audiodevicecontrol,
    http_receive,
    http_speakertest,
    sim_api,
)
from vigil.features.audio.detection import AUDIO_DETECTION, AudioDetection
from vigil.features.audio.live import LiveAudioMount
from vigil.features.audio.recording import AUDIO_RECORDER, AudioRecorder
from vigil.features.audio.service import AUDIO_SERVICE, AudioService, param_defs
from vigil.features.audio.speakertest import LOCATE, SPEAKER_TEST, LocateService, SpeakerTest
from vigil.footage.volumes import VOLUMES
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
    register_listening(device, service)
    if isinstance(hardware, SimulatedAudio):
        device.router.include(sim_api.ROUTES)


def register_listening(device: Device, service: AudioService) -> None:
    """What hears the microphone: receive.cgi, audio detection, the speaker test and Locate device."""
    device.params.declare(http_receive.param_defs() + detection.param_defs())
    device.router.include(http_receive.Receive().routes())
    detector = AudioDetection(service, device.events, device.params)
    device.features[AUDIO_DETECTION] = detector
    device.params.listeners.append(detector.on_params)
    device.on_load.append(detector.declare)
    device.services.append(detector.run)
    device_uuid = str(uuid.uuid5(uuid.NAMESPACE_OID, "vigil:" + device.identity.device_id))
    test = SpeakerTest(service, device.events, device.store, device.logs, device.clock.time, device_uuid)
    device.features[SPEAKER_TEST] = test
    locate = LocateService(service, device.logs)
    device.features[LOCATE] = locate
    device.on_load.append(test.declare)
    device.services += [test.run, locate.run]
    recorder = AudioRecorder(service, device.store, device.features.get(VOLUMES), device.logs, device.clock.time)
    device.features[AUDIO_RECORDER] = recorder
    device.services.append(recorder.run)
    device.rules.register(ActionType(const.SPEAKER_TEST_ACTION, "Run automatic speaker test", (),
                                     run=lambda ctx: test.run_action()))
    device.router.include(http_speakertest.ROUTES)
    device.apis.append(Api("speaker-test", "1.0", "Auto speaker test service"))
    device.router.include(http_audio.ROUTES)
