"""Event streams for clients: the RTSP metadata stream (ONVIF `tt:MetadataStream` over RTP)
and VAPIX event streaming over WebSocket. Both feed from one bus subscription."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.eventstream import websocket
from vigil.features.eventstream.fanout import EVENT_FANOUT, Fanout
from vigil.features.eventstream.rtsp import KEYS, PATH, metadata_tracks

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:

    fanout = Fanout(device.events)
    device.features[EVENT_FANOUT] = fanout
    device.rtsp.add(PATH, metadata_tracks(fanout), keys=KEYS)
    websocket.register(device, fanout)
    device.apis.append(Api("event-streaming-over-websocket", "1.0", "Event streaming over WebSocket"))
