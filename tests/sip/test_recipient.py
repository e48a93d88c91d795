"""The SIP recipient of the Events page, from a device without a speaker (an in-process W401:
SIP loads there to place calls only) to the speaker (the `phone` fixture) and to baresip: the
recipient's Test rings the far end, the call offers no audio, carries the account's caller ID,
comes from the default account when none is named, and ends by the W401's call duration limit.
The speaker's own settings: the per-account DTMF protocols and the calling timeout."""

from __future__ import annotations

from tests.conftest import client_as, eventually
from tests.peers.baresip import Baresip
from tests.peers.servers import add_recipient, add_recipient_xml, fault, run_recipient_test
from tests.sip.conftest import sip_call
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE

SIP = "com.axis.recipient.sip"


def _phone_uri(phone: Device) -> str:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    return f"sip:vigil@127.0.0.1:{agent.port}"


async def test_w401_recipient_rings_the_speaker_with_its_caller_id_and_no_audio(w401: Device, phone: Device) -> None:
    speaker = phone.features[SIP_SERVICE]
    async with client_as(w401, "admin") as admin:
        assert "SIP" not in [a.name for a in w401.apis]  # no SIP page on a device without a speaker
        refused = await sip_call(admin, "setSipConfiguration", allowIncoming=False)
        assert "only places calls" in refused["error"]["message"], refused
        refused = await sip_call(admin, "setSipConfiguration", tlsPort=5062)
        assert "only places calls" in refused["error"]["message"] and "tlsPort" in refused["error"]["message"]
        assert "error" not in await sip_call(admin, "setSipConfiguration", maxCallDuration=1)
        assert "error" not in await sip_call(admin, "setSipAccount", id=c.P2P_ID, callerId="Front door")
        rid = await add_recipient(admin, SIP, {"sip_account": "", "sip_uri": _phone_uri(phone)}, "speaker")
        r = await run_recipient_test(admin, rid)
        assert r.status_code == 200, r.text
    (incoming,) = speaker.calls()
    caller = w401.features[SIP_SERVICE].agent
    assert caller is not None and caller.transports.tls is None  # it listens for no one, over TLS neither
    assert incoming.invite is not None and incoming.invite.get("from").startswith('"Front door" <sip:vigil@')
    assert b"a=inactive" in incoming.invite.body  # the W401 has no audio to send or play
    await eventually(lambda: speaker.history, 5, "the W401's duration limit to end the call")
    assert speaker.history[-1]["reason"] == "hung up by the far end"
    assert w401.features[SIP_SERVICE].history[-1]["reason"] == "the call duration limit was reached"


async def test_calls_come_from_the_default_account(w401: Device, phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None
    async with client_as(w401, "admin") as admin:
        # The "registrar" is the speaker itself: it refuses the REGISTER, but the call goes there.
        desk = await sip_call(admin, "setSipAccount", id="desk", user="desk", registrar=f"127.0.0.1:{agent.port}",
                              callerId="Desk", isDefault=True)
        assert "error" not in desk, desk
        accounts = (await sip_call(admin, "getSipAccounts"))["data"]["accounts"]
        assert [a["id"] for a in accounts if a["isDefault"]] == ["desk"]
        placed = await sip_call(admin, "call", uri="sip:vigil@127.0.0.1")
        assert placed["data"]["accountId"] == "desk", placed
    incoming = await eventually(lambda: phone.features[SIP_SERVICE].calls(), 5, "the call at the speaker")
    assert incoming[0].invite is not None and incoming[0].invite.get("from").startswith('"Desk" <sip:desk@')


async def test_w401_recipient_reaches_baresip_and_a_wrong_address_is_explained(w401: Device, peer: Baresip) -> None:
    async with client_as(w401, "admin") as admin:
        rid = await add_recipient(admin, SIP, {"sip_uri": peer.uri}, "desk phone")
        r = await run_recipient_test(admin, rid)
        assert r.status_code == 200, r.text
        await eventually(lambda: [x for x in w401.features[SIP_SERVICE].calls() if x.state == "active"], 5,
                         "baresip to answer")
        refused = await fault(admin, add_recipient_xml(SIP, {"sip_uri": "tel:123"}, "phone"))
        assert "not a SIP address" in refused.reason, refused
    assert (await peer.command("hangup"))["ok"]
    await eventually(lambda: not w401.features[SIP_SERVICE].calls(), 5, "the call to end")


async def test_dtmf_by_a_protocol_the_account_leaves_out_is_ignored(phone: Device, peer: Baresip) -> None:
    digits: list[str] = []
    phone.events.subscribe(lambda e: digits.append(e.data["Digit"]) if e.topic == c.DTMF else None)
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipAccount", id=c.P2P_ID, dtmfProtocols=["info"])
    assert (await peer.command("dial", _phone_uri(phone)))["ok"]
    service = phone.features[SIP_SERVICE]
    await eventually(lambda: [x for x in service.calls() if x.state == "active"], 5, "the call to be answered")
    assert (await peer.command("sndcode", "5"))["ok"]  # baresip sends DTMF in RTP (RFC 4733)
    await eventually(lambda: phone.logs.entries("system", "DTMF 5 by RTP (RFC 4733) ignored"), 5,
                     "the log line")
    assert digits == []
    assert (await peer.command("hangup"))["ok"]
    await eventually(lambda: not service.calls(), 5, "the call to end")


async def test_an_unanswered_call_ends_after_the_calling_timeout(phone: Device, peer: Baresip) -> None:
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipAccount", id=c.P2P_ID, autoAnswer=False)
        assert "error" not in await sip_call(admin, "setSipConfiguration", callingTimeout=1)
    assert (await peer.command("dial", _phone_uri(phone)))["ok"]
    service = phone.features[SIP_SERVICE]
    await eventually(lambda: service.history, 5, "the calling timeout")
    assert service.history[-1]["reason"] == "not answered in time"
