"""The speaker joins its sources' groups on the interface of the address it listens on: a
sender in a network namespace of its own (tests/peers/lan.py: a veth pair made for the test and
removed afterwards) reaches it over that LAN, and the tone is heard at the sink."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import eventually, free_port
from tests.multicast.conftest import finished, new_group, send, served_on
from tests.multicast.test_service import add
from tests.peers.lan import Lan, lan  # noqa: F401 (fixture)
from tests.playback.conftest import sink
from vigil.features.multicast.service import MULTICAST_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency


async def test_a_sender_on_the_lan_is_heard(tmp_path: Path, lan: Lan):  # noqa: F811
    async with served_on(tmp_path / "d", lan.device_address) as (device, admin):
        group, port = new_group(), free_port()
        await add(admin, label="Lobby", address=group, port=port, codec="pcmu", priority=3)
        await finished(await send(group, port, lan.peer_address, 1200, 1.0, namespace=lan.namespace))
        await eventually(lambda: not device.features[MULTICAST_SERVICE].player.live, 5, "the stream to end")
        heard = audible(sink(device).sink_samples(), -60.0)
        assert abs(len(heard) / RATE - 1.0) < 0.2, len(heard) / RATE
        assert abs(dominant_frequency(heard) - 1200) < 20
