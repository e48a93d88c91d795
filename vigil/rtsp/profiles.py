"""Stream profiles (VAPIX `StreamProfile.S<n>`: Name, Description, Parameters): saved sets of
stream parameters that a client names with `streamprofile=NAME` in a stream URL.

A profile holds only parameters that the device's mounts at the VAPIX media path apply: each
provider declares the query keys it applies and the values it takes (mounts.py `keys`). A
profile with anything else is refused when it is saved, with the reason: resolution, frame rate,
compression and the other encoder settings would need the camera's video to be encoded again,
which the relay does not do. So no saved profile holds a setting that does nothing.

In a request, the profile's parameters stand where `streamprofile` stands: parameters after it
override the profile's (VAPIX: "specifying new values after the stream profile").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from vigil.core.params import ParamDef, ParamTemplate, ParamTree, applied
from vigil.core.roles import Role
from vigil.rtsp.mounts import AXIS_MEDIA, Mounts
from vigil.rtsp.protocol import RtspError

PARENT, LETTER, TEMPLATE = "StreamProfile", "S", "streamprofile"
MAX_PROFILES = 26  # as Axis devices list in streamprofile.cgi's maxProfiles
NAME = re.compile(r"[A-Za-z0-9_-]{1,32}")
PROFILE_KEY = "streamprofile"
# Parameters of VAPIX stream URLs that need the video encoded again (or drawn on): named in the refusal.
ENCODER_KEYS = frozenset({
    "resolution", "fps", "compression", "rotation", "colorlevel", "color", "palette", "clock", "date", "text",
    "textstring", "textcolor", "textbackgroundcolor", "textpos", "overlayimage", "overlaypos", "overlays",
    "squarepixel", "mirror", "videokeyframeinterval", "videoframeskipmode", "videozprofile",
    "videozprofilelevel", "videozstrength", "videozgopmode", "videozmaxgoplength", "videozfpsmode",
    "videozminfps", "videobitratemode", "videobitratepriority", "videobitrate", "videomaxbitrate",
    "videoabrtargetbitrate", "videoabrmaxbitrate", "videoabrretentiontime", "maxframesize", "h264profile",
    "nbrofframes", "duration",
})


@dataclass(frozen=True)
class StreamProfile:
    group: str  # StreamProfile.S0
    name: str
    description: str
    parameters: str  # `key=value&key=value`, as VAPIX stores it


def parse(parameters: str) -> list[tuple[str, str]]:
    """The key/value pairs of a Parameters string; ValueError when it is not one."""
    if not parameters:
        return []
    pairs = parse_qsl(parameters, keep_blank_values=True, strict_parsing=True, errors="strict")
    if any(not key for key, _ in pairs):
        raise ValueError("a parameter without a name")
    return pairs


def parameters_problem(mounts: Mounts, parameters: str) -> str | None:
    """Why a stream profile may not hold `parameters`, or None."""
    try:
        pairs = parse(parameters)
    except ValueError:
        return "not a list of key=value pairs joined by &"
    applied_keys = mounts.applied_keys(AXIS_MEDIA)
    for key, value in pairs:
        if key == PROFILE_KEY:
            return "a stream profile cannot name another stream profile"
        checks = applied_keys.get(key)
        if checks is None:
            if key in ENCODER_KEYS:
                return (f"{key} needs the video encoded again, and the device relays each camera's stream "
                        "as it comes; applied: " + ", ".join(sorted(applied_keys)))
            return f"{key} is not a stream parameter of this device; applied: " + ", ".join(sorted(applied_keys))
        reasons = [reason for check in checks if (reason := check(value)) is not None]
        if len(reasons) == len(checks):
            return f"{key} {reasons[0]}"
    return None


def name_problem(value: str) -> str | None:
    return None if NAME.fullmatch(value) else "a name is 1 to 32 letters, digits, - and _"


def template(mounts: Mounts) -> ParamTemplate:
    """The `streamprofile` template of param.cgi: its Parameters checked against `mounts` when saved."""
    owner = applied("rtsp", note="`streamprofile=NAME` in an RTSP URL applies the profile's parameters; "
                                 "parameters that would need the video encoded again are refused when saved.")
    return ParamTemplate(
        name=TEMPLATE,
        parent=PARENT,
        letter=LETTER,
        params=(
            ParamDef("Name", "profile", maxlen=32, read=Role.VIEWER, write=Role.OPERATOR, check=name_problem),
            ParamDef("Description", "", maxlen=128, read=Role.VIEWER, write=Role.OPERATOR),
            ParamDef("Parameters", "", maxlen=512, read=Role.VIEWER, write=Role.OPERATOR,
                     check=lambda value: parameters_problem(mounts, value)),
        ),
        max_groups=MAX_PROFILES,
        hard_limit=64,
        owner=owner,
    )


def max_groups() -> list[ParamDef]:
    return [ParamDef(f"{PARENT}.MaxGroups", str(MAX_PROFILES), read=Role.VIEWER, write=None)]


class StreamProfiles:
    """The stream profiles in the parameter tree."""

    def __init__(self, params: ParamTree) -> None:
        self.params = params

    def all(self) -> list[StreamProfile]:
        prefix = f"{PARENT}.{LETTER}"
        groups = sorted({n.rsplit(".", 1)[0] for n in self.params.defs
                         if n.startswith(prefix) and n.endswith(".Name")}, key=lambda g: int(g.rsplit(LETTER, 1)[1]))
        return [StreamProfile(g, self.params.get(f"{g}.Name"), self.params.get(f"{g}.Description"),
                              self.params.get(f"{g}.Parameters")) for g in groups]

    def find(self, name: str) -> StreamProfile | None:
        return next((p for p in self.all() if p.name == name), None)

    def names_clash(self, new: dict[str, str]) -> tuple[str, str] | None:
        """A `ParamTree.vetoes` hook: two profiles may not have one name (clients name them)."""
        renamed = {n: v for n, v in new.items() if n.startswith(f"{PARENT}.{LETTER}") and n.endswith(".Name")}
        if not renamed:
            return None
        names: dict[str, str] = {f"{p.group}.Name": p.name for p in self.all()}
        names.update(renamed)
        for param, value in renamed.items():
            if any(other != param and name == value for other, name in names.items()):
                return param, f"a stream profile named {value} exists"
        return None

    def expand(self, pairs: list[tuple[str, str]]) -> dict[str, str]:
        """A stream URL's query with the profile it names put in place; RtspError 404 for no such profile."""
        query: dict[str, str] = {}
        for key, value in pairs:
            if key != PROFILE_KEY:
                query[key] = value
                continue
            profile = self.find(value)
            if profile is None:
                raise RtspError(404, f"no stream profile {value[:32]!r}")
            query.update(parse(profile.parameters))
        return query
