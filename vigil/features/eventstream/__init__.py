"""Event streams for clients: the RTSP metadata stream (ONVIF `tt:MetadataStream` over RTP)
and VAPIX event streaming over WebSocket. Both feed from one bus subscription."""

from __future__ import annotations

from typing import TYPE_CHECKING

from vigil.device import Api
from vigil.features.eventstream import websocket
from vigil.features.eventstream.fanout import Fanout
from vigil.features.eventstream.rtsp import RtspServer

if TYPE_CHECKING:
    from vigil.device import Device


def register(device: Device) -> None:

    fanout = Fanout(device.events)
    rtsp = RtspServer(device, fanout, device.ports.host)
    device.services.append(rtsp.serve)
    websocket.register(device, fanout)
    device.apis.append(Api("event-streaming-over-websocket", "1.0", "Event streaming over WebSocket"))
