"""Live video of the recorded cameras over RTSP: `rtsp://HOST:PORT/axis-media/media.amp?camera=N`.

The recorder's own camera connection is the only ingest: while someone watches, the ingest
hands each pass's video packets to the camera's relay (vigil/rtsp/relay.py), which sends them
to every client. A relay outlives reconnections of its camera: its clients wait for the first
key frame of the new connection.

Query: `camera=N` (1-based, as `Sources.numbered`), `videocodec=h264|h265` (the camera's own
codec; the relay does not transcode, so the other is refused), `video=0` (no video: with
`event=on`, metadata only); `event=on` adds the metadata track (the event stream's mount).
"""

from __future__ import annotations

import asyncio
import contextlib

from vigil.features.recording.ingest import Connection
from vigil.features.recording.live import LiveStream, LiveStreams
from vigil.features.recording.sources import Sources
from vigil.rtsp.mounts import KeyCheck, Track, number, one_of
from vigil.rtsp.protocol import RtspError
from vigil.rtsp.relay import RelayTrack, RtpRelay, video_sdp

CODECS = {"h264": "H264", "h265": "H265"}
# What tracks() applies; `audio=0` holds as the relay sends the camera's video only.
KEYS: dict[str, KeyCheck] = {"camera": number, "videocodec": one_of(*CODECS), "video": one_of("0", "1"),
                             "audio": one_of("0")}


class CameraFeed:
    """One connected camera as the live relays see it: the ingest's `LiveTap` (RTP packets for
    the RTSP relay) and, as `stream`, its `UnitTap` (frames for live view in the browser)."""

    def __init__(self, relay: RtpRelay, stream: LiveStream, connection: Connection,
                 loop: asyncio.AbstractEventLoop) -> None:
        self.relay = relay
        self.stream = stream
        self.connection = connection
        self.loop = loop

    @property
    def watched(self) -> bool:
        """Someone watches over RTSP or in a browser: the reader passes more often."""
        return self.relay.watched or self.stream.watched

    @property
    def relayed(self) -> bool:
        """RTSP clients play the camera: the ingest collects its RTP packets for the relay (a
        browser alone gets muxed frames from `stream`: copying and rewriting every packet for
        a relay without clients was most of what a first browser viewer cost)."""
        return self.relay.watched

    def deliver_threadsafe(self, packets: list[bytes]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed while the device stops
            self.loop.call_soon_threadsafe(self.relay.deliver, packets)

    def sdp(self) -> list[str]:
        params = self.connection.params
        return video_sdp(self.relay.codec, params.vps, params.sps, params.pps)


class LiveRelays:
    """The live relay of every camera source, and the RTSP mount provider that serves them;
    `streams` has the same cameras for live view in the browser (live.py)."""

    def __init__(self, sources: Sources) -> None:
        self.sources = sources
        self.relays: dict[str, RtpRelay] = {}
        self.streams = LiveStreams()
        self.feeds: dict[str, CameraFeed] = {}  # the cameras connected now

    def connected(self, source_id: str, connection: Connection) -> CameraFeed:
        """Event loop: the camera's connection plays; returns the tap the ingest feeds."""
        assert connection.video is not None
        codec = connection.video.codec
        relay = self.relays.get(source_id)
        if relay is None or relay.codec != codec:
            if relay is not None:  # the camera changed codec: its clients cannot follow
                relay.clients.clear()
            relay = self.relays[source_id] = RtpRelay(codec)
        else:
            relay.restart()
        loop = asyncio.get_running_loop()
        stream = self.streams.connected(source_id, codec, loop)
        feed = self.feeds[source_id] = CameraFeed(relay, stream, connection, loop)
        return feed

    def disconnected(self, source_id: str) -> None:
        self.feeds.pop(source_id, None)
        self.streams.disconnected(source_id)
        relay = self.relays.get(source_id)
        if relay is not None:
            relay.restart()

    def removed(self, source_id: str) -> None:
        """The source is gone: its clients get nothing more (their sessions time out)."""
        self.disconnected(source_id)
        relay = self.relays.pop(source_id, None)
        if relay is not None:
            relay.clients.clear()

    def tracks(self, query: dict[str, str]) -> list[Track]:
        """The mount provider of AXIS_MEDIA: the camera's video where the query names a camera."""
        camera = query.get("camera")
        if camera is None or query.get("video") == "0":
            return []
        numbered = self.sources.numbered()
        if not (camera.isascii() and camera.isdigit() and 1 <= int(camera) <= len(numbered)):
            raise RtspError(404, f"no camera {camera[:16]}: the cameras are 1 to {len(numbered)}")
        source = numbered[int(camera) - 1]
        feed = self.feeds.get(source.id)
        if feed is None:
            raise RtspError(503, f"camera {camera} ({source.id}) is not connected")
        wanted = query.get("videocodec")
        if wanted is not None:
            if wanted.lower() not in CODECS:
                raise RtspError(400, "videocodec is h264 or h265")
            if CODECS[wanted.lower()] != feed.relay.codec:
                raise RtspError(406, f"camera {camera} sends {feed.relay.codec}, and the relay does not transcode")
        return [RelayTrack(feed.relay, feed.sdp)]
