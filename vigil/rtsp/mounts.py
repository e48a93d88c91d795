"""What the RTSP server serves: mounts that features register, and the tracks they give.

A mount is a path (`/axis-media/media.amp`) and a provider: given the request's query, it
returns the tracks it contributes (none: the query is not for it) or raises RtspError for a
bad one. Several providers may share a path; the presentation a client gets is the union of
their tracks (`camera=1&event=on` is the camera's video from the recorder and the metadata
from the event stream), ordered video, audio, metadata.

A track is one medium: its SDP, and `open(outlet)` which starts sending RTP to one client's
outlet after PLAY and returns the stream to stop. Tracks are device-to-client today; a
client-to-device track (the speaker's audio backchannel, `a=sendonly` in the SDP) will be a
track whose stream also takes the packets the client sends on its channel (`receive`), which
the server routes to it by channel.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from vigil.core.roles import Role
from vigil.rtsp.protocol import RtspError

AXIS_MEDIA = "/axis-media/media.amp"  # the VAPIX media path: the event stream and the cameras' live video
MEDIA_ORDER = {"video": 0, "audio": 1, "application": 2}


class Outlet(Protocol):
    """Where one session's track sends its RTP: interleaved on the RTSP connection or UDP to
    the client's port. It never blocks: over its backlog limit `send` refuses (False) and the
    track decides what to skip."""

    name: str  # the client and session, for the log
    ssrc: int  # chosen at SETUP, announced in the Transport reply
    seq: int  # the next sequence number, for tracks that number their packets per session
    ts_base: int  # a random RTP timestamp offset, for the same

    def send(self, packets: list[bytes]) -> bool: ...

    def send_rtcp(self, packet: bytes) -> None:
        """An RTCP packet (a sender report) on the track's RTCP channel or port."""
        ...

    def congested(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    async def drain(self) -> None: ...


class Stream(Protocol):
    """A track playing to one client."""

    def stop(self) -> None: ...


class Track(Protocol):
    media: str  # video | audio | application
    payload_type: int
    ssrc: int | None  # a track shared by every client has its own; None: one per session

    def sdp(self) -> list[str]:
        """The m= line and its attributes, without a=control (the server adds it)."""
        ...

    def rtp_info(self, outlet: Outlet) -> str:
        """`seq=..;rtptime=..` of the first packet `open(outlet)` will send, for the PLAY
        response's RTP-Info, or "" when it is not known ahead (a live relay waits for a key frame)."""
        ...

    def open(self, outlet: Outlet) -> Stream: ...


Provider = Callable[[dict[str, str]], list[Track]]


class Mounts:
    """The registry features mount into (`device.rtsp`); the RTSP server resolves requests
    through it."""

    def __init__(self) -> None:
        self._providers: dict[str, list[tuple[Provider, Role]]] = {}

    def add(self, path: str, provider: Provider, role: Role = Role.VIEWER) -> None:
        """Serve `provider`'s tracks at `path` to accounts of `role` and above."""
        self._providers.setdefault(path.rstrip("/"), []).append((provider, role))

    def mount_of(self, path: str) -> str | None:
        """The mount path a request path is under (a track's path is the mount's plus `/stream=N`)."""
        path = path.rstrip("/")
        if path in self._providers:
            return path
        head, _, _ = path.rpartition("/")
        return head if head in self._providers else None

    def resolve(self, mount: str, query: dict[str, str]) -> tuple[list[Track], Role]:
        """The tracks of `mount` for `query` and the role they need; RtspError 404 when none."""
        tracks: list[Track] = []
        role = Role.VIEWER
        for provider, needs in self._providers.get(mount, []):
            given = provider(query)
            if given:
                tracks += given
                role = max(role, needs)
        if not tracks:
            raise RtspError(404, f"nothing to stream at {mount} for this query")
        tracks.sort(key=lambda t: MEDIA_ORDER.get(t.media, 3))
        return tracks, role
