"""What the RTSP server serves: mounts that features register, and the tracks they give.

A mount is a path (`/axis-media/media.amp`) and a provider: given the request's query, it
returns the tracks it contributes (none: the query is not for it) or raises RtspError for a
bad one. Several providers may share a path; the presentation a client gets is the union of
their tracks (`camera=1&event=on` is the camera's video from the recorder and the metadata
from the event stream), ordered video, audio, metadata. A mount may set its sessions' timeout
(the ONVIF replay service's SessionTimeout).

A track is one medium: its SDP, the Require options it understands (`onvif-replay`), and
`open(outlet)` which starts sending RTP to one client's outlet after PLAY and returns the
stream to stop. Each SETUP gets its own track object, so a track may keep per-session state.
Before each PLAY the server hands every track the request's `Play` (range, scale, frames,
rate control) through `seek`: a live track plays from now whatever is asked (None); a stored
one (replay) checks the request, prepares where its next `open` starts, and says what the
reply states. PAUSE stops the stream; a replay track remembers where, and a PLAY without a
Range goes on from there.

A client-to-device track (the speaker's audio backchannel, `a=sendonly` in the SDP) lists the
option BACKCHANNEL: it is offered only to a client that sends `Require:
www.onvif.org/ver20/backchannel` (ONVIF Streaming 5.3), and its stream is a `Receiver` too: the
server hands it the RTP packets the client sends on the track's interleaved channel.

A provider also declares the query keys it applies and the values each takes (`keys`): what a
stream profile (profiles.py) may hold for that path.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from vigil.core.roles import Role
from vigil.rtsp.protocol import Play, RtspError

BACKCHANNEL = "www.onvif.org/ver20/backchannel"  # the Require option of a client that sends audio
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

    def send_control(self, packets: list[bytes]) -> bool:
        """RTCP packets (a BYE at the end of a stream) on the track's control channel or port."""
        ...

    def congested(self) -> bool: ...

    @property
    def closed(self) -> bool: ...

    async def drain(self) -> None: ...


class Stream(Protocol):
    """A track playing to one client."""

    def stop(self) -> None: ...


@runtime_checkable
class Receiver(Protocol):
    """A stream that takes what the client sends (a backchannel track's)."""

    def receive(self, packet: bytes) -> None:
        """One RTP packet from the client, as it came (it never blocks)."""
        ...


@dataclass(frozen=True)
class Position:
    """Where a stored track plays from after a PLAY, for the reply's Range and Scale headers."""

    range: str  # e.g. clock=20261123T080000.000Z-20261123T081000.000Z or npt=12.000-
    scale: float  # the scale it plays at (a server may play another than asked: RFC 2326 12.34)


class Track(Protocol):
    media: str  # video | audio | application
    payload_type: int
    ssrc: int | None  # a track shared by every client has its own; None: one per session
    options: frozenset[str]  # the Require option tags it understands (onvif-replay)

    def sdp(self) -> list[str]:
        """The m= line and its attributes, without a=control (the server adds it)."""
        ...

    def ranges(self) -> list[str]:
        """The SDP's a=range values of what it holds (npt=0-12.500, clock=...-...), or none: live
        (npt=now-)."""
        ...

    def seek(self, play: Play) -> Position | None:
        """Prepare the next `open` to play as `play` asks (RtspError 457 for a range it does not
        hold); None: a live track, which plays from now whatever is asked."""
        ...

    def rtp_info(self, outlet: Outlet) -> str:
        """`seq=..;rtptime=..` of the first packet `open(outlet)` will send, for the PLAY
        response's RTP-Info, or "" when it is not known ahead (a live relay waits for a key frame)."""
        ...

    def open(self, outlet: Outlet) -> Stream: ...


class Live:
    """What a live track answers (a base of the live tracks): it holds no range, understands no
    Require option, and plays from now whatever a PLAY asks."""

    options: frozenset[str] = frozenset()

    def ranges(self) -> list[str]:
        return []

    def seek(self, play: Play) -> Position | None:
        return None


Provider = Callable[[dict[str, str]], list[Track]]
KeyCheck = Callable[[str], str | None]  # why a value of a query key is refused, or None


def one_of(*values: str) -> KeyCheck:
    def check(value: str) -> str | None:
        return None if value in values else f"takes {' or '.join(values)}"

    return check


def number(value: str) -> str | None:
    return None if value.isascii() and value.isdigit() and len(value) <= 4 else "takes a number"


def any_value(value: str) -> str | None:
    return None


@dataclass(frozen=True)
class Presentation:
    """What a request URL resolves to: the tracks, the role they need, and the seconds its
    sessions live without a request (None: the server's default)."""

    tracks: list[Track]
    role: Role
    session_timeout: int | None = None

    @property
    def options(self) -> frozenset[str]:
        return frozenset().union(*(t.options for t in self.tracks))


@dataclass(frozen=True)
class Mount:
    provider: Provider
    role: Role
    session_timeout: Callable[[], int] | None


class Mounts:
    """The registry features mount into (`device.rtsp`); the RTSP server resolves requests
    through it."""

    def __init__(self) -> None:
        self._providers: dict[str, list[Mount]] = {}
        self._keys: dict[str, dict[str, list[KeyCheck]]] = {}

    def add(self, path: str, provider: Provider, role: Role = Role.VIEWER,
            session_timeout: Callable[[], int] | None = None, keys: dict[str, KeyCheck] | None = None) -> None:
        """Serve `provider`'s tracks at `path` to accounts of `role` and above; its sessions
        time out after `session_timeout()` seconds (None: the server's default); `keys`: the
        query keys it applies, each with its check."""
        self._providers.setdefault(path.rstrip("/"), []).append(Mount(provider, role, session_timeout))
        for key, check in (keys or {}).items():
            self._keys.setdefault(path.rstrip("/"), {}).setdefault(key, []).append(check)

    def applied_keys(self, path: str) -> dict[str, list[KeyCheck]]:
        """The query keys the providers of `path` apply; a value is good when one of them takes it."""
        return self._keys.get(path.rstrip("/"), {})

    def mount_of(self, path: str) -> str | None:
        """The mount path a request path is under (a track's path is the mount's plus `/stream=N`)."""
        path = path.rstrip("/")
        if path in self._providers:
            return path
        head, _, _ = path.rpartition("/")
        return head if head in self._providers else None

    def resolve(self, mount: str, query: dict[str, str], required: frozenset[str] = frozenset()) -> Presentation:
        """The tracks of `mount` for `query`, the role they need and their session timeout;
        RtspError 404 when none. A backchannel track only when `required` (the request's Require) asks for it."""
        tracks: list[Track] = []
        role = Role.VIEWER
        timeouts = []
        for entry in self._providers.get(mount, []):
            given = [t for t in entry.provider(query) if BACKCHANNEL not in t.options or BACKCHANNEL in required]
            if given:
                tracks += given
                role = max(role, entry.role)
                if entry.session_timeout is not None:
                    timeouts.append(entry.session_timeout())
        if not tracks:
            raise RtspError(404, f"nothing to stream at {mount} for this query")
        tracks.sort(key=lambda t: MEDIA_ORDER.get(t.media, 3))
        return Presentation(tracks, role, min(timeouts) if timeouts else None)
