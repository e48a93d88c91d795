"""The ONVIF path of the RTSP server, as Axis devices serve it:
`rtsp://HOST:PORT/onvif-media/media.amp?profile=profile_N[&sessiontimeout=60][&streamtype=unicast]`.

A media profile's stream carries what the profile holds (ONVIF Streaming): the camera's video
and, as its metadata configuration has events, the metadata event stream. So the path is the
VAPIX media path seen through a profile token: `profile=profile_N` is `camera=N&event=on` there,
served by the same live relay and event stream. Axis's own tokens (`profile_1_h264`) name the
same camera. `sessiontimeout` and `streamtype` are taken when they say what this server does
(its session timeout, unicast); other values are refused, not ignored.

GetStreamUri still gives the VAPIX live relay URL (media.py `live_uri`): that is the video alone,
which every client plays, Home Assistant's included; this path is for clients that build Axis's
ONVIF URL themselves or want the profile's metadata in the same session.
"""

from __future__ import annotations

import re

from vigil.rtsp.mounts import AXIS_MEDIA, Mounts, Track
from vigil.rtsp.protocol import RtspError
from vigil.rtsp.server import SESSION_TIMEOUT

ONVIF_MEDIA = "/onvif-media/media.amp"
TOKEN = re.compile(r"profile_([0-9]{1,4})(?:_(h264|h265))?")


class OnvifStreams:
    """The mount provider of ONVIF_MEDIA over the providers of the VAPIX media path."""

    def __init__(self, mounts: Mounts) -> None:
        self.mounts = mounts

    def tracks(self, query: dict[str, str]) -> list[Track]:
        token = query.get("profile")
        if token is None:
            raise RtspError(404, "the ONVIF media path needs profile=<profile token>")
        match = TOKEN.fullmatch(token)
        if match is None:
            raise RtspError(404, f"no media profile {token[:32]!r}")
        unknown = sorted(set(query) - {"profile", "sessiontimeout", "streamtype"})
        if unknown:
            raise RtspError(400, f"{unknown[0][:32]} is not a parameter of the ONVIF media path")
        if query.get("sessiontimeout", str(SESSION_TIMEOUT)) != str(SESSION_TIMEOUT):
            raise RtspError(400, f"the session timeout is {SESSION_TIMEOUT} s on this device")
        if query.get("streamtype", "unicast") != "unicast":
            raise RtspError(400, "only unicast streams are offered")
        vapix = {"camera": match.group(1), "event": "on"}
        if match.group(2):
            vapix["videocodec"] = match.group(2)
        return self.mounts.resolve(AXIS_MEDIA, vapix).tracks
