"""The playback domain: the clips (clips.py) and the speaker's player (player.py) together, as
the APIs, the rules and the page use them: play a clip by number with a volume and a repeat
count, stop, and the arguments' checks shared by all of them."""

from __future__ import annotations

import asyncio
import functools
import re
from collections.abc import Callable, Iterator

import numpy as np

from vigil.core.logs import Logs
from vigil.core.registry import Key
from vigil.features.playback import const as c
from vigil.features.playback.clips import Clip, ClipStore
from vigil.features.playback.decode import blocks
from vigil.features.playback.player import Play, Player

NUMBER = re.compile(r"-?[0-9]{1,6}")


class PlayArgumentError(ValueError):
    pass


def parse_volume(text: str | None) -> int:
    if text is None or text == "":
        return 100
    if not NUMBER.fullmatch(text) or not 0 <= int(text) <= c.VOLUME_MAX:
        raise PlayArgumentError(f"volume must be a whole number from 0 to {c.VOLUME_MAX} (percent; 100 plays the "
                                f"clip as recorded)")
    return int(text)


def parse_repeat(text: str | None) -> int:
    if text is None or text == "":
        return 0
    if not NUMBER.fullmatch(text) or not -1 <= int(text) <= 1000:
        raise PlayArgumentError("repeat must be -1 (until stopped) or a whole number from 0 (play once) to 1000")
    return int(text)


class PlaybackService:
    def __init__(self, clips: ClipStore, player: Player, logs: Logs) -> None:
        self.clips = clips
        self.player = player
        self.logs = logs

    @staticmethod
    def _source(clip: Clip) -> tuple[str, Callable[[], Iterator[np.ndarray]]]:
        return clip.id, functools.partial(blocks, clip.path)

    async def play(self, clips: list[Clip], volume: int = 100, repeat: int = 0, who: str = "") -> asyncio.Task:
        """Play `clips` one after the other (SpeakerBusy during a live stream)."""
        task = await self.player.play(Play(tuple(self._source(clip) for clip in clips), volume, repeat))
        names = ", ".join(f"{clip.id} ({clip.name})" for clip in clips)
        self.logs.system(f"Playing audio clip {names} at volume {volume}%"
                         + (f", repeated {'until stopped' if repeat < 0 else repeat}" if repeat else "")
                         + (f" for {who}" if who else ""))
        return task

    async def stop(self) -> bool:
        return await self.player.stop()


PLAYBACK_SERVICE: Key[PlaybackService] = Key("playback")
