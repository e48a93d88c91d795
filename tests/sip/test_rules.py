"""SIP in the rules, with baresip as the caller: a rule answers the ringing call (the account
does not answer automatically), a rule triggered by the account's DTMF sequence (entered by the
peer in RTP) ends the call; a rule's "Make a SIP call" calls the peer; the incoming call
duration limit ends a call."""

from __future__ import annotations

from tests.conftest import client_as, eventually
from tests.peers.baresip import Baresip
from tests.sip.conftest import add_rule, call_state, key_in, sip_call
from vigil.core.events import Item, Topic
from vigil.core.rules import Condition
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE


async def test_rule_answers_and_a_dtmf_code_ends_the_call(phone: Device, peer: Baresip) -> None:
    async with client_as(phone, "admin") as admin:
        reply = await sip_call(admin, "setSipAccount", id=c.P2P_ID, autoAnswer=False, dtmfSequences=["9#"])
        assert "error" not in reply, reply
    add_rule(phone, "answer", c.ACTION_ANSWER, {}, Condition(c.CALL_STATE, (("CallState", "Ringing"),)))
    add_rule(phone, "code", c.ACTION_HANGUP, {}, Condition(c.DTMF, (("Sequence", "9#"),)))
    service = phone.features[SIP_SERVICE]
    assert service.agent is not None
    assert (await peer.command("dial", f"sip:vigil@127.0.0.1:{service.agent.port}"))["ok"]
    await eventually(lambda: call_state(phone) == "Active", 5, "the rule to answer")
    for code in "19#":
        assert (await peer.command("sndcode", code))["ok"]
    await eventually(lambda: call_state(phone) == "Idle", 5, "the code to end the call")
    assert service.history[-1]["dtmf"] == "19#"
    assert service.history[-1]["reason"] == "hung up"


async def test_rule_makes_a_call_and_the_duration_limit_ends_it(phone: Device, peer: Baresip) -> None:
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipConfiguration", maxCallDuration=1)
    trigger = "tns1:Device/tnsaxis:Test/Trigger"
    phone.events.declare(Topic(trigger, "Test trigger", True, (), (Item("active", "xsd:boolean", state=True),)))
    phone.events.publish(trigger, {}, {"active": "0"})
    add_rule(phone, "call", c.ACTION_CALL, {"account_id": c.P2P_ID, "uri": peer.uri}, Condition(trigger))
    phone.events.publish(trigger, {}, {"active": "1"})
    await eventually(lambda: call_state(phone) == "Active", 5, "the rule's call")
    await eventually(lambda: call_state(phone) == "Idle", 5, "the limit")
    assert phone.features[SIP_SERVICE].history[-1]["reason"] == "the call duration limit was reached"


async def test_a_rule_chosen_by_the_sequences_description_fires_on_the_peers_digits(
        phone: Device, peer: Baresip) -> None:
    async with client_as(phone, "admin") as admin:
        reply = await sip_call(admin, "setSipAccount", id=c.P2P_ID, autoAnswer=True,
                               dtmfSequences=[{"sequence": "42#", "description": "Open the gate"},
                                              {"sequence": "7", "description": "Lights"}])
        assert "error" not in reply, reply
    item = next(i for i in phone.events.topic(c.DTMF).data if i.name == "Sequence")  # as the Events page offers it
    chosen = item.values[item.value_nice.index("Open the gate (42#)")]
    add_rule(phone, "gate", c.ACTION_HANGUP, {}, Condition(c.DTMF, (("Sequence", chosen),)))
    described: list[str] = []
    phone.events.subscribe(lambda event: described.append(event.data.get("Description", ""))
                           if event.topic == c.DTMF else None)
    await key_in(phone, peer, "742#")
    service = phone.features[SIP_SERVICE]
    await eventually(lambda: call_state(phone) == "Idle", 5, "the gate rule to end the call")
    assert service.history[-1]["reason"] == "hung up" and service.history[-1]["dtmf"] == "742#"
    assert described == ["Lights", "", "", "Open the gate"]
    assert "DTMF sequence 42# entered (Open the gate)" in phone.logs.text("system")
