"""Footage that cannot be written (a full disk, an index that cannot commit): which cameras'
recordings fail, on which volume, and how that is told.

The writer reports each recording that starts failing and that is written again
(vigil.footage.writer). Here that becomes, per volume:
- at once, the volumes' view (`Volumes.write_failed`: the volume's problem and the storage
  disruption event) and, through the recorder, the camera's state and IsRecording event;
- in the system log, one line when writing to the volume starts failing and one when footage
  has been written there again for QUIET_SECONDS: a disk that fills up again and again makes
  one pair of lines, never one per fragment.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass

from vigil.core.logs import Logs
from vigil.footage.volumes import Volumes

QUIET_SECONDS = 10.0


@dataclass
class Episode:
    """A volume whose footage cannot be written, from the first failure until it has been
    written for QUIET_SECONDS."""

    started: float  # device clock
    error: str
    clean_since: float | None = None  # monotonic: written again since


class WriteFailures:
    def __init__(self, logs: Logs, clock: Callable[[], float], volumes: Volumes | None) -> None:
        self.logs = logs
        self.clock = clock
        self.volumes = volumes
        self._failing: dict[str, tuple[str, str, str]] = {}  # recording -> (source, volume, error)
        self._episodes: dict[str, Episode] = {}  # by volume

    def error_of(self, source_id: str) -> str:
        """Why the source's footage is not being written ("" when it is)."""
        return next((error for source, _volume, error in self._failing.values() if source == source_id), "")

    def volume_of(self, recording: str) -> str | None:
        """The volume of a failing recording (any thread)."""
        failing = self._failing.get(recording)
        return failing[1] if failing else None

    # -- the event loop ----------------------------------------------------------------------
    def failed(self, recording: str, source_id: str, volume: str, error: str) -> None:
        self._failing[recording] = (source_id, volume, error)
        self._volume_changed(volume)

    def recovered(self, recording: str) -> str | None:
        """The recording is written again (or has ended); returns its source if it was failing."""
        known = self._failing.pop(recording, None)
        if known is None:
            return None
        self._volume_changed(known[1])
        return known[0]

    def _volume_changed(self, volume: str) -> None:
        errors = [error for _source, each, error in self._failing.values() if each == volume]
        episode = self._episodes.get(volume)
        if errors:
            if episode is None:
                self._episodes[volume] = Episode(self.clock(), errors[0])
                self.logs.system(f"recording to {volume} fails: {errors[0]}; the recorder keeps trying and "
                                 "rotates the oldest footage out", "error")
                self._tell_volumes(volume, errors[0])
            elif episode.clean_since is not None:
                episode.clean_since = None
                self._tell_volumes(volume, errors[0])
        elif episode is not None and episode.clean_since is None:
            episode.clean_since = time.monotonic()
            self._tell_volumes(volume, "")
            try:
                asyncio.get_running_loop().call_later(QUIET_SECONDS, self._end_episode, volume, True)
            except RuntimeError:  # no event loop (a test driving the recorder): the episode ends now
                self._end_episode(volume, False)

    def _end_episode(self, volume: str, timed: bool) -> None:
        episode = self._episodes.get(volume)
        if episode is None or episode.clean_since is None:
            return  # failing again
        if timed and time.monotonic() - episode.clean_since < QUIET_SECONDS - 0.1:
            return  # a later recovery's timer ends it
        del self._episodes[volume]
        self.logs.system(f"recording to {volume} works again (it failed from "
                         f"{time.strftime('%H:%M:%S', time.gmtime(episode.started))} UTC: {episode.error})")

    def _tell_volumes(self, volume: str, error: str) -> None:
        if self.volumes is not None:
            self.volumes.write_failed(volume, f"Footage cannot be written: {error}" if error else "")
