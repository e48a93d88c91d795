"""Stored footage as the RTSP server's replay (vigil/rtsp/replay.py) reads it, through the one
footage reader (vigil.footage.reader; encrypted volumes decrypt there).

- VAPIX: `rtsp://HOST:PORT/axis-media/media.amp?recordingid=ID` plays one recording (the id the
  recording list gives).
- ONVIF: the replay service's URI plays every recording of one camera as one timeline
  (`StoredFootage.of_source`); the time between two recordings is a gap.

Recordings of one camera may overlap (a triggered recording during the continuous one): the
timeline plays each instant once, going on after the last frame sent (forward: from the next
key frame). GOPs are read a window of fragments at a time (`select` opens the window's segment files and
they close when it is done; the first window is short, so that the first frame is soon out),
forward or backward, and each GOP's frames are read at once. Two
frames further apart than GAP (a camera that reconnected, a recording that stopped) are the
two sides of a gap: the GOP before it (in the direction of play) is marked `edge`.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass

from vigil.core.store import Store
from vigil.footage import index
from vigil.footage.h26x import config_parameter_sets
from vigil.footage.reader import (
    FootageError,
    Reason,
    Recording,
    VideoFrame,
    get_recording,
    read_frames,
    select,
    video_frames,
)
from vigil.rtsp.mounts import Track
from vigil.rtsp.protocol import RtspError
from vigil.rtsp.replay import Gop, ReplayTrack

WINDOW = 60.0  # seconds of footage selected (segment files open) at a time
FIRST_WINDOW = 4.0  # the first selection is short: the first frame goes out sooner
GAP = 0.5  # seconds between one frame's end and the next frame's start that make a gap
STATUS = {Reason.NO_ID: 400, Reason.NO_RECORDING: 404, Reason.LOCKED: 503, Reason.NO_FOOTAGE: 404,
          Reason.NO_VIDEO: 415}


@dataclass
class StoredFootage:
    """One or more recordings (oldest first) of one camera, as one replay timeline."""

    store: Store
    recordings: list[tuple[Recording, float, float]]  # with their first and last indexed instants
    codec: str
    parameter_sets: tuple[bytes, ...]
    track: str = "video"

    @property
    def start(self) -> float:
        return self.recordings[0][1]

    @property
    def stop(self) -> float:
        return max(last for _, _, last in self.recordings)  # (one that started earlier may end later)

    @classmethod
    def of_recording(cls, store: Store, recording_id: str) -> StoredFootage:
        """RtspError 404 for an unknown recording or one without footage, 503 while its volume is locked."""
        try:
            return cls.load(store, [get_recording(store, recording_id)])
        except FootageError as err:
            raise RtspError(STATUS.get(err.reason, 404), err.message) from None

    @classmethod
    def of_source(cls, store: Store, source_id: str) -> StoredFootage:
        rows = index.recording_rows(store, source=source_id)
        try:
            return cls.load(store, [Recording(*row[:6]) for row in rows])
        except FootageError as err:
            raise RtspError(STATUS.get(err.reason, 404), err.message) from None

    @classmethod
    def load(cls, store: Store, recordings: list[Recording]) -> StoredFootage:
        kept = []
        for recording in recordings:
            extent = index.recording_extent(store, recording.id)
            if extent is not None:
                kept.append((recording, *extent))
        if not kept:
            raise FootageError(Reason.NO_FOOTAGE, "no footage is stored for this recording")
        kept.sort(key=lambda k: k[1])
        first = select(store, kept[0][0], kept[0][1], kept[0][1] + 1e-3)  # its format: codec and parameter sets
        try:
            video = first.video
        finally:
            first.close()
        if video.codec not in ("H264", "H265"):
            raise FootageError(Reason.NO_VIDEO, f"{video.codec} video is not replayed over RTSP")
        vps, sps, pps = config_parameter_sets(video.codec, video.config)
        return cls(store, kept, video.codec, tuple(n for n in (vps, sps, pps) if n))

    # -- reading -----------------------------------------------------------------------------
    def gops(self, at: float, reverse: bool, keys_only: bool) -> Generator[Gop]:
        raw = self._backward(at, keys_only) if reverse else self._forward(at, keys_only)
        try:
            current = next(raw, None)
            while current is not None:
                following = next(raw, None)
                if following is None:
                    current.edge = True
                elif reverse:
                    current.edge = current.start - following.end > GAP
                else:
                    current.edge = following.start - current.end > GAP
                # What a window holds before `at` (reverse: after it) is not played.
                skip = current.start > at if reverse else (following is not None and following.start <= at)
                if not skip:
                    yield current
                current = following
        finally:
            raw.close()

    def _forward(self, at: float, keys_only: bool) -> Generator[Gop]:
        done = float("-inf")  # the last frame yielded: recordings that overlap (continuous and triggered) play once
        for recording, first, last in self.recordings:
            if last <= max(at, done):
                continue
            t, span = max(at, first, done), FIRST_WINDOW
            while True:
                try:
                    selection = select(self.store, recording, t, t + span)
                except FootageError:
                    break
                try:
                    frames = [f for fragment in selection.fragments for f in video_frames(selection, fragment)
                              if f.time > done]
                    if not frames:
                        break
                    whole = selection.stop >= last
                    # A GOP that runs on past the window is read whole with the next window.
                    cut = len(frames) if whole else (_last_key(frames) or len(frames))
                    yield from _gops(frames[:cut], keys_only)
                    done, span = frames[cut - 1].time, WINDOW
                    if whole and cut == len(frames):
                        break
                    t = frames[cut].time if cut < len(frames) else selection.stop
                finally:
                    selection.close()

    def _backward(self, at: float, keys_only: bool) -> Generator[Gop]:
        floor = float("inf")  # the first frame yielded: recordings that overlap play once
        for recording, first, last in sorted(self.recordings, key=lambda r: r[2], reverse=True):
            upper, span = min(at, last, floor), FIRST_WINDOW
            if first >= upper:
                continue
            while True:
                try:
                    selection = select(self.store, recording, max(upper - span, first), upper + 1e-3)
                except FootageError:
                    break
                try:
                    frames = [f for fragment in selection.fragments for f in video_frames(selection, fragment)
                              if f.time < floor]
                    gops = list(_gops(frames, keys_only))
                    if not gops:
                        break
                    yield from reversed(gops)
                    upper = floor = gops[0].start
                    span = WINDOW
                finally:
                    selection.close()


def _last_key(frames: list[VideoFrame]) -> int:
    return max((n for n, f in enumerate(frames) if f.key), default=0)


def _gops(frames: list[VideoFrame], keys_only: bool) -> Iterator[Gop]:
    """The GOPs of consecutive frames (leading frames without their key frame are dropped),
    with their bytes."""
    group: list[VideoFrame] = []
    for frame in [*frames, None]:
        if frame is None or frame.key:
            if group:
                chosen = group[:1] if keys_only else group
                yield Gop(list(chosen), read_frames(chosen), group[-1].time + group[-1].duration)
            group = []
        if frame is not None and (group or frame.key):
            group.append(frame)


def recording_tracks(store: Store, query: dict[str, str]) -> list[Track]:
    """The mount provider of AXIS_MEDIA for `recordingid=ID`: the recording's video for replay."""
    recording_id = query.get("recordingid")
    if recording_id is None:
        return []
    if "camera" in query:
        raise RtspError(400, "a URL names a camera (live) or a recordingid (replay), not both")
    return [ReplayTrack(StoredFootage.of_recording(store, recording_id[:128]))]
