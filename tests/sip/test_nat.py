"""NAT traversal (SIP settings > NAT traversal) with a real STUN/TURN server (coturn on loopback)
and baresip as the far end: the settings are checked, audited and keep the TURN password sealed;
with TURN the device's SDP gives the relayed address coturn allocated, the far end's tone reaches
the speaker through the relay (coturn's relay counters show the packets), and a wrong TURN
password shows in the NAT status and the log; with STUN the SIP socket's and the RTP socket's
addresses as coturn saw them are what Contact, Via and the SDP carry."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_as, eventually
from tests.peers.baresip import Baresip, start_baresip
from tests.peers.coturn import PASSWORD, USER, Coturn, start_coturn
from tests.peers.lan import Lan, needs_lan
from tests.playback.conftest import sink
from tests.sip.conftest import NAT_PORTS, call_state, running_phone, sip_call, source_nat
from vigil.core.clock import FakeClock
from vigil.core.roles import Role
from vigil.device import Device
from vigil.features.audio.const import INPUT_ENABLED as AUDIO_INPUT_ENABLED
from vigil.features.sip import const as c
from vigil.features.sip import message as m
from vigil.features.sip import sdp
from vigil.features.sip.media import RtpSocket
from vigil.features.sip.service import SIP_SERVICE
from vigil.hal.audio import RATE, audible, dominant_frequency


@pytest.fixture(scope="module")
def coturn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Coturn]:
    server = start_coturn(tmp_path_factory.mktemp("coturn"))
    yield server
    server.stop()




async def _nat(phone: Device, **settings: object) -> dict:
    async with client_as(phone, "admin") as admin:
        reply = await sip_call(admin, "setSipConfiguration", natTraversal=settings)
    assert "error" not in reply, reply
    return reply["data"]["natTraversal"]


async def _answered(phone: Device, far: Baresip) -> None:
    """`far` calls the speaker's peer-to-peer account, which answers."""
    service = phone.features[SIP_SERVICE]
    assert service.agent is not None
    assert (await far.command("dial", f"sip:vigil@127.0.0.1:{service.agent.port}"))["ok"]
    await eventually(lambda: call_state(phone) == "Active", 8, "the call to be answered")


def _our_answer(phone: Device) -> bytes:
    """The SDP the speaker answered the call with."""
    call = phone.features[SIP_SERVICE].calls()[0]
    assert call.last_response is not None
    return call.last_response.body


async def test_settings_are_checked_sealed_and_audited(phone: Device) -> None:
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipConfiguration", enabled=False)  # no servers asked here
        for bad, field in (({"stun": True}, "stunServer"), ({"turn": True, "turnServer": "turn.example"}, "turnUser"),
                           ({"stunServer": "bad host!"}, "stunServer"), ({"turnServer": "h:70000"}, "turnServer"),
                           ({"ice": "yes"}, "ice"), ({"relay": True}, "relay"), ({"turnPassword": 5}, "turnPassword"),
                           ({"turnTransport": "tls"}, "turnTransport")):
            reply = await sip_call(admin, "setSipConfiguration", natTraversal=bad)
            assert reply["error"]["code"] == 4004 and field in reply["error"]["message"], reply
        assert "natTraversal must be an object" in (await sip_call(admin, "setSipConfiguration",
                                                                   natTraversal=[]))["error"]["message"]
        shown = await _nat(phone, ice=True, turn=True, turnServer="turn.example:3479", turnUser="door",
                           turnPassword="s3cret-turn")
        assert shown == {"ice": True, "stun": False, "stunServer": "", "turn": True, "turnServer": "turn.example:3479",
                         "turnUser": "door", "turnTransport": "udp", "turnPasswordSet": True}
        assert (await sip_call(admin, "getSipConfiguration"))["data"]["natTraversal"] == shown
        kept = await _nat(phone, stun=True, stunServer="127.0.0.1")  # the password is kept when not given
        assert kept["turnPasswordSet"] and kept["stun"]
    raw = phone.store.get_kv(c.SETTINGS_KEY)
    assert raw is not None and "s3cret-turn" not in raw  # sealed
    assert phone.features[SIP_SERVICE].store.settings()["natTraversal"]["turnPassword"] == "s3cret-turn"
    assert "changed the SIP settings: natTraversal" in phone.logs.text("audit")


@pytest.mark.parametrize("transport", ["udp", "tcp"])
async def test_turn_relays_the_call_and_its_audio(phone: Device, peer: Baresip, coturn: Coturn, transport: str) -> None:
    await _nat(phone, turn=True, turnServer=coturn.address, turnUser=USER, turnPassword=PASSWORD,
               turnTransport=transport)
    before = len(coturn.peer_usage())  # the module's coturn: earlier tests' allocations are in its log too
    service = phone.features[SIP_SERVICE]
    await eventually(lambda: service.nat_status.state.get("turn", {}).get("state") == "ok", 5, "the TURN check")
    await _answered(phone, peer)
    answer = sdp.parse(_our_answer(phone))
    assert answer.address == "127.0.0.1" and answer.port in coturn.relay_ports  # the relayed address
    speaker = sink(phone)
    await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 2, 8, "the peer's audio")
    assert abs(dominant_frequency(audible(speaker.sink_samples(), -40.0)[-RATE // 2:]) - 1000) < 30
    await peer.command("hangup")
    await eventually(lambda: call_state(phone) == "Idle", 5, "the call to end")
    usage = await eventually(lambda: [u for u in coturn.peer_usage()[before:] if u["rp"] > 25], 10,
                             "coturn's counters of the relayed call")
    assert usage[-1]["sp"] > 0  # the device's audio went out through the relay too
    assert usage[-1]["tcp"] == (transport == "tcp")


async def test_turn_relays_a_call_the_device_only_listens_to(phone: Device, peer: Baresip, coturn: Coturn) -> None:
    """No microphone, so no audio goes out: the relay still lets the far end's audio through."""
    phone.params.update([(AUDIO_INPUT_ENABLED, "no")], Role.ADMIN, "test")
    await _nat(phone, turn=True, turnServer=coturn.address, turnUser=USER, turnPassword=PASSWORD)
    await _answered(phone, peer)
    await _heard(phone)
    await peer.command("hangup")
    await eventually(lambda: call_state(phone) == "Idle", 5, "the call to end")


async def test_wrong_turn_password_shows_in_status_and_log(phone: Device, coturn: Coturn) -> None:
    await _nat(phone, turn=True, turnServer=coturn.address, turnUser=USER, turnPassword="wrong")
    service = phone.features[SIP_SERVICE]
    await eventually(lambda: "turn" in service.nat_status.state, 5, "the TURN check")
    reason = f"the TURN server {coturn.address} refused the user name or password (401 Unauthorized)"
    async with client_as(phone, "operator") as operator:
        status = (await sip_call(operator, "getSipAccounts"))["data"]["natStatus"]
    assert status["turn"] == {"state": "failed", "reason": reason}
    assert f"SIP NAT traversal: TURN failed: {reason}" in phone.logs.text("system")


class _Callee(asyncio.DatagramProtocol):
    """A far end that keeps the INVITE it gets and turns it away (486): what the device sent, as received."""

    def __init__(self) -> None:
        self.invites: asyncio.Queue[m.Message] = asyncio.Queue()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.DatagramTransport)
        self.transport = transport

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        msg = m.parse(data)
        if msg.is_request and msg.method == "INVITE":
            self.invites.put_nowait(msg)
            self.transport.sendto(m.response(msg, 486, "Busy Here", m.new_tag()).encode(), addr)


@pytest.fixture(scope="module")
def behind_nat(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Lan, Coturn, str]]:
    """The device behind a NAT: coturn in a network namespace of its own sees the device's packets
    come from `public` (a source NAT with its own ports, in the namespace's input hook)."""
    lan = Lan.create()
    try:
        public = source_nat(lan)
        server = start_coturn(tmp_path_factory.mktemp("coturn-nat"), lan)
        try:
            yield lan, server, public
        finally:
            server.stop()
    finally:
        lan.delete()


@needs_lan
async def test_stun_behind_a_nat_puts_the_public_address_in_contact_via_and_sdp(
        tmp_path: Path, clock: FakeClock, behind_nat: tuple[Lan, Coturn, str]) -> None:
    lan, server, public = behind_nat
    async with running_phone(tmp_path, clock, lan.device_address) as phone:
        await _nat(phone, stun=True, stunServer=server.address)
        service = phone.features[SIP_SERVICE]
        assert service.agent is not None and service.agent.nat.public is not None
        sip_public = service.agent.nat.public
        assert sip_public[0] == public and sip_public[1] in NAT_PORTS  # what coturn saw of the SIP socket
        assert service.nat_status.state["stun"]["state"] == "ok"
        callee = _Callee()
        transport, _ = await asyncio.get_running_loop().create_datagram_endpoint(
            lambda: callee, local_addr=(lan.device_address, 0))
        try:
            port = transport.get_extra_info("sockname")[1]
            async with client_as(phone, "operator") as operator:
                placed = await sip_call(operator, "call", uri=f"sip:door@{lan.device_address}:{port}")
                assert "error" not in placed, placed
            invite = await asyncio.wait_for(callee.invites.get(), 5)
        finally:
            transport.close()
    assert invite.get("via").startswith(f"SIP/2.0/UDP {public}:{sip_public[1]};")
    assert f"@{public}:{sip_public[1]}>" in invite.get("contact")
    offer = sdp.parse(invite.body)
    assert offer.address == public and offer.port in NAT_PORTS and offer.port != sip_public[1]  # the RTP socket's


async def test_stun_on_loopback_is_what_contact_via_and_sdp_carry(phone: Device, peer: Baresip, coturn: Coturn,
                                                          tmp_path: Path) -> None:
    await _nat(phone, stun=True, stunServer=coturn.address)
    service = phone.features[SIP_SERVICE]
    assert service.agent is not None and service.agent.nat.public == ("127.0.0.1", service.agent.port)
    assert service.nat_status.state["stun"]["state"] == "ok"
    async with client_as(phone, "operator") as operator:
        placed = await sip_call(operator, "call", uri=peer.uri)
        assert "error" not in placed, placed
        await eventually(lambda: call_state(phone) == "Active", 5, "the peer to answer")
        call = service.calls()[0]
        assert call.invite is not None and call.media is not None and call.media.transport is not None
        offer = sdp.parse(call.invite.body)
        assert isinstance(call.media.transport, RtpSocket)
        local = call.media.transport.sock.getsockname()
        assert (offer.address, offer.port) == (local[0], local[1])
        assert f"127.0.0.1:{service.agent.port};" in call.invite.get("via")
        assert await sip_call(operator, "hangup", callId=placed["data"]["id"])



def _candidates(body: bytes) -> list[list[str]]:
    """The a=candidate lines of a session description, split (foundation, component, ..., typ, type, ...)."""
    return [x.split()[:8] for x in sdp.parse(body).attributes if x.startswith("candidate:")]


async def _heard(phone: Device) -> None:
    speaker = sink(phone)
    await eventually(lambda: len(audible(speaker.sink_samples(), -40.0)) > RATE // 2, 8, "the peer's audio")
    assert abs(dominant_frequency(audible(speaker.sink_samples(), -40.0)[-RATE // 2:]) - 1000) < 30


@pytest.fixture
def ice_peer(tmp_path: Path, coturn: Coturn) -> Iterator[Baresip]:
    far = start_baresip(tmp_path / "baresip-ice", modules=("ice",), extra=f";medianat=ice;stunserver=stun:{coturn.address}")
    yield far
    far.stop()


async def test_ice_answer_offers_relayed_and_reflexive_candidates_and_the_audio_flows(phone: Device, ice_peer: Baresip,
                                                                                      coturn: Coturn) -> None:
    await _nat(phone, ice=True, stun=True, stunServer=coturn.address, turn=True, turnServer=coturn.address,
               turnUser=USER, turnPassword=PASSWORD)
    await _answered(phone, ice_peer)
    body = _our_answer(phone)
    answer = sdp.parse(body)
    assert any(x.startswith("ice-ufrag:") for x in answer.attributes)
    assert any(x.startswith("ice-pwd:") for x in answer.attributes)
    candidates = _candidates(body)
    relayed = [x for x in candidates if x[7] == "relay"]
    assert relayed and all(int(x[5]) in coturn.relay_ports for x in relayed)  # allocated by coturn
    assert {x[1] for x in relayed} == {"1", "2"}  # RTP and RTCP (the offer did not mux them)
    assert any(x[7] == "srflx" for x in candidates)  # learned from coturn's STUN
    assert (answer.address, str(answer.port)) == (relayed[0][4], relayed[0][5])  # the default: the relay
    await _heard(phone)
    assert phone.features[SIP_SERVICE].nat_status.state["ice"]["state"] == "ok"
    await ice_peer.command("hangup")
    await eventually(lambda: call_state(phone) == "Idle", 5, "the call to end")


async def _ice_call(phone: Device, far: Baresip, coturn: Coturn) -> None:
    await _nat(phone, ice=True, turn=True, turnServer=coturn.address, turnUser=USER, turnPassword=PASSWORD)
    service = phone.features[SIP_SERVICE]
    async with client_as(phone, "operator") as operator:
        placed = await sip_call(operator, "call", uri=far.uri)
        assert "error" not in placed, placed
        await eventually(lambda: call_state(phone) == "Active", 5, "the peer to answer")
        call = service.calls()[0]
        assert call.invite is not None and any(x[7] == "relay" for x in _candidates(call.invite.body))
        await _heard(phone)
        assert "error" not in await sip_call(operator, "hangup", callId=placed["data"]["id"])


async def test_ice_offer_to_a_far_end_with_ice(phone: Device, ice_peer: Baresip, coturn: Coturn) -> None:
    await _ice_call(phone, ice_peer, coturn)
    assert phone.features[SIP_SERVICE].nat_status.state["ice"]["state"] == "ok"


async def test_ice_offer_to_a_far_end_without_ice(phone: Device, peer: Baresip, coturn: Coturn) -> None:
    """The answer has no ICE attributes: RTP goes from the default candidate (the relay) to its c=/m= address."""
    await _ice_call(phone, peer, coturn)
