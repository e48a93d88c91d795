"""The multicast controller (the C1410 manual's SIP > Multicast controller): sources (label,
group and port, codec, priority, volume, SRTP key) stored with their keys sealed; the speaker
joins their groups and plays the arriving RTP stream of the highest priority through the
player (service.py, receiver.py); the VAPIX Audio Multicast Controller API (http_config.py);
the event "Multicast stream playing" per source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.discovery.interfaces import interfaces_for
from vigil.features.multicast import http_config
from vigil.features.multicast.service import MULTICAST_SERVICE, MulticastService
from vigil.features.network.service import NETWORK_SERVICE
from vigil.features.playback.service import PLAYBACK_SERVICE

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:
    player = device.features[PLAYBACK_SERVICE].player
    service = MulticastService(device.store, device.vault, player, device.events, device.logs,
                               lambda: interfaces_for(device.listening.host))
    device.features[MULTICAST_SERVICE] = service
    network = device.features.get(NETWORK_SERVICE)
    if network is not None:  # loaded before: it says which interface the device has
        network.on_interface(service.on_network)
    device.on_load.append(service.load)
    device.services.append(service.run)
    device.router.include(http_config.ROUTES)
    device.apis.append(Api("audio-multicast-ctrl", "1.0-beta", "Audio Multicast Controller"))
