"""re-INVITEs from a hand-made far end (RFC 3264 8): a session refresh is answered with the same
description (the same SDP version), an offer the device cannot take is answered 488 and the call
goes on, a re-INVITE without SDP gets the device's offer, whose answer in the ACK applies, and
an SRTP far end may change its key."""

from __future__ import annotations

import base64

from tests.conftest import client_as, eventually
from tests.sip.conftest import sip_call
from tests.sip.test_ua import SDP, RawPeer, to_tag
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE
from vigil.features.sip.srtp import KEY_BYTES


def _origin(reply: str) -> str:
    return next(x for x in reply.split("\r\n") if x.startswith("o="))


async def test_refresh_refusal_and_an_offer_answered_in_the_ack(phone: Device) -> None:
    service = phone.features[SIP_SERVICE]
    assert service.agent is not None
    raw = RawPeer(service.agent.port)
    try:
        first, tag = await raw.answered()
        media = service.calls()[0].media
        assert media is not None and media.plan is not None and media.plan.sends
        await raw.send(raw.request("INVITE", 2, SDP.format(pt=0), to_tag=tag))
        assert _origin(await raw.response(200)) == _origin(first)  # a session refresh changes nothing
        await raw.send(raw.request("ACK", 2, to_tag=tag, branch="ack2"))
        await raw.send(raw.request("INVITE", 3, SDP.format(pt=18), to_tag=tag))
        refused = await raw.response(488)
        assert 'Warning: 399 vigil "no codec in common"' in refused
        await raw.send(raw.request("ACK", 3, to_tag=tag, branch="INVITE3"))
        assert service.calls()[0].state == "active" and media.plan.codec.name == "pcmu"
        await raw.send(raw.request("INVITE", 4, to_tag=tag))  # no SDP: the device offers
        offer = await raw.response(200)
        assert "m=audio " in offer and "a=sendrecv" in offer
        await raw.send(raw.request("ACK", 4, SDP.format(pt=0) + "a=sendonly\r\n", to_tag=tag, branch="ack4"))
        await eventually(lambda: media.plan is not None and media.plan.direction == "recvonly", 3, "the answer")
        assert not media.plan.sends
        await raw.send(raw.request("BYE", 5, to_tag=tag))  # (an agent stopping with a call up waits for its BYE)
        await raw.response(200)
    finally:
        raw.close()


async def test_a_re_key_changes_what_is_received_and_keeps_what_is_sent(phone: Device) -> None:
    """SRTP: the far end's new key (RFC 4568 7.1.4) replaces the inbound session only; a new
    outbound session with the device's same key would start its packet index again."""
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipAccount", id=c.P2P_ID, mediaEncryption="srtp-mandatory")
    service = phone.features[SIP_SERVICE]
    assert service.agent is not None
    raw = RawPeer(service.agent.port)
    keys = [base64.b64encode(bytes([n]) * KEY_BYTES).decode() for n in (1, 2)]
    offer = SDP.replace("RTP/AVP", "RTP/SAVP") + "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:{key}\r\n"
    try:
        await raw.send(raw.request("INVITE", 1, offer.format(pt=0, key=keys[0])))
        tag = to_tag(await raw.response(200))
        await raw.send(raw.request("ACK", 1, to_tag=tag, branch="ack1"))
        media = service.calls()[0].media
        assert media is not None and media.srtp is not None and media.srtp.remote_key == bytes([1]) * KEY_BYTES
        outbound = media.srtp.outbound
        await raw.send(raw.request("INVITE", 2, offer.format(pt=0, key=keys[1]), to_tag=tag))
        assert "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" in await raw.response(200)
        assert media.srtp.remote_key == bytes([2]) * KEY_BYTES and media.srtp.outbound is outbound
        await raw.send(raw.request("ACK", 2, to_tag=tag, branch="ack2"))
        await raw.send(raw.request("BYE", 3, to_tag=tag))
        await raw.response(200)
    finally:
        raw.close()
