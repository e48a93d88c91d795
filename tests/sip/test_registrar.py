"""Registered accounts with a real registrar (Kamailio, digest authentication): the right
password registers (over UDP, and over TCP) (status "registered"), a wrong one shows "failed" with the reason, and a
softphone (baresip) registered at the same registrar calls the speaker's account through it
and is answered."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import client_as, eventually
from tests.peers.baresip import start_baresip
from tests.peers.kamailio import PASSWORD, Kamailio, start_kamailio
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE


@pytest.fixture
def registrar(tmp_path: Path) -> Iterator[Kamailio]:
    server = start_kamailio(tmp_path / "kamailio")
    yield server
    server.stop()


def _status(phone: Device, account_id: str) -> str:
    return phone.features[SIP_SERVICE].status.get(account_id, {}).get("state", "")


async def test_account_registers_with_digest_and_a_wrong_password_shows_why(registrar: Kamailio,
                                                                           phone: Device) -> None:
    async with client_as(phone, "admin") as admin:
        for account_id, password, transport in (("pbx", PASSWORD, "udp"), ("wrong", "not-the-password", "udp"),
                                                ("bytcp", PASSWORD, "tcp")):
            reply = await sip_call(admin, "setSipAccount", id=account_id, user=f"user-{account_id}",
                                   domain="127.0.0.1", password=password, registrar=registrar.address,
                                   autoAnswer=True, transport=transport)
            assert "error" not in reply, reply
            assert reply["data"]["passwordSet"] is True and "password" not in reply["data"]
        await eventually(lambda: _status(phone, "pbx") == "registered", 5, "the registration")
        await eventually(lambda: _status(phone, "wrong") == "failed", 5, "the refusal")
        await eventually(lambda: _status(phone, "bytcp") == "registered", 5, "the registration over TCP")
        accounts = {a["id"]: a for a in (await sip_call(admin, "getSipAccounts"))["data"]["accounts"]}
    assert accounts["pbx"]["status"] == {"state": "registered", "reason": "", "server": registrar.address}
    assert accounts["wrong"]["status"]["state"] == "failed"
    assert "wrong user or password" in accounts["wrong"]["status"]["reason"]
    assert accounts[c.P2P_ID]["status"]["state"] == "peer-to-peer"
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None and ("127.0.0.1", registrar.port) in agent.transports.streams  # over its connection
    assert PASSWORD not in phone.store.get_kv(c.ACCOUNTS_KEY)  # sealed at rest
    state = phone.events.state(c.REGISTRATION, {"AccountId": "pbx"})
    assert state is not None and state["Registered"] == "1"


async def test_softphone_calls_the_registered_account_through_the_registrar(registrar: Kamailio, phone: Device,
                                                                          tmp_path: Path) -> None:
    async with client_as(phone, "admin") as admin:
        reply = await sip_call(admin, "setSipAccount", id="pbx", user="door", domain="127.0.0.1", password=PASSWORD,
                               registrar=registrar.address, autoAnswer=True)
        assert "error" not in reply, reply
    await eventually(lambda: _status(phone, "pbx") == "registered", 5, "the registration")
    softphone = start_baresip(tmp_path / "softphone", account="bob",
                              extra=f";auth_pass={PASSWORD};outbound=sip:{registrar.address}")
    try:
        assert (await softphone.command("dial", f"sip:door@{registrar.address}"))["ok"]
        await eventually(lambda: call_state(phone) == "Active", 8, "the call through the registrar")
        await softphone.command("hangup")
        await eventually(lambda: call_state(phone) == "Idle", 5, "the end of the call")
    finally:
        softphone.stop()
