"""Calls with a real far end (baresip on loopback): the peer calls the speaker's peer-to-peer
account, which answers automatically, and the peer's 1 kHz tone is heard at the speaker's
sink; DTMF the peer sends in RTP (RFC 4733) arrives as DTMF events; the speaker calls the
peer (test call) and hangs up; the call state events follow."""

from __future__ import annotations

import asyncio

import numpy as np

from tests.conftest import client_as, eventually
from tests.peers.baresip import Baresip
from tests.playback.conftest import sink
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency


async def test_peer_calls_the_speaker_and_is_heard_and_its_dtmf_fires_events(phone: Device, peer: Baresip) -> None:
    service = phone.features[SIP_SERVICE]
    digits: list[str] = []
    phone.events.subscribe(lambda e: digits.append(e.data["Digit"]) if e.topic == c.DTMF else None)
    reasons: list[str] = []
    phone.events.subscribe(lambda e: reasons.append(e.data["Reason"]) if e.topic == c.CALL_STATE_CHANGE else None)
    assert service.agent is not None
    reply = await peer.command("dial", f"sip:vigil@127.0.0.1:{service.agent.port}")
    assert reply["ok"], reply
    await eventually(lambda: call_state(phone) == "Active", 5, "the call to be answered")
    speaker = sink(phone)
    await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 2, 8, "the peer's audio")
    heard = audible(speaker.sink_samples(), -40.0)
    assert abs(dominant_frequency(heard[-RATE // 2:]) - 1000) < 30
    for count, code in enumerate("1#", 1):
        assert (await peer.command("sndcode", code))["ok"]
        await eventually(lambda count=count: len(digits) >= count, 5, f"DTMF {code}")
    assert digits == ["1", "#"]
    assert reasons == ["Initiated", "AcceptedByDevice"]  # an incoming call, answered by the device
    await peer.command("hangup")
    await eventually(lambda: call_state(phone) == "Idle", 5, "the call to end")
    assert service.history[-1]["reason"] == "hung up by the far end"
    assert service.history[-1]["dtmf"] == "1#"


async def test_test_call_reaches_the_peer_and_is_hung_up(phone: Device, peer: Baresip) -> None:
    sink(phone).feed(np.zeros(RATE, np.int16))
    async with client_as(phone, "operator") as operator:
        placed = await sip_call(operator, "call", uri=peer.uri)
        assert "error" not in placed, placed
        call_id = placed["data"]["id"]
        await eventually(lambda: call_state(phone) == "Active", 5, "the peer to answer")
        calls = (await sip_call(operator, "getCalls"))["data"]["calls"]
        assert [(x["id"], x["direction"], x["state"]) for x in calls] == [(call_id, "outgoing", "active")]
        await eventually(lambda: phone.features[SIP_SERVICE].calls()[0].media.received_packets > 10, 5,
                         "the peer's RTP")
        assert "error" not in await sip_call(operator, "hangup", callId=call_id)
    assert call_state(phone) == "Idle"
    assert phone.features[SIP_SERVICE].history[-1]["reason"] == "hung up"


async def test_a_call_placed_while_settings_are_applied_goes_out_on_the_new_agent(phone: Device,
                                                                                  peer: Baresip) -> None:
    service = phone.features[SIP_SERVICE]
    service.store.save_settings({**service.store.settings(), "callingTimeout": 30})  # the agent restarts
    _, call = await asyncio.gather(service.apply(), service.call(None, peer.uri))
    assert service.agent is not None and call in service.agent.calls.values()
    await eventually(lambda: call_state(phone) == "Active", 5, "the peer to answer")
    await service.hangup(call.id)
    await eventually(lambda: call_state(phone) == "Idle", 5, "the call to end")
