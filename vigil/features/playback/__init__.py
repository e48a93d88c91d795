"""What the speaker plays (the C1410 manual's Audio clips, and talk): clips uploaded, listed,
played, linked and removed over the VAPIX Media clip API (http_mediaclip.py), streams POSTed to
transmit.cgi (http_transmit.py) or over the ONVIF audio backchannel of the RTSP server
(backchannel.py), and the rule actions Play/Stop audio clip with the event
"Audio clip playing" (actions.py). Clips are files checked by decoding (decode.py) under
`MediaClip.M<n>` parameter groups (clips.py); the player (player.py) decides who has the speaker
(vigil/hal/audio.py, through the audio feature's hardware)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.core.roles import Role
from vigil.device import Api
from vigil.features.playback import actions, http_mediaclip, http_transmit
from vigil.features.playback import const as c
from vigil.features.playback.backchannel import BackchannelMount
from vigil.features.playback.clips import ClipStore, param_defs, template
from vigil.features.playback.player import Player
from vigil.features.playback.service import PLAYBACK_SERVICE, PlaybackService
from vigil.hal.audio import AUDIO_HARDWARE
from vigil.rtsp.mounts import AXIS_MEDIA

if TYPE_CHECKING:
    from vigil.device import Device

ROUTES = (*http_mediaclip.ROUTES, *http_transmit.ROUTES)


def register(device: Device) -> None:
    clips = ClipStore(device.params, device.data / c.FOLDER)
    device.params.declare(param_defs())
    device.params.declare_template(template())
    device.params.vetoes.append(clips.veto)
    device.params.listeners.append(clips.on_params)
    player = Player(device.hardware[AUDIO_HARDWARE], device.events, device.logs)
    service = PlaybackService(clips, player, device.logs)
    device.features[PLAYBACK_SERVICE] = service
    for action in actions.action_types(service):
        device.rules.register(action)
    device.on_load.append(player.declare)
    device.on_load.append(clips.tidy)
    device.router.include(ROUTES)
    device.rtsp.add(AXIS_MEDIA, BackchannelMount(player, device.logs), Role.OPERATOR)  # talking: as transmit.cgi
    device.apis.append(Api("media-clip", "1.0", "Media clip"))
