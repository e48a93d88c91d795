"""The player's live streams ranked by priority (VAPIX's multicast controller ranks its sources
and internal ones such as SIP calls): a stream of higher priority takes the speaker, the one it
took it from is told at its next samples; lower or equal priority and talk (no priority) are
refused while a stream holds the speaker, and talk keeps it against any priority."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from vigil.boot import build_device
from vigil.core.clock import FakeClock
from vigil.device import Ports
from vigil.features.playback.player import Player, SpeakerBusy
from vigil.features.playback.service import PLAYBACK_SERVICE

BLOCK = np.zeros(480, np.int16)


@pytest.fixture
def player(tmp_path: Path, clock: FakeClock) -> Iterator[Player]:
    device = build_device("c1410", tmp_path / "d", Ports(http=80, https=443, host="127.0.0.1"), clock)
    yield device.features[PLAYBACK_SERVICE].player
    device.close()


async def test_a_higher_priority_stream_takes_the_speaker(player: Player) -> None:
    async with contextlib.AsyncExitStack() as stack:
        taken = player.live_stream(lambda: 2, "music")
        music = await taken.__aenter__()
        await music(BLOCK)
        with pytest.raises(SpeakerBusy, match="plays music"):
            await stack.enter_async_context(player.live_stream(lambda: 2, "same rank"))
        with pytest.raises(SpeakerBusy, match="plays music"):
            await stack.enter_async_context(player.live_stream(None, "talk"))
        call = await stack.enter_async_context(player.live_stream(lambda: 5, "a call"))
        await call(BLOCK)
        with pytest.raises(SpeakerBusy, match="taken by a call"):
            await music(BLOCK)
        await taken.__aexit__(None, None, None)
        assert player.live  # the taken stream leaving does not free the speaker of the one that took it
        with pytest.raises(SpeakerBusy, match="plays a call"):
            await stack.enter_async_context(player.live_stream(lambda: 3, "announcement"))
    assert not player.live


async def test_talk_keeps_the_speaker_against_any_priority(player: Player) -> None:
    async with player.live_stream(None, "talk") as talk:
        await talk(BLOCK)
        with pytest.raises(SpeakerBusy, match="plays talk"):
            async with player.live_stream(lambda: 10, "alarm"):
                pass
