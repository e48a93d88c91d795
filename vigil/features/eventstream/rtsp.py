"""The RTSP metadata event stream: `rtsp://HOST:PORT/axis-media/media.amp?event=on`, a mount
of the device's RTSP server (vigil/rtsp/) with one ONVIF metadata track.

Every event is one RTP packet carrying one complete `tt:MetadataStream` document; PLAY first
sends the current state of every stateful property (Initialized). `eventtopic=` filters the
topics. With `camera=N` the recorder's live video joins the same presentation.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

from vigil.features.eventstream.fanout import Fanout, Listener, Outbox
from vigil.features.eventstream.metadata import EventFilter, FilterError, to_xml
from vigil.rtsp.mounts import AXIS_MEDIA, KeyCheck, Live, Outlet, Provider, Track, one_of
from vigil.rtsp.protocol import RtspError, rtp_packet

PATH = AXIS_MEDIA
PAYLOAD_TYPE = 98
CLOCK_RATE = 90_000
_MONO0 = time.monotonic()


def timestamp(outlet: Outlet) -> int:
    """The RTP time of an event sent now: the wall clock since start, from the outlet's base."""
    return (outlet.ts_base + int((time.monotonic() - _MONO0) * CLOCK_RATE)) & 0xFFFFFFFF


class EventStream:
    """The metadata track playing to one client: its own outbox, fed by the fanout, drained by
    its own task, so that a slow client loses events and holds up no one."""

    def __init__(self, fanout: Fanout, event_filter: EventFilter, outlet: Outlet, name: str) -> None:
        self.fanout = fanout
        self.outbox = Outbox(name)
        self.listener = Listener(self.outbox, to_xml, [event_filter])
        self.sender = asyncio.create_task(self._send(outlet))
        fanout.start(self.listener, initial=True)

    def stop(self) -> None:
        self.fanout.stop(self.listener)
        self.outbox.close()
        self.sender.cancel()

    async def _send(self, outlet: Outlet) -> None:
        while True:
            document = await self.outbox.get()
            if document is None or outlet.closed:
                return
            packet = rtp_packet(PAYLOAD_TYPE, outlet.seq, timestamp(outlet), outlet.ssrc, document)
            outlet.seq = (outlet.seq + 1) & 0xFFFF
            if not outlet.send([packet]):
                self.outbox.dropped += 1
                continue
            try:
                await outlet.drain()
            except ConnectionError:
                return


@dataclass
class MetadataTrack(Live):
    fanout: Fanout
    event_filter: EventFilter
    media: str = "application"
    payload_type: int = PAYLOAD_TYPE
    ssrc: int | None = None

    def sdp(self) -> list[str]:
        return [f"m=application 0 RTP/AVP {PAYLOAD_TYPE}", f"a=rtpmap:{PAYLOAD_TYPE} vnd.onvif.metadata/{CLOCK_RATE}",
                "a=recvonly"]

    def rtp_info(self, outlet: Outlet) -> str:
        return f"seq={outlet.seq & 0xFFFF};rtptime={timestamp(outlet)}"

    def open(self, outlet: Outlet) -> EventStream:
        return EventStream(self.fanout, self.event_filter, outlet, outlet.name)


def topic_filter(value: str) -> str | None:
    try:
        EventFilter(value)
    except FilterError as err:
        return str(err)
    return None


KEYS: dict[str, KeyCheck] = {"event": one_of("on", "off"), "eventtopic": topic_filter}  # what provide() applies


def metadata_tracks(fanout: Fanout) -> Provider:
    """The mount provider: a metadata track where the query asks for events (`event=on`)."""

    def provide(query: dict[str, str]) -> list[Track]:
        if query.get("event") != "on":
            return []
        try:
            event_filter = EventFilter(query["eventtopic"]) if query.get("eventtopic") else EventFilter()
        except FilterError as err:
            raise RtspError(400, str(err)) from None
        return [MetadataTrack(fanout, event_filter)]

    return provide
