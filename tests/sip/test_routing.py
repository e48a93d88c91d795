"""Outbound proxies and route sets with real servers (Kamailio as an outbound proxy in front of
Kamailio as registrar, a registered softphone): the account's REGISTER goes through the proxy
(the registrar sees it come from the proxy), a call to the softphone goes through both, and the
BYE follows the route set the 200 OK recorded (proxy, then registrar), not the far end's Contact."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import client_as, eventually
from tests.peers.baresip import start_baresip
from tests.peers.kamailio import PASSWORD, start_kamailio
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
from vigil.features.sip import const as c
from vigil.features.sip.service import SIP_SERVICE


async def test_register_and_call_through_an_outbound_proxy_along_the_route_set(phone: Device,
                                                                               tmp_path: Path) -> None:
    registrar = start_kamailio(tmp_path / "registrar")
    proxy = start_kamailio(tmp_path / "proxy", proxy=True)
    softphone = start_baresip(tmp_path / "softphone", account="bob",
                              extra=f";auth_pass={PASSWORD};outbound=sip:{registrar.address};regint=60")
    try:
        async with client_as(phone, "admin") as admin:
            reply = await sip_call(admin, "setSipAccount", id="pbx", user="door", password=PASSWORD,
                                   registrar=registrar.address, proxies=[proxy.address])
            assert "error" not in reply, reply
            assert reply["data"]["proxies"] == [{"address": proxy.address, "user": "", "passwordSet": False}]
        service = phone.features[SIP_SERVICE]
        await eventually(lambda: service.status.get("pbx", {}).get("state") == "registered", 5, "the registration")
        assert f"REGISTER from 127.0.0.1:{proxy.port}" in registrar.requests()
        await eventually(lambda: any(r.startswith("REGISTER") for r in registrar.requests()
                                     if not r.endswith(f":{proxy.port}")), 5, "the softphone's registration")

        async with client_as(phone, "operator") as operator:
            placed = await sip_call(operator, "call", accountId="pbx", uri=f"sip:bob@{registrar.address}")
            assert "error" not in placed, placed
            await eventually(lambda: call_state(phone) == "Active" or len(service.history) > 0, 8, "the answer")
            assert call_state(phone) == "Active", service.history
            call = service.calls()[0]
            assert [r.split(";")[0] for r in call.routes] == [f"<sip:{proxy.address}", f"<sip:{registrar.address}"]
            assert "error" not in await sip_call(operator, "hangup", callId=placed["data"]["id"])
        agent = service.agent
        assert agent is not None
        await eventually(lambda: f"BYE from 127.0.0.1:{proxy.port}" in registrar.requests(), 5, "the BYE via both")
        assert f"BYE from 127.0.0.1:{agent.port}" in proxy.requests()
        assert f"INVITE from 127.0.0.1:{proxy.port}" in registrar.requests()
        async with client_as(phone, "admin") as admin:  # unregistered while the servers still answer
            assert "error" not in await sip_call(admin, "removeSipAccount", id="pbx")
        await eventually(lambda: "UNREGISTER door" in registrar.log.read_text(), 5, "the binding removed")
    finally:
        softphone.stop()
        proxy.stop()
        registrar.stop()


async def test_a_proxy_that_wants_its_own_credentials_gets_them(phone: Device, tmp_path: Path) -> None:
    """Kamailio as outbound proxy demands proxy authentication (407) with credentials other than the
    account's: without the proxy's own, the account's are refused; with them, the REGISTER passes the
    proxy and the registrar's 401 is answered with the account's. The proxy's password is sealed and
    never shown; a bad entry is refused naming the field, and nothing changes."""
    registrar = start_kamailio(tmp_path / "registrar")
    proxy = start_kamailio(tmp_path / "proxy", proxy=True, proxy_login=("gatekeeper", "gate-pass"))
    service = phone.features[SIP_SERVICE]
    try:
        async with client_as(phone, "admin") as admin:
            reply = await sip_call(admin, "setSipAccount", id="pbx", user="door", password=PASSWORD,
                                   registrar=registrar.address, proxies=[proxy.address])
            assert reply["data"]["proxies"] == [{"address": proxy.address, "user": "", "passwordSet": False}]
            await eventually(lambda: service.status.get("pbx", {}).get("state") == "failed", 5, "the refusal")
            assert service.status["pbx"]["reason"].startswith("407")  # the account's credentials, refused
            assert "PROXYAUTH refused REGISTER door" in proxy.log.read_text()
            login = {"address": proxy.address, "user": "gatekeeper", "password": "gate-pass"}
            reply = await sip_call(admin, "setSipAccount", id="pbx", proxies=[login])
            assert reply["data"]["proxies"] == [{"address": proxy.address, "user": "gatekeeper", "passwordSet": True}]
            await eventually(lambda: service.status.get("pbx", {}).get("state") == "registered", 5, "the registration")
            assert f"REGISTER from 127.0.0.1:{proxy.port}" in registrar.requests()
            before = phone.store.get_kv(c.ACCOUNTS_KEY)
            for bad, field in (([{"address": "bad host!"}], "proxies[0].address"), (["a", 5], "proxies must list"),
                               ([{"address": "p.example", "user": "u", "pass": "x"}], "proxies[0]"),
                               ([{"address": "p.example", "password": "x"}], "proxies[0].password needs a user"),
                               ([{"address": "p.example", "user": "a\x01"}], "proxies[0].user")):
                reply = await sip_call(admin, "setSipAccount", id="pbx", proxies=bad)
                assert field in reply["error"]["message"], (bad, reply)
            assert phone.store.get_kv(c.ACCOUNTS_KEY) == before  # nothing stored changed
            kept = {"address": proxy.address, "user": "gatekeeper"}  # no password given: the one it had stays
            assert "error" not in await sip_call(admin, "setSipAccount", id="pbx", proxies=[kept])
            shown = (await sip_call(admin, "getSipAccounts"))["data"]["accounts"]
        assert next(a for a in shown if a["id"] == "pbx")["proxies"] == [
            {"address": proxy.address, "user": "gatekeeper", "passwordSet": True}]
        raw = phone.store.get_kv(c.ACCOUNTS_KEY)
        assert raw is not None and "gate-pass" not in raw  # sealed
        assert service.store.accounts()["pbx"]["proxies"][0]["password"] == "gate-pass"
    finally:
        proxy.stop()
        registrar.stop()


async def test_proxies_stored_as_plain_addresses_read_as_entries(phone: Device) -> None:
    """Accounts stored before proxies had credentials kept "host[:port]" strings."""
    service = phone.features[SIP_SERVICE]
    stored = {**service.store.accounts()[c.P2P_ID], "proxies": ["127.0.0.1:5901"]}
    phone.store.set_kv(c.ACCOUNTS_KEY, json.dumps({c.P2P_ID: {**stored, "password": ""}}))
    async with client_as(phone, "operator") as operator:
        shown = (await sip_call(operator, "getSipAccounts"))["data"]["accounts"]
    assert shown[0]["proxies"] == [{"address": "127.0.0.1:5901", "user": "", "passwordSet": False}]
    async with client_as(phone, "admin") as admin:  # saved again: in the new shape
        assert "error" not in await sip_call(admin, "setSipAccount", id=c.P2P_ID, callerId="Lobby")
    raw = phone.store.get_kv(c.ACCOUNTS_KEY)
    assert raw is not None and json.loads(raw)[c.P2P_ID]["proxies"] == [
        {"address": "127.0.0.1:5901", "user": "", "password": ""}]
