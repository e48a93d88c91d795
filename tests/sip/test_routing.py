"""Outbound proxies and route sets with real servers (Kamailio as an outbound proxy in front of
Kamailio as registrar, a registered softphone): the account's REGISTER goes through the proxy
(the registrar sees it come from the proxy), a call to the softphone goes through both, and the
BYE follows the route set the 200 OK recorded (proxy, then registrar), not the far end's Contact."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import client_as, eventually
from tests.peers.baresip import start_baresip
from tests.peers.kamailio import PASSWORD, start_kamailio
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
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
            assert reply["data"]["proxies"] == [proxy.address]
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
