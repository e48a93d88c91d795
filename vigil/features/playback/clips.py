"""The audio clips on the device: files in the data folder's `mediaclips/`, one `MediaClip.M<n>`
parameter group each (Name, Location, Type), as the VAPIX Media clip API lists them.

A clip is made only by uploading a file that decodes (decode.probe): the file is written
atomically first, then its group is added in one audited parameter change; a crash in between
leaves a file no group names, which `tidy` removes at the next start. Removing the group (here,
or param.cgi?action=remove) removes the file. param.cgi cannot add a group on its own: a clip
without audio would be a clip that plays nothing."""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from pathlib import Path

from vigil.core.atomic import atomic_write
from vigil.core.params import Change, ParamDef, ParamError, ParamTemplate, ParamTree, applied
from vigil.core.roles import Role
from vigil.features.playback import const as c
from vigil.features.playback.decode import ClipInfo, probe

OWNER = applied("playback", how="read", note="read when a clip plays or is listed (mediaclip.cgi, rules, page)")
LOCATION = re.compile(rf"{c.PARENT}\.{c.LETTER}(\d+)\.Location")
FILE = re.compile(rf"{c.LETTER}(\d+)\.(au|wav|mp3|opus|ogg)")
CLIP_ID = re.compile(r"[0-9]{1,4}")


class ClipNotFound(LookupError):
    pass


class ClipLimit(ValueError):
    pass


@dataclass(frozen=True)
class Clip:
    id: str  # the number n of MediaClip.M<n>
    name: str
    path: Path

    @property
    def group(self) -> str:
        return f"{c.PARENT}.{c.LETTER}{self.id}"


def name_problem(value: str) -> str | None:
    return None if value.strip() else "a clip needs a name"


def template() -> ParamTemplate:
    return ParamTemplate(
        name=c.TEMPLATE, parent=c.PARENT, letter=c.LETTER,
        params=(ParamDef("Name", "Clip", maxlen=c.NAME_MAX, read=Role.VIEWER, write=Role.OPERATOR,
                         check=name_problem),
                ParamDef("Location", "", read=Role.VIEWER, write=None),
                ParamDef("Type", "audio", read=Role.VIEWER, write=None)),
        max_groups=c.MAX_CLIPS, hard_limit=c.MAX_CLIPS, owner=OWNER)


def param_defs() -> list[ParamDef]:
    def fixed(name: str, value: str) -> ParamDef:
        return ParamDef(name, value, read=Role.VIEWER, write=None)
    return [fixed(c.MAX_GROUPS_PARAM, str(c.MAX_CLIPS)), fixed(c.MAX_UPLOAD_PARAM, str(c.MAX_UPLOAD_MB)),
            fixed(c.PLAY_OPTIONS_PARAM, "repeat,volume,audiodeviceid,audiooutputid"),
            fixed(c.STOP_CLIP_PARAM, "yes"), fixed(c.FORMAT_PARAM, ",".join(c.FORMATS))]


def parse_clip_id(text: str | None) -> str:
    if text is None or not CLIP_ID.fullmatch(text):
        raise ClipNotFound(f"clip must be a clip number, 0 to {c.MAX_CLIPS - 1}")
    return str(int(text))


class ClipStore:
    def __init__(self, params: ParamTree, folder: Path) -> None:
        self.params = params
        self.folder = folder
        self._adding: str | None = None  # the Location of the group `add` is making now

    # -- reading -------------------------------------------------------------------------
    def clips(self) -> list[Clip]:
        found = []
        for name in self.params.names():
            match = LOCATION.fullmatch(name)
            if match:
                found.append(self._clip(match.group(1)))
        return sorted(found, key=lambda clip: int(clip.id))

    def _clip(self, clip_id: str) -> Clip:
        group = f"{c.PARENT}.{c.LETTER}{clip_id}"
        location = self.params.get(f"{group}.Location")
        return Clip(clip_id, self.params.get(f"{group}.Name"), self.folder / Path(location).name)

    def get(self, clip_id: str | None) -> Clip:
        number = parse_clip_id(clip_id)
        if f"{c.PARENT}.{c.LETTER}{number}.Location" not in self.params.defs:
            raise ClipNotFound(f"there is no clip {number}")
        return self._clip(number)

    # -- changing ------------------------------------------------------------------------
    def add(self, data: bytes, name: str, role: Role, actor: str) -> tuple[Clip, ClipInfo]:
        """Store `data` as a new clip named `name`: ClipError when it does not decode,
        ClipLimit when the device holds all the clips it can, ParamError for a bad name."""
        if len(data) > c.MAX_UPLOAD:
            raise ClipLimit(f"the file is larger than {c.MAX_UPLOAD_MB} MB (MediaClip.MaxUploadSize)")
        if len(self.clips()) >= c.MAX_CLIPS:
            raise ClipLimit(f"the device holds {c.MAX_CLIPS} clips, its most (MediaClip.MaxGroups): remove one first")
        problem = name_problem(name) or ParamDef("Name", maxlen=c.NAME_MAX).validate(name)
        if problem:
            raise ParamError(f"Invalid clip name: {problem}")
        info = probe(data)
        used = {int(clip.id) for clip in self.clips()}
        number = next(i for i in range(c.MAX_CLIPS) if i not in used)  # the index params.add gives
        filename = f"{c.LETTER}{number}.{info.extension}"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / filename
        atomic_write(path, data)
        location = f"{c.FOLDER}/{filename}"
        self._adding = location
        try:
            short = self.params.add(c.TEMPLATE, c.PARENT, [
                (f"{c.PARENT}.{c.LETTER}.Name", name), (f"{c.PARENT}.{c.LETTER}.Location", location),
                (f"{c.PARENT}.{c.LETTER}.Type", "audio")], role, actor)
        except ParamError:
            path.unlink(missing_ok=True)
            raise
        finally:
            self._adding = None
        assert short == f"{c.LETTER}{number}", (short, number)
        return self._clip(str(number)), info

    def rename(self, clip: Clip, name: str, role: Role, actor: str) -> None:
        self.params.update([(f"{clip.group}.Name", name)], role, actor)

    def remove(self, clip: Clip, role: Role, actor: str) -> None:
        self.params.remove([clip.group], role, actor)

    # -- the parameter tree's hooks ----------------------------------------------------------
    def veto(self, new: dict[str, str]) -> tuple[str, str] | None:
        """param.cgi may not add a MediaClip group: only an upload makes one (with its file)."""
        for name, value in new.items():
            if LOCATION.fullmatch(name) and value != self._adding:
                return name, "clips are added by uploading a file (mediaclip.cgi?action=upload)"
        return None

    def on_params(self, changes: list[Change], actor: str) -> None:
        """A removed clip group takes its file along."""
        for change in changes:
            if LOCATION.fullmatch(change.name) and change.old and not change.new:
                with contextlib.suppress(FileNotFoundError):
                    (self.folder / Path(change.old).name).unlink()

    def tidy(self) -> None:
        """Remove files no clip names (an upload cut off by a crash) and the temporary files of
        atomic writes."""
        if not self.folder.is_dir():
            return
        named = {clip.path.name for clip in self.clips()}
        for path in self.folder.iterdir():
            if path.name not in named:
                path.unlink(missing_ok=True)
