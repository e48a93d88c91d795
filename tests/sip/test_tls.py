"""SIP over TLS with a real registrar (Kamailio with its TLS module, offering TLS 1.2 only):
an account whose transport is TLS registers with digest over a TLS connection (SIPS URIs),
one asking for TLS 1.3 only fails with the reason, one verifying the server's (self-signed)
certificate fails with the reason, and registers once that certificate is a CA certificate of the
keystore; a softphone calls the TLS account through the registrar
and the speaker calls the softphone through it, hanging up along the dialog's route set. The
TLS port answers a TLS peer (baresip), and serves the certificate HTTPS serves, switched when
the choice changes."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from tests.certificates.conftest import TestCa
from tests.conftest import client_as, eventually
from tests.peers.baresip import start_baresip
from tests.peers.kamailio import PASSWORD, start_kamailio
from tests.sip.conftest import call_state, sip_call
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE, KeystoreRefusal
from vigil.features.sip.service import SIP_SERVICE
from vigil.features.sip.tls import client_context


def _status(phone: Device, account_id: str) -> dict[str, str]:
    return phone.features[SIP_SERVICE].status.get(account_id, {})



async def test_tls_accounts_register_and_call_through_the_registrar(phone: Device, tmp_path: Path) -> None:
    registrar = start_kamailio(tmp_path / "kamailio", tls=True, tls_method="TLSv1.2")
    softphone = start_baresip(tmp_path / "softphone", account="bob",
                              extra=f";auth_pass={PASSWORD};outbound=sip:{registrar.address};regint=60")
    try:
        async with client_as(phone, "admin") as admin:
            for account_id, changes in (("door", {"tlsVersion": "1.2", "sips": True}),
                                        ("newest", {"tlsVersion": "1.3"}),
                                        ("checked", {"verifyServer": True})):
                reply = await sip_call(admin, "setSipAccount", id=account_id, user=account_id, domain="127.0.0.1",
                                       password=PASSWORD, registrar=registrar.tls_address, transport="tls",
                                       autoAnswer=True, **changes)
                assert "error" not in reply, reply
            await eventually(lambda: _status(phone, "door").get("state") == "registered", 5, "the TLS registration")
            await eventually(lambda: _status(phone, "newest").get("state") == "failed", 5, "the TLS 1.3 refusal")
            await eventually(lambda: _status(phone, "checked").get("state") == "failed", 5, "the unverified server")
            shown = {a["id"]: a for a in (await sip_call(admin, "getSipAccounts"))["data"]["accounts"]}
        assert shown["door"]["status"] == {"state": "registered", "reason": "", "server": registrar.tls_address}
        assert shown["door"]["transport"] == "tls" and shown["door"]["sips"] is True
        assert "over TLS" in shown["newest"]["status"]["reason"] and "VERSION" in shown["newest"]["status"]["reason"]
        assert "CERTIFICATE_VERIFY_FAILED" in shown["checked"]["status"]["reason"]
        agent = phone.features[SIP_SERVICE].agent
        assert agent is not None and ("127.0.0.1", registrar.tls_port) in agent.transports.secure
        assert any(r.startswith("REGISTER from") for r in registrar.requests())

        # the softphone (UDP) calls the speaker's TLS account through the registrar
        assert (await softphone.command("dial", f"sip:door@{registrar.address}"))["ok"]
        await eventually(lambda: call_state(phone) == "Active", 8, "the call over TLS")
        await softphone.command("hangup")
        await eventually(lambda: call_state(phone) == "Idle", 5, "the end of the call")

        # the speaker calls the softphone: INVITE over TLS, BYE along the route set the registrar recorded
        async with client_as(phone, "operator") as operator:
            placed = await sip_call(operator, "call", accountId="door", uri=f"sip:bob@{registrar.address}")
            assert "error" not in placed, placed
            await eventually(lambda: call_state(phone) == "Active" or len(phone.features[SIP_SERVICE].history) > 1,
                             8, "the softphone to answer")
            assert call_state(phone) == "Active", phone.features[SIP_SERVICE].history
            call = phone.features[SIP_SERVICE].calls()[0]
            assert call.remote_uri.startswith("sips:") and call.routes and "lr" in call.routes[0]
            assert "error" not in await sip_call(operator, "hangup", callId=placed["data"]["id"])
        local = agent.transports.streams[("127.0.0.1", registrar.tls_port)].get_extra_info("sockname")[1]
        await eventually(lambda: f"BYE from 127.0.0.1:{local}" in registrar.requests(), 5, "the BYE via the registrar")

        # with the registrar's certificate among the keystore's CA certificates, verification passes
        phone.features[KEYSTORE].add_ca("kamailio", (tmp_path / "kamailio" / "cert.pem").read_text(), "test")
        async with client_as(phone, "admin") as admin:
            reply = await sip_call(admin, "setSipAccount", id="trusted", user="trusted", domain="127.0.0.1",
                                   password=PASSWORD, registrar=registrar.tls_address, transport="tls",
                                   verifyServer=True)
            assert "error" not in reply, reply
        await eventually(lambda: _status(phone, "trusted").get("state") == "registered", 5, "the verified server")
        await eventually(lambda: _status(phone, "checked").get("state") == "registered", 5, "the verified server")
    finally:
        softphone.stop()
        registrar.stop()


async def test_a_peer_calls_the_tls_port_and_is_answered(phone: Device, tmp_path: Path) -> None:
    peer = start_baresip(tmp_path / "peer", transports="udp,tls")
    try:
        agent = phone.features[SIP_SERVICE].agent
        assert agent is not None and agent.transports.tls is not None
        reply = await peer.command("dial", f"sip:vigil@127.0.0.1:{agent.transports.tls_port};transport=tls")
        assert reply["ok"], reply
        await eventually(lambda: call_state(phone) == "Active", 5, "the call over TLS to be answered")
        assert agent.transports.secure & set(agent.transports.streams)  # it came over a TLS connection
        await peer.command("hangup")
        await eventually(lambda: call_state(phone) == "Idle", 5, "the end of the call")
    finally:
        peer.stop()


async def test_the_tls_port_serves_the_certificate_https_serves(phone: Device) -> None:
    agent = phone.features[SIP_SERVICE].agent
    assert agent is not None

    async def served() -> str:
        _, writer = await asyncio.open_connection("127.0.0.1", agent.transports.tls_port,
                                                  ssl=client_context("auto", verify=False))
        der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
        writer.close()
        return x509.load_der_x509_certificate(der).subject.rfc4514_string()

    assert await served() == f"CN={phone.params.get('Network.HostName')}"  # the built-in certificate
    phone.features[KEYSTORE].create("sip", "CN=sip.example", ["IP:127.0.0.1"], "EC-P256", None, None, "test")
    phone.params.set_internal({"HTTPS.Certificate": "sip"})
    assert await served() == "CN=sip.example"
    phone.params.set_internal({"HTTPS.Certificate": ""})
    assert await served() == f"CN={phone.params.get('Network.HostName')}"


async def test_an_account_presents_its_certificate_to_a_server_that_asks(phone: Device, tmp_path: Path) -> None:
    keystore, ca = phone.features[KEYSTORE], TestCa("SIP clients")
    keystore.create("door-client", "CN=door", None, "EC-P256", None, None, "test")
    signed = ca.sign(keystore.csr("door-client")).public_bytes(Encoding.PEM)
    keystore.replace_certificate("door-client", signed, "test")
    registrar = start_kamailio(tmp_path / "kamailio", tls=True, client_ca=ca.pem)
    try:
        async with client_as(phone, "admin") as admin:
            missing = await sip_call(admin, "setSipAccount", id="door", user="door", registrar=registrar.tls_address,
                                     transport="tls", certificate="nothing")
            assert "no client/server certificate 'nothing'" in missing["error"]["message"], missing
            for account_id, certificate in (("door", "door-client"), ("anonymous", "")):
                reply = await sip_call(admin, "setSipAccount", id=account_id, user=account_id, domain="127.0.0.1",
                                       password=PASSWORD, registrar=registrar.tls_address, transport="tls",
                                       certificate=certificate)
                assert "error" not in reply, reply
        await eventually(lambda: _status(phone, "door").get("state"), 5, "the registration")
        assert _status(phone, "door")["state"] == "registered", _status(phone, "door")
        await eventually(lambda: _status(phone, "anonymous").get("state") == "failed", 5, "the refusal")
        assert "CERTIFICATE_REQUIRED" in _status(phone, "anonymous")["reason"]  # the server's TLS 1.3 alert
        with pytest.raises(KeystoreRefusal, match="in use by the SIP account door"):
            keystore.delete("door-client", "test", ca=False)
    finally:
        registrar.stop()
