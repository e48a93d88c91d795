"""The VAPIX certificate management API (/config/rest/cert/v1) as a client uses it: add, list,
create, request, replace with the CA-signed certificate, PKCS#12, CA certificates, keystores;
refusals in the API's error shape with nothing stored; reads for viewers, changes for admins."""

from __future__ import annotations

import base64
import datetime as dt

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.certificates.conftest import TestCa
from tests.conftest import client_as
from vigil.device import Device
from vigil.features.certificates.service import KEYSTORE

ROOT = "/config/rest/cert/v1"
PEM = serialization.Encoding.PEM


def pair() -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "upload.example")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now).not_valid_after(now + dt.timedelta(days=3))
            .sign(key, hashes.SHA256()))
    return key, cert


def key_text(key) -> str:
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()


async def test_create_request_sign_and_install(device: Device, test_ca: TestCa) -> None:
    async with client_as(device, "admin") as admin:
        created = await admin.post(f"{ROOT}/create_certificate", json={"data": {
            "alias": "My Certificate", "key_type": "NIST-P256", "subject": "C=SE,CN=example.com",
            "subject_alt_names": ["DNS:example.com"]}})
        assert created.json() == {"status": "success"}
        listed = (await admin.get(f"{ROOT}/certificates")).json()
        assert listed["status"] == "success"
        [entry] = listed["data"]
        assert entry["alias"] == "My Certificate" and entry["keystore"] == "SOFTWARE0"
        assert entry["certificate"].startswith("-----BEGIN CERTIFICATE-----") and "private_key" not in entry
        assert entry["info"]["subject"] == "C=SE,CN=example.com" and entry["info"]["self_signed"]
        csr = (await admin.post(f"{ROOT}/certificates/My Certificate/get_csr", json={"data": {}})).json()["data"]
        assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
        signed = test_ca.sign(csr).public_bytes(PEM).decode()
        replaced = await admin.patch(f"{ROOT}/certificates/My Certificate", json={"data": {"certificate": signed}})
        assert replaced.json() == {"status": "success"}
        one = (await admin.get(f"{ROOT}/certificates/My Certificate")).json()["data"]
        assert one["info"]["issuer"] == "CN=Vigil test CA" and not one["info"]["self_signed"]
        added = await admin.post(f"{ROOT}/ca_certificates", json={"data": {"alias": "My CA", "certificate": test_ca.pem}})
        assert added.json() == {"status": "success"}
        assert [c["alias"] for c in (await admin.get(f"{ROOT}/ca_certificates")).json()["data"]] == ["My CA"]
        root = (await admin.get(ROOT)).json()["data"]
        assert root["keystores"][0]["id"] == "SOFTWARE0" and root["settings"] == {"keystore": "SOFTWARE0"}
        assert (await admin.delete(f"{ROOT}/certificates/My Certificate")).json() == {"status": "success"}
        assert (await admin.get(f"{ROOT}/certificates")).json()["data"] == []
    audit = device.logs.text("audit")
    for line in ("created self-signed certificate 'My Certificate'", "made a certificate signing request",
                 "replaced certificate 'My Certificate'", "added CA certificate 'My CA'",
                 "deleted certificate and its private key 'My Certificate'"):
        assert line in audit


async def test_uploads_in_each_format(device: Device) -> None:
    key, cert = pair()
    async with client_as(device, "admin") as admin:
        pem_upload = await admin.post(f"{ROOT}/certificates", json={"data": {
            "alias": "pem", "certificate": cert.public_bytes(PEM).decode(), "private_key": key_text(key)}})
        assert pem_upload.json() == {"status": "success"}
        der = base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
        assert (await admin.post(f"{ROOT}/ca_certificates", json={"data": {"alias": "cer", "certificate_der": der}})
                ).json() == {"status": "success"}
        archive = pkcs12.serialize_key_and_certificates(b"x", key, cert, None,
                                                        serialization.BestAvailableEncryption(b"my-password"))
        body = {"alias": "pfx", "pkcs12": base64.b64encode(archive).decode(), "passphrase": "wrong"}
        refused = await admin.post(f"{ROOT}/install_from_pkcs12", json={"data": body})
        assert refused.status_code == 400
        assert refused.json() == {"status": "error", "error": {"code": 400,
                                                               "message": "the PKCS#12 archive's passphrase is wrong"}}
        body["passphrase"] = "my-password"
        assert (await admin.post(f"{ROOT}/install_from_pkcs12", json={"data": body})).json()["status"] == "success"
        aliases = [c["alias"] for c in (await admin.get(f"{ROOT}/certificates")).json()["data"]]
        assert aliases == ["pem", "pfx"]


async def test_bad_requests_answer_in_the_api_shape_and_store_nothing(device: Device) -> None:
    key, cert = pair()
    good = cert.public_bytes(PEM).decode()
    cases = [
        ("post", "/certificates", {"data": {"alias": "a", "certificate": "junk", "private_key": key_text(key)}},
         400, "not a valid PEM or DER"),
        ("post", "/certificates", {"data": {"alias": "a", "certificate": good, "private_key": "junk"}},
         400, "private key cannot be read"),
        ("post", "/certificates", {"data": {"alias": "a", "certificate": good}}, 400, "'private_key' is required"),
        ("post", "/certificates", {"data": {"alias": "a", "certificate": good, "private_key": key_text(pair()[0])}},
         400, "does not belong"),
        ("post", "/certificates", {"data": {"alias": "a", "certificate": good, "private_key": key_text(key),
                                            "keystore": "TPM0"}}, 400, "not one of this device's"),
        ("post", "/create_certificate", {"data": {"alias": "a", "subject": "C=SWE,CN=x"}}, 400, "two-letter"),
        ("post", "/create_certificate", {"data": {"alias": "a", "subject": "CN=x", "key_type": "DSA"}}, 400,
         "key type"),
        ("post", "/create_certificate", {"data": {"alias": "a", "subject": "CN=x", "valid_to": "soon"}}, 400,
         "valid_to"),
        ("post", "/create_certificate", {"data": {"alias": "a", "subject": "CN=x", "extra": 1}}, 400, "unknown field"),
        ("post", "/create_certificate", {"nodata": 1}, 400, "{\"data\": ...}"),
        ("post", "/install_from_pkcs12", {"data": {"alias": "a", "pkcs12": "%%%"}}, 400, "base64"),
        ("post", "/install_from_pkcs12", {"data": {"alias": "a", "pkcs12": "AAAA", "passphrase": "x"}}, 400,
         "not a PKCS#12"),
        ("get", "/certificates/nothing", None, 404, "no client/server certificate 'nothing'"),
        ("delete", "/ca_certificates/nothing", None, 404, "no CA certificate 'nothing'"),
        ("patch", "/settings/keystore", {"data": "TPM0"}, 400, "not one of this device's"),
        ("get", "/keystores/TPM0", None, 404, "no keystore"),
    ]
    async with client_as(device, "admin") as admin:
        for method, path, body, status, text in cases:
            kwargs = {"json": body} if body is not None else {}
            response = await admin.request(method.upper(), ROOT + path, **kwargs)
            assert response.status_code == status, (path, response.text)
            reply = response.json()
            assert reply["status"] == "error" and reply["error"]["code"] == status, reply
            assert text in reply["error"]["message"], (path, reply)
        bad_json = await admin.post(f"{ROOT}/certificates", content=b"{", headers={"content-type": "application/json"})
        assert bad_json.status_code == 400 and "not JSON" in bad_json.json()["error"]["message"]
        deep = await admin.post(f"{ROOT}/create_certificate", content=b"[" * 100_000)
        assert deep.status_code == 400 and "not JSON" in deep.json()["error"]["message"]
        assert (await admin.get(ROOT)).json()["data"]["certificates"] == []
    assert "refused" in device.logs.text("system")


async def test_viewers_read_and_only_admins_change(device: Device) -> None:
    key, cert = pair()
    body = {"data": {"alias": "x", "certificate": cert.public_bytes(PEM).decode(), "private_key": key_text(key)}}
    async with client_as(device, "viewer") as viewer, client_as(device, "operator") as operator:
        assert (await viewer.get(f"{ROOT}/certificates")).json() == {"status": "success", "data": []}
        assert (await viewer.post(f"{ROOT}/certificates", json=body)).status_code == 403
        assert (await operator.post(f"{ROOT}/create_certificate",
                                    json={"data": {"alias": "x", "subject": "CN=x"}})).status_code == 403
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=device.__dict__["_test_app"]),
                                 base_url="http://127.0.0.1") as anonymous:
        assert (await anonymous.get(f"{ROOT}/certificates")).status_code == 401
    async with client_as(device, "admin") as admin:
        assert (await admin.get(f"{ROOT}/certificates")).json()["data"] == []


def os_certificate(serial: str | None, days: float = 30) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    names = [x509.NameAttribute(NameOID.COMMON_NAME, "Custom firmware signer")]
    if serial:
        names.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    name = x509.Name(names)
    now = dt.datetime.fromtimestamp(1_700_000_000, dt.UTC)  # the test device's clock
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(9).not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=days))
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(PEM).decode()


async def test_custom_signed_os_certificates(device: Device) -> None:
    mine = os_certificate(device.identity.serial)
    async with client_as(device, "admin") as admin, client_as(device, "operator") as operator:
        assert (await operator.get(f"{ROOT}/os_certificates")).status_code == 403
        other = await admin.post(f"{ROOT}/os_certificates", json={"data": {"certificate": os_certificate("ACCC8E000000")}})
        assert other.status_code == 400 and "not for this one" in other.json()["error"]["message"]
        expired = await admin.post(f"{ROOT}/os_certificates",
                                   json={"data": {"certificate": os_certificate(None, days=-0.5)}})
        assert expired.status_code == 400 and "not valid now" in expired.json()["error"]["message"]
        added = (await admin.post(f"{ROOT}/os_certificates", json={"data": {"certificate": mine}})).json()
        ident = added["data"]["id"]
        again = await admin.post(f"{ROOT}/os_certificates", json={"data": {"certificate": mine}})
        assert again.status_code == 409
        listed = (await admin.get(f"{ROOT}/os_certificates")).json()["data"]
        assert [e["id"] for e in listed] == [ident] and listed[0]["info"]["subject"].startswith(f"serialNumber={device.identity.serial}")
        assert [c.public_bytes(PEM).decode() for c in device.features[KEYSTORE].os_certificates()] == [mine]
        assert (await admin.delete(f"{ROOT}/os_certificates/{ident}")).json() == {"status": "success"}
        assert (await admin.delete(f"{ROOT}/os_certificates/{ident}")).status_code == 404
    audit = device.logs.text("audit")
    assert f"installed custom signed OS certificate {ident[:16]}" in audit
    assert f"deleted custom signed OS certificate {ident[:16]}" in audit
