"""The speaker joins its sources' groups on the interface of the address it listens on: a
sender in a network namespace of its own (tests/peers/lan.py: a veth pair made for the test and
removed afterwards) reaches it over that LAN, and the tone is heard at the sink: G.711, Opus,
and L16 as the controller's audio codec."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import eventually, free_port
from tests.multicast.conftest import finished, new_group, send, served_on
from tests.multicast.test_service import add
from tests.peers.lan import Lan, lan  # noqa: F401 (fixture)
from tests.playback.conftest import sink
from vigil.features.multicast.const import API
from vigil.features.multicast.service import MULTICAST_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency, level_dbfs


async def test_a_sender_on_the_lan_is_heard(tmp_path: Path, lan: Lan):  # noqa: F811
    async with served_on(tmp_path / "d", lan.device_address) as (device, admin):
        group, port = new_group(), free_port()
        await add(admin, label="Lobby", address=group, port=port, codec="pcmu", priority=3)
        await finished(await send(group, port, lan.peer_address, 1200, 1.0, namespace=lan.namespace))
        await eventually(lambda: not device.features[MULTICAST_SERVICE].player.live, 5, "the stream to end")
        heard = audible(sink(device).sink_samples(), -60.0)
        assert abs(len(heard) / RATE - 1.0) < 0.2, len(heard) / RATE
        assert abs(dominant_frequency(heard) - 1200) < 20


SINE_DBFS = -18.06 - 3.01  # ffmpeg's sine: amplitude 1/8, RMS 3 dB below


async def test_opus_and_l16_senders_are_heard(tmp_path: Path, lan: Lan):  # noqa: F811
    async with served_on(tmp_path / "d", lan.device_address) as (device, admin):
        r = await admin.patch(API + "/codec", json={"data": "l16-22050"})
        assert r.status_code == 400 and "codec l16-22050 is not supported" in r.json()["error"]["message"], r.text
        r = await admin.patch(API + "/codec", json={"data": "l16-16000"})
        assert r.status_code == 200 and (await admin.get(API)).json()["data"]["codec"] == "l16-16000"
        speaker = sink(device)
        for codec, own, frequency in (("libopus", "opus", 700), ("pcm_s16be", None, 1300)):
            group, port = new_group(), free_port()
            await add(admin, label=codec, address=group, port=port, codec=own, priority=3)  # None: the controller's
            start = len(speaker.sink_samples())
            await finished(await send(group, port, lan.peer_address, frequency, 1.0, namespace=lan.namespace,
                                      codec=codec))
            await eventually(lambda: not device.features[MULTICAST_SERVICE].player.live, 5, "the stream to end")
            heard = audible(speaker.sink_samples()[start:], -60.0)
            assert abs(len(heard) / RATE - 1.0) < 0.2, (codec, len(heard) / RATE)
            assert abs(dominant_frequency(heard) - frequency) < 20, codec
            steady = heard[RATE // 10:-RATE // 10]  # without the codec's onset and end
            assert abs(level_dbfs(steady) - SINE_DBFS) < 1.5, (codec, level_dbfs(steady))
        # L16 in stereo (RFC 3551's payload type 10) is refused, clearly, and nothing plays
        group, port = new_group(), free_port()
        await add(admin, label="Stereo", address=group, port=port, codec="l16-44100", priority=3)
        start = len(speaker.sink_samples())
        await finished(await send(group, port, lan.peer_address, 900, 0.3, namespace=lan.namespace,
                                  codec="pcm_s16be", rate=44100, channels=2, payload_type=10))
        assert ("Multicast source Stereo receives RTP payload type 10, not l16-44100 (payload type 11 or a dynamic "
                "one; L16 is played mono only): not played") in device.logs.text("system")
        assert not audible(speaker.sink_samples()[start:], -60.0).size
