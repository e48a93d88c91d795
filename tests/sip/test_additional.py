"""The manual's SIP "Additional" settings, each with a real peer: the DTMF payload type the
device offers (baresip answers with it and its RFC 4733 digits sent at it fire DTMF events),
the interval REGISTER asks for (Kamailio sees the Expires), the attempts after which an
unreachable registrar is given up (the status says so; an account change starts again), and
UDP-to-TCP switching of a large request (Kamailio sees it over UDP when off, over TCP when on).
Out-of-range values are refused naming the field, and nothing stored changes."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_as, eventually, free_port
from tests.peers.baresip import Baresip
from tests.peers.kamailio import PASSWORD, Kamailio, start_kamailio
from tests.sip.conftest import sip_call
from vigil.core.store import Store
from vigil.core.vault import Vault
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.accounts import SipStore
from vigil.features.sip.service import SIP_SERVICE
from vigil.features.sip.udp_to_tcp import UDP_LIMIT

# Outbound proxies after the first are only named in Route headers: long names make a REGISTER large.
FAR_PROXIES = [".".join(letter * 60 for letter in "abcd") + f".invalid:{5100 + i}" for i in range(4)]


@pytest.fixture
def registrar(tmp_path: Path) -> Iterator[Kamailio]:
    server = start_kamailio(tmp_path / "kamailio")
    yield server
    server.stop()


def _status(phone: Device) -> dict[str, str]:
    return phone.features[SIP_SERVICE].status.get("pbx", {})


async def test_the_offered_dtmf_payload_type_is_the_configured_one(peer: Baresip, phone: Device) -> None:
    digits: list[str] = []
    phone.events.subscribe(lambda e: digits.append(e.data["Digit"]) if e.topic == c.DTMF else None)
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipConfiguration", dtmfPayloadType=110)
        assert "changed the SIP settings: dtmfPayloadType" in phone.logs.text("audit")
        placed = await sip_call(admin, "call", uri=peer.uri)
        assert "error" not in placed, placed
    service = phone.features[SIP_SERVICE]
    await eventually(lambda: any(x.state == "active" for x in service.calls()), 5, "the peer to answer")
    call = service.calls()[0]
    assert call.negotiation is not None and b"a=rtpmap:110 telephone-event/8000" in call.negotiation.offer()
    assert call.media is not None and call.media.plan is not None
    assert call.media.plan.dtmf_payload == 110  # baresip answered with the type offered
    assert (await peer.command("sndcode", "7"))["ok"]  # RFC 4733 at payload type 110
    await eventually(lambda: digits == ["7"], 5, "the peer's DTMF")
    await service.hangup(call.id)


async def test_register_asks_for_the_interval_and_udp_to_tcp_moves_a_large_one(registrar: Kamailio,
                                                                              phone: Device) -> None:
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipConfiguration", registerInterval=600)
        reply = await sip_call(admin, "setSipAccount", id="pbx", user="door", domain="127.0.0.1", password=PASSWORD,
                               registrar=registrar.address, proxies=[registrar.address, *FAR_PROXIES])
        assert "error" not in reply, reply
        await eventually(lambda: _status(phone).get("state") == "registered", 5, "the registration")
        sent = registrar.arrivals("REGISTER")
        assert {x["expires"] for x in sent} == {"600"}
        assert {x["over"] for x in sent} == {"udp"}  # switching is off by default
        assert min(int(x["size"]) for x in sent) > UDP_LIMIT

        assert "error" not in await sip_call(admin, "setSipConfiguration", udpToTcp=True)
        await eventually(lambda: len(registrar.arrivals("REGISTER")) > len(sent) and
                         _status(phone).get("state") == "registered", 5, "the registration again")
        assert {x["over"] for x in registrar.arrivals("REGISTER")[len(sent):]} == {"tcp"}

        reply = await sip_call(admin, "setSipAccount", id="pbx", expires=300)
        assert "expires is no account field" in reply["error"]["message"]


async def test_an_unreachable_registrar_is_given_up_after_the_attempts(registrar: Kamailio, phone: Device) -> None:
    closed = f"127.0.0.1:{free_port()}"  # nothing listens: TCP is refused at once
    async with client_as(phone, "admin") as admin:
        assert "error" not in await sip_call(admin, "setSipConfiguration", registrationRetry=1, maxRetransmissions=2)
        reply = await sip_call(admin, "setSipAccount", id="pbx", user="door", domain="127.0.0.1", password=PASSWORD,
                               registrar=closed, transport="tcp")
        assert "error" not in reply, reply
        await eventually(lambda: "gave up" in _status(phone).get("reason", ""), 5, "giving up")
        status = {a["id"]: a for a in (await sip_call(admin, "getSipAccounts"))["data"]["accounts"]}["pbx"]["status"]
        assert status["state"] == "failed" and status["reason"].startswith("gave up after 2 attempts: cannot connect")
        agent = phone.features[SIP_SERVICE].agent
        assert agent is not None and agent.registrations["pbx"].task is not None
        await eventually(agent.registrations["pbx"].task.done, 2, "the registration to stop trying")

        reply = await sip_call(admin, "setSipAccount", id="pbx", registrar=registrar.address)  # starts again
        assert "error" not in reply, reply
        await eventually(lambda: _status(phone).get("state") == "registered", 5, "the registration")


@pytest.mark.parametrize("params, named", [
    ({"dtmfPayloadType": 95}, "dtmfPayloadType must be a whole number from 96 to 127"),
    ({"dtmfPayloadType": 111}, "dtmfPayloadType 111 is the payload type of opus"),
    ({"registerInterval": 59}, "registerInterval must be a whole number of seconds from 60 to 86400"),
    ({"maxRetransmissions": 11}, "maxRetransmissions must be a whole number from 0 to 10"),
    ({"udpToTcp": "yes"}, "udpToTcp takes true or false"),
])
async def test_out_of_range_additional_settings_are_refused(phone: Device, params: dict, named: str) -> None:
    async with client_as(phone, "admin") as admin:
        before = (await sip_call(admin, "getSipConfiguration"))["data"]
        reply = await sip_call(admin, "setSipConfiguration", **params)
        assert named in reply["error"]["message"]
        assert (await sip_call(admin, "getSipConfiguration"))["data"] == before


def test_stored_account_expiries_become_the_register_interval(tmp_path: Path) -> None:
    store = Store(tmp_path / "store.db")
    old = {"p2p": {"id": "p2p", "registrar": "", "expires": 3600},
           "pbx": {"id": "pbx", "registrar": "127.0.0.1:5060", "expires": 900},
           "other": {"id": "other", "registrar": "127.0.0.1:5070", "expires": 1800}}
    store.set_kv(c.ACCOUNTS_KEY, json.dumps(old))
    migrated = SipStore(store, Vault(os.urandom(32)))
    assert migrated.settings()["registerInterval"] == 900  # the shortest: no account registers less often
    assert not any("expires" in a for a in json.loads(store.get_kv(c.ACCOUNTS_KEY) or "{}").values())
