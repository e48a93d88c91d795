"""The muxer seam of exports: export.py cuts a selection of footage to the requested frames
(`Cut`) and hands it to the muxer of the requested format, which lays out the file (MP4 in
export.py, Matroska in mkv.py). A muxer never copies samples: its layout refers to them in
the segment files."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from vigil.footage.reader import Layout, SampleRun, Selection


@dataclass
class Cut:
    """What to write: the video runs from key frame a to frame j, the first shown frame k,
    the audio runs alongside, and both paired per fragment (the order they are laid out in)."""

    groups: list[tuple[SampleRun | None, SampleRun | None]]
    video: list[SampleRun]
    shown: int  # index of frame k among the video samples
    shown_time: int  # output times, video timescale
    first_time: int
    end_time: int  # where the last frame ends
    audio_id: int | None
    audio: list[SampleRun]

    @property
    def frames(self) -> int:
        return sum(len(r) for r in self.video)


class Muxer(Protocol):
    def __call__(self, selection: Selection, cut: Cut) -> Layout: ...
