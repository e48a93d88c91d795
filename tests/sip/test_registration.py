"""A registrar that disappears and comes back (real Kamailio registrars over TLS, retry and failback
at one second): the account moves to the secondary server when its registrar stops, back to the
registrar when it returns, shows "failed" with the reason when neither answers, and is registered
again without any user action when the registrar returns. Each move is noticed when the
connection ends, not at the next refresh."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.conftest import client_as, eventually
from tests.peers.kamailio import PASSWORD, start_kamailio
from tests.sip.conftest import sip_call
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.errors import SipUnreachable
from vigil.features.sip.registration import Policy, Registration
from vigil.features.sip.service import SIP_SERVICE


def _status(phone: Device) -> dict[str, str]:
    return phone.features[SIP_SERVICE].status.get("pbx", {})


async def test_the_secondary_server_stands_in_and_the_registrar_is_taken_back(phone: Device,
                                                                                tmp_path: Path) -> None:
    primary = start_kamailio(tmp_path / "primary", tls=True)
    secondary = start_kamailio(tmp_path / "secondary", tls=True)
    try:
        async with client_as(phone, "admin") as admin:
            reply = await sip_call(admin, "setSipConfiguration", registrationRetry=1, failbackSeconds=1)
            assert "error" not in reply, reply
            reply = await sip_call(admin, "setSipAccount", id="pbx", user="door", domain="127.0.0.1",
                                   password=PASSWORD, registrar=primary.tls_address, transport="tls",
                                   secondaryRegistrar=secondary.tls_address)
            assert "error" not in reply, reply
        await eventually(lambda: _status(phone).get("server") == primary.tls_address, 5, "the registration")

        primary.stop()
        await eventually(lambda: _status(phone).get("server") == secondary.tls_address, 5, "the secondary")
        assert _status(phone)["state"] == "registered"

        primary = start_kamailio(tmp_path / "primary", tls=True, ports=(primary.port, primary.tls_port))
        await eventually(lambda: _status(phone).get("server") == primary.tls_address, 5, "the failback")
        await eventually(lambda: "UNREGISTER door" in secondary.log.read_text(), 5, "the secondary's binding removed")

        secondary.stop()
        primary.stop()
        await eventually(lambda: _status(phone).get("state") == "failed", 5, "the failure")
        async with client_as(phone, "operator") as operator:
            shown = {a["id"]: a for a in (await sip_call(operator, "getSipAccounts"))["data"]["accounts"]}
        assert shown["pbx"]["status"]["state"] == "failed"
        assert f"cannot connect to 127.0.0.1:{primary.tls_port} over TLS" in shown["pbx"]["status"]["reason"]
        state = phone.events.state(c.REGISTRATION, {"AccountId": "pbx"})
        assert state is not None and state["Registered"] == "0"

        primary = start_kamailio(tmp_path / "primary", tls=True, ports=(primary.port, primary.tls_port))
        await eventually(lambda: _status(phone).get("state") == "registered", 5, "the registrar's return")
        assert _status(phone)["server"] == primary.tls_address
    finally:
        primary.stop()
        secondary.stop()



async def test_rounds_that_reach_no_server_are_given_up_and_a_reached_one_counts_again() -> None:
    """Max retransmissions with a secondary server: a round tries both; a round that reaches one
    starts the count again; the given-up status names the attempts and the last reason."""
    answers: list[int | Exception] = [SipUnreachable("primary down"), SipUnreachable("secondary down"),
                                      SipUnreachable("primary down"), 60,  # registered at the secondary
                                      *[SipUnreachable("both down")] * 4]
    sent: list[str] = []
    changes: list[tuple[bool, str, str]] = []

    async def register(server: str, call_id: str, cseq: int, expires: int) -> int:
        sent.append(server)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    registration = Registration("primary", "secondary", register, lambda *change: changes.append(change),
                                Policy(expires=60, retry=0.01, failback=0.01, max_rounds=2))
    registration.start()
    assert registration.task is not None
    await asyncio.wait_for(registration.task, 5)
    assert sent == ["primary", "secondary"] * 4
    assert changes[1] == (True, "", "secondary")
    assert changes[-1] == (False, "gave up after 2 attempts: both down", "")
