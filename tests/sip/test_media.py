"""The media side of calls with a real far end (one baresip for the module, an account per
case): SRTP (SDES) both ways with the account's media encryption, RTCP reports, hold and
resume by re-INVITE, and the G.722 and Opus codecs, each heard at the speaker's sink or at the
peer (baresip's sndfile module keeps what it decoded in a WAV file)."""

from __future__ import annotations

import wave
from collections.abc import Iterator

import numpy as np
import pytest

from tests.conftest import client_as, eventually
from tests.peers.baresip import Baresip, start_baresip
from tests.playback.conftest import sink
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency, tone

CODEC_MODULES = "module g722.so\nmodule opus.so\nmodule srtp.so\nmodule sndfile.so\n"


@pytest.fixture(scope="module")
def far(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Baresip]:
    folder = tmp_path_factory.mktemp("baresip-media")
    (folder / "heard").mkdir()
    peer = start_baresip(folder, config=CODEC_MODULES + f"snd_path {folder / 'heard'}\nausrc_srate 8000\n"
                                                        "ausrc_channels 1\n",
                         accounts=("secure;mediaenc=srtp-mand", "best;mediaenc=srtp"))
    yield peer
    peer.stop()



async def _set_p2p(phone: Device, **fields: object) -> None:
    async with client_as(phone, "admin") as admin:
        reply = await sip_call(admin, "setSipAccount", id=c.P2P_ID, **fields)
        assert "error" not in reply, reply


async def _heard_tone(phone: Device, frequency: float) -> None:
    speaker = sink(phone)
    await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 2, 8, "the peer's audio")
    heard = audible(speaker.sink_samples(), -40.0)
    assert abs(dominant_frequency(heard[-RATE // 2:]) - frequency) < 30


def _recorded(far: Baresip) -> np.ndarray:
    """What the peer decoded in its latest call (sndfile's dump-*-dec.wav)."""
    folder = far.folder / "heard"
    latest = max(folder.glob("*-dec.wav"), key=lambda p: p.stat().st_mtime)
    with wave.open(str(latest)) as recorded:
        rate, channels = recorded.getframerate(), recorded.getnchannels()
        samples = np.frombuffer(recorded.readframes(recorded.getnframes()), "<i2")[::channels]
    return np.repeat(samples, RATE // rate)  # at the speaker's rate for the shared measures


def _holds_tone(samples: np.ndarray, frequency: float) -> bool:
    """`frequency` stands out of the spectrum (the room also carries the peer's own tone back)."""
    spectrum = np.abs(np.fft.rfft(samples.astype(np.float64)))
    at = int(round(frequency * len(samples) / RATE))
    return bool(spectrum[at - 3:at + 4].max() > 0.2 * spectrum.max())


async def _dial_from(far: Baresip, user: str, phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    assert (await far.command("uafind", f"sip:{user}@127.0.0.1:{far.sip_port}"))["ok"]
    assert (await far.command("dial", f"sip:vigil@127.0.0.1:{agent.port}"))["ok"]
    await eventually(lambda: call_state(phone) == "Active", 5, "the call to be answered")


async def _hang_up(far: Baresip, phone: Device) -> None:
    await far.command("hangup")
    await eventually(lambda: call_state(phone) == "Idle", 5, "the call to end")


async def test_srtp_mandatory_call_from_the_peer_both_ways_with_rtcp(phone: Device, far: Baresip) -> None:
    """The peer's srtp-mand account calls; the tone is heard, the microphone reaches the peer,
    each side's SRTCP reports reach the other (baresip counts our sender report's packets)."""
    await _set_p2p(phone, mediaEncryption="srtp-mandatory")
    await _dial_from(far, "secure", phone)
    await _heard_tone(phone, 1000)
    media = phone.features[SIP_SERVICE].calls()[0].media
    assert media is not None and media.srtp is not None and media.srtp.refused == 0
    assert media.plan is not None and media.plan.remote_key is not None
    sink(phone).feed(tone(600, 2.0, -12.0))
    sent = media.sent_packets
    await eventually(lambda: media.sent_packets > sent + 60 and media.reception.reports > 0
                     and media.reports_sent > 0, 8, "the microphone and RTCP both ways")
    debug = (await far.command("audio_debug"))["data"]
    assert "menc: srtp-mand (secure=yes)" in debug
    member = debug.split(f"member 0x{media.ssrc:08x}:", 1)[1]
    assert int(member.split("psent=")[1].split()[0]) > 0  # our SR's packet count, through SRTCP
    await _hang_up(far, phone)
    assert _holds_tone(_recorded(far), 600)


async def test_the_device_calls_with_srtp_mandatory_and_a_plain_offer_is_refused(phone: Device, far: Baresip) -> None:
    await _set_p2p(phone, mediaEncryption="srtp-mandatory")
    async with client_as(phone, "operator") as operator:
        placed = await sip_call(operator, "call", uri=f"sip:secure@127.0.0.1:{far.sip_port}")
        assert "error" not in placed, placed
        await eventually(lambda: call_state(phone) == "Active", 5, "the peer to answer")
        media = phone.features[SIP_SERVICE].calls()[0].media
        assert media is not None and media.srtp is not None
        await eventually(lambda: media.received_packets > 10, 5, "the peer's SRTP")
        assert media.srtp.refused == 0
        assert "error" not in await sip_call(operator, "hangup", callId=placed["data"]["id"])
    # the peer's plain account offers RTP/AVP without keys: refused with 488 and the reason
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    assert (await far.command("uafind", f"sip:peer@127.0.0.1:{far.sip_port}"))["ok"]
    assert (await far.command("dial", f"sip:vigil@127.0.0.1:{agent.port}"))["ok"]
    await eventually(lambda: "session closed: 488 Not Acceptable Here" in far.log_text(), 5, "the 488 at the peer")
    assert call_state(phone) == "Idle"


async def test_srtp_optional_is_used_with_a_peer_that_has_it_and_not_with_one_that_has_not(
        phone: Device, far: Baresip) -> None:
    await _set_p2p(phone, mediaEncryption="srtp-optional")
    async with client_as(phone, "operator") as operator:
        for user, secure in (("best", True), ("peer", False)):  # baresip's best-effort SRTP; no SRTP
            placed = await sip_call(operator, "call", uri=f"sip:{user}@127.0.0.1:{far.sip_port}")
            assert "error" not in placed, placed
            await eventually(lambda: call_state(phone) == "Active", 5, f"{user} to answer")
            media = phone.features[SIP_SERVICE].calls()[0].media
            assert media is not None and (media.srtp is not None) == secure
            await eventually(lambda media=media: media.received_packets > 10, 5, f"the audio of {user}")
            assert media.srtp is None or media.srtp.refused == 0
            assert "error" not in await sip_call(operator, "hangup", callId=placed["data"]["id"])


async def test_hold_and_resume_by_re_invite_stop_and_restart_the_microphone(phone: Device, far: Baresip) -> None:
    await _dial_from(far, "peer", phone)
    media = phone.features[SIP_SERVICE].calls()[0].media
    assert media is not None
    await eventually(lambda: media.sent_packets > 5, 5, "the microphone's RTP")
    assert (await far.command("hold"))["ok"]
    await eventually(lambda: media.plan is not None and media.plan.direction == "recvonly", 5, "the hold")
    held = media.sent_packets
    assert not media.plan.sends
    assert (await far.command("resume"))["ok"]
    await eventually(lambda: media.plan is not None and media.plan.direction == "sendrecv", 5, "the resume")
    await eventually(lambda: media.sent_packets > held + 5, 5, "the microphone again")
    assert call_state(phone) == "Active"
    await _hang_up(far, phone)


@pytest.mark.parametrize(("priority", "codec", "incoming"), [(["g722", "opus", "pcmu"], "G722", True),
                                                          (["opus", "pcmu"], "OPUS", False)])
async def test_wideband_calls_follow_the_codec_priority_and_are_heard_both_ways(
        phone: Device, far: Baresip, priority: list[str], codec: str, incoming: bool) -> None:
    """The peer offers G.711, G.722 and Opus: the device answers with the first of its list; the
    device's offer lists its codecs in priority order and the peer takes the first."""
    async with client_as(phone, "admin") as admin:
        reply = await sip_call(admin, "setSipConfiguration", codecPriority=priority)
        assert "error" not in reply, reply
    if incoming:
        await _dial_from(far, "peer", phone)
    else:
        async with client_as(phone, "operator") as operator:
            assert "error" not in await sip_call(operator, "call", uri=far.uri)
        await eventually(lambda: call_state(phone) == "Active", 5, "the peer to answer")
    media = phone.features[SIP_SERVICE].calls()[0].media
    assert media is not None and media.plan is not None and media.plan.codec.encoding == codec
    await _heard_tone(phone, 1000)
    sink(phone).feed(tone(600, 2.0, -12.0))
    sent = media.sent_packets
    await eventually(lambda: media.sent_packets > sent + 60, 5, "the microphone")
    await _hang_up(far, phone)
    assert _holds_tone(_recorded(far), 600)


async def test_a_call_placed_right_after_another_ends_is_heard(phone: Device, far: Baresip) -> None:
    """What the first call still had queued for the speaker when it ended is dropped and the
    speaker is free at once: the next call, answered at once, is played (it used to be refused,
    "the speaker plays SIP call 1", while the ended call drained its audio)."""
    service = phone.features[SIP_SERVICE]
    speaker = sink(phone)
    async with client_as(phone, "operator") as operator:
        for turn in ("first", "second"):
            placed = await sip_call(operator, "call", uri=far.uri)
            assert "error" not in placed, placed
            call = next(x for x in service.calls() if x.id == placed["data"]["id"])
            await eventually(lambda call=call: call.state == "active", 5, f"the {turn} call to be answered")
            speaker.clear_sink()
            await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 4, 5,
                             f"the {turn} call at the speaker")
            assert "error" not in await sip_call(operator, "hangup", callId=call.id)
    assert not phone.logs.entries("system", "is not played")
