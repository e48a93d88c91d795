"""IEEE 802.1X on the simulated port, in-process: the `Network.Interface.I0.dot1x.*` parameters
through param.cgi take effect at once (the port authorized, unauthorized, failed or off in
`...dot1x.Status`), each method against the scripted authenticator, every refusal with its
reason and nothing stored, passwords and keys sealed, administrators only, the audit log."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import client_as
from tests.dot1x.certs import KEY_PASSWORD, EapCerts, install
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE
from vigil.hal.dot1x import DOT1X_HARDWARE

P = "Network.Interface.I0.dot1x."
PEAP = {P + "Method": "PEAP-MSCHAPv2", P + "PEAP.Identity": "vigil", P + "PEAP.Password": "secret"}
CAK = "0123456789abcdef0123456789abcdef"


async def update(client: httpx.AsyncClient, values: dict[str, str]) -> str:
    r = await client.get("/axis-cgi/param.cgi", params={"action": "update", **{f"root.{k}": v for k, v in values.items()}})
    return r.text.strip()


async def status(client: httpx.AsyncClient) -> str:
    r = await client.get("/axis-cgi/param.cgi", params={"action": "list", "group": P + "Status"})
    return r.text.strip().split("=", 1)[1]


async def script(client: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await client.post("/vigil/sim/dot1x", json=body)
    assert r.status_code == 200, r.text
    return r.json()


async def test_off_at_first_and_unauthorized_without_an_authenticator(admin: httpx.AsyncClient) -> None:
    assert await status(admin) == "off"
    assert await update(admin, {**PEAP, P + "Enabled": "yes"}) == "OK"
    assert await status(admin) == "unauthorized"  # the simulated port answers no EAPOL by default


async def test_peap_authorized_with_the_right_password_failed_with_a_wrong_one(admin: httpx.AsyncClient,
                                                                             device: Device) -> None:
    await script(admin, {"present": True, "peapUsers": {"vigil": "secret"}})
    assert await update(admin, {**PEAP, P + "Enabled": "yes"}) == "OK"
    assert await status(admin) == "authorized"
    assert await update(admin, {P + "PEAP.Password": "wrong"}) == "OK"
    assert await status(admin) == "failed"
    assert (await script(admin, {"present": True, "peapUsers": {"vigil": "secret"}}))["reason"] == \
        "wrong identity or password"
    assert await update(admin, {P + "Enabled": "no"}) == "OK"
    assert await status(admin) == "off"
    system = device.logs.text("system")
    assert "the port is authorized" in system and "the port is refused by the authentication server" in system
    audit = device.logs.text("audit")
    assert f"set root.{P}PEAP.Password=******" in audit and "wrong" not in audit


async def test_eap_tls_with_the_client_certificate_from_the_store(admin: httpx.AsyncClient, device: Device,
                                                                 certs: EapCerts) -> None:
    keystore = device.features[KEYSTORE]
    install(keystore, "dot1x-client", certs.client, KEY_PASSWORD)
    install(keystore, "dot1x-ca", certs.ca)
    install(keystore, "stranger", certs.other_client)
    await script(admin, {"present": True, "tlsIdentities": ["vigil-s3016"], "clientCA": certs.ca.read_text(),
                         "serverCA": certs.ca.read_text()})
    tls = {P + "Method": "EAP-TLS", P + "EAPTLS.Identity": "vigil-s3016", P + "EAPTLS.ClientCertID": "dot1x-client",
           P + "EAPTLS.PrivateKeyPassword": KEY_PASSWORD, P + "CACertID": "dot1x-ca", P + "Enabled": "yes"}
    assert await update(admin, tls) == "OK"
    assert await status(admin) == "authorized"
    # A certificate another CA signed is refused by the server.
    assert await update(admin, {P + "EAPTLS.ClientCertID": "stranger", P + "EAPTLS.PrivateKeyPassword": ""}) == "OK"
    assert await status(admin) == "failed"
    assert "not signed by the server's CA" in (await admin.get("/vigil/sim/dot1x")).json()["reason"]
    # The server's certificate is checked against the chosen CA.
    await script(admin, {"present": True, "tlsIdentities": ["vigil-s3016"], "serverCA": certs.other_client.read_text()})
    assert await update(admin, {P + "EAPTLS.ClientCertID": "dot1x-client",
                                P + "EAPTLS.PrivateKeyPassword": KEY_PASSWORD}) == "OK"
    assert await status(admin) == "failed"
    stored = dict(device.store.query("SELECT name, value FROM params WHERE name LIKE ?", (P + "%",)))
    assert KEY_PASSWORD not in stored[P + "EAPTLS.PrivateKeyPassword"]  # sealed


async def test_macsec_with_a_pre_shared_key(admin: httpx.AsyncClient) -> None:
    await script(admin, {"present": True, "ckn": "abcd", "cak": CAK})
    values = {P + "Method": "MACsec-PSK", P + "MACsec.CKN": "ABCD", P + "MACsec.CAK": CAK, P + "Enabled": "yes"}
    assert await update(admin, values) == "OK"
    assert await status(admin) == "authorized"
    assert await update(admin, {P + "MACsec.CAK": "f" * 64}) == "OK"
    assert await status(admin) == "failed"


async def test_refusals_say_why_and_store_nothing(admin: httpx.AsyncClient, device: Device, certs: EapCerts) -> None:
    keystore = device.features[KEYSTORE]
    install(keystore, "dot1x-client", certs.client, KEY_PASSWORD)
    install(keystore, "only-ca", certs.ca)
    before = dict(device.store.query("SELECT name, value FROM params"))
    cases = [
        ({P + "Enabled": "yes", P + "Method": "EAP-TLS"}, "EAP-TLS needs the EAP identity"),
        ({P + "Enabled": "yes", P + "EAPTLS.Identity": "x"}, "EAP-TLS needs a client certificate"),
        ({P + "Enabled": "yes", P + "EAPTLS.Identity": "x", P + "EAPTLS.ClientCertID": "missing"},
         "no client/server certificate 'missing' in the keystore"),
        ({P + "Enabled": "yes", P + "EAPTLS.Identity": "x", P + "EAPTLS.ClientCertID": "../vigil.db"}, "not a certificate id"),
        # A CA certificate has no private key: it is no client certificate.
        ({P + "Enabled": "yes", P + "EAPTLS.Identity": "x", P + "EAPTLS.ClientCertID": "only-ca"},
         "no client/server certificate 'only-ca' in the keystore"),
        ({**PEAP, P + "Enabled": "yes", P + "PEAP.Password": ""}, "needs the identity's password"),
        ({**PEAP, P + "Enabled": "yes", P + "CACertID": "missing"}, "no CA certificate 'missing' in the keystore"),
        ({P + "Enabled": "yes", P + "Method": "MACsec-PSK", P + "MACsec.CKN": "abc"}, "an even number"),
        ({P + "MACsec.CAK": "12345"}, "32 or 64 hexadecimal"),
        ({P + "Enabled": "yes", P + "Method": "MACsec-PSK", P + "MACsec.CKN": "ab"}, "needs the connectivity association key (CAK)"),
        ({P + "PEAP.Identity": 'say "hi"'}, 'the character " cannot be used'),
        ({P + "Method": "LEAP"}, "Error setting"),
    ]
    for values, words in cases:
        text = await update(admin, values)
        assert text.startswith("# Error") and words in text, (values, text)
    assert dict(device.store.query("SELECT name, value FROM params")) == before
    assert await status(admin) == "off"


async def test_administrators_only(device: Device) -> None:
    async with client_as(device, "operator") as operator:
        r = await operator.get("/axis-cgi/param.cgi", params={"action": "update", f"root.{P}Enabled": "yes"})
        assert "# Error" in r.text or r.status_code == 403
        assert (await operator.post("/vigil/sim/dot1x", json={"present": True})).status_code == 403
    assert device.params.get(P + "Enabled") == "no"


async def test_the_simulation_api_refuses_bad_scripts(admin: httpx.AsyncClient, device: Device) -> None:
    for body in (b"{", b"[]", b'{"present": "yes"}', b'{"peapUsers": {"a": 1}}', b'{"other": 1}'):
        r = await admin.post("/vigil/sim/dot1x", content=body)
        assert r.status_code == 400 and "bad simulation request" in r.json()["error"]["message"]
    assert device.hardware[DOT1X_HARDWARE].status() == "off"
