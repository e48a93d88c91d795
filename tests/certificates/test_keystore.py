"""The keystore: entries, sealed private keys, uploads in every format, self-signed certificates
and signing requests, refusals that store nothing, the lookup other services use, and the import
of the old folder of PEM files."""

from __future__ import annotations

import datetime as dt
import ssl
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.certificates.conftest import TestCa
from tests.peers.certs import ca_signed
from vigil.boot import build_device, factory_reset
from vigil.core.clock import FakeClock
from vigil.device import Device, Ports
from vigil.features.certificates.pki import PkiError, read_private_key
from vigil.features.certificates.service import KEYSTORE, CertificateNotFound, Keystore, KeystoreRefusal

PEM = serialization.Encoding.PEM


def keystore(device: Device) -> Keystore:
    return device.features[KEYSTORE]


def key_and_cert(common: str = "camera.example") -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(1).not_valid_before(now).not_valid_after(now + dt.timedelta(days=2))
            .sign(key, hashes.SHA256()))
    return key, cert


def key_pem(key, password: bytes | None = None, fmt=serialization.PrivateFormat.PKCS8) -> bytes:
    enc = serialization.BestAvailableEncryption(password) if password else serialization.NoEncryption()
    return key.private_bytes(PEM, fmt, enc)


def test_the_private_key_is_sealed_and_never_listed(device: Device) -> None:
    store = keystore(device)
    key, cert = key_and_cert()
    store.add_certificate("web", cert.public_bytes(PEM), key_pem(key), "root")
    raw = device.store.get_kv("keystore.cert.web")
    assert raw is not None and "PRIVATE KEY" not in raw and "\\u0001sealed:" in raw
    assert "key" not in store.certificate("web").shown()
    assert store.private_key_pem("web") == key_pem(key).decode()
    assert store.pem_chain("web") == cert.public_bytes(PEM).decode()
    assert "user=root added certificate 'web'" in device.logs.text("audit")


def test_uploads_pkcs1_encrypted_der_and_pkcs12(device: Device) -> None:
    store = keystore(device)
    rsa_key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rsa")])
    now = dt.datetime.now(dt.UTC)
    rsa_cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(rsa_key.public_key())
                .serial_number(2).not_valid_before(now).not_valid_after(now + dt.timedelta(days=1))
                .sign(rsa_key, hashes.SHA256()))
    pkcs1 = key_pem(rsa_key, fmt=serialization.PrivateFormat.TraditionalOpenSSL)
    assert b"BEGIN RSA PRIVATE KEY" in pkcs1
    store.add_certificate("rsa", rsa_cert.public_bytes(serialization.Encoding.DER), pkcs1, "root")
    key, cert = key_and_cert()
    store.add_certificate("enc", cert.public_bytes(PEM), key_pem(key, b"pw"), "root", password="pw")
    with pytest.raises(PkiError, match="password is wrong"):
        store.add_certificate("enc2", cert.public_bytes(PEM), key_pem(key, b"pw"), "root", password="nope")
    with pytest.raises(PkiError, match="encrypted: give its password"):
        store.add_certificate("enc2", cert.public_bytes(PEM), key_pem(key, b"pw"), "root")
    archive = pkcs12.serialize_key_and_certificates(b"p12", key, cert, None,
                                                    serialization.BestAvailableEncryption(b"secret"))
    with pytest.raises(PkiError, match="passphrase is wrong"):
        store.add_pkcs12("pfx", archive, "wrong", "root")
    store.add_pkcs12("pfx", archive, "secret", "root")
    assert store.certificate("pfx").leaf == cert
    assert [e.alias for e in store.certificates()] == ["enc", "pfx", "rsa"]


@pytest.mark.parametrize(("cert", "key", "match"), [
    (b"junk", None, "not a valid PEM or DER"),
    (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", None, "cannot be read"),
    (b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", None, "no certificate"),
    (None, b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "private key cannot be read"),
    (None, b"", "private key is empty"),
])
def test_malformed_uploads_store_nothing(device: Device, cert, key, match) -> None:
    store = keystore(device)
    good_key, good_cert = key_and_cert()
    with pytest.raises(PkiError, match=match):
        store.add_certificate("x", cert if cert is not None else good_cert.public_bytes(PEM),
                              key if key is not None else key_pem(good_key), "root")
    with pytest.raises(KeystoreRefusal, match="does not belong"):
        store.add_certificate("x", good_cert.public_bytes(PEM), key_pem(key_and_cert()[0]), "root")
    assert store.certificates() == [] and not store.exists("x")


def test_create_and_request_with_the_subject_checked(device: Device, test_ca: TestCa, tmp_path: Path) -> None:
    store = keystore(device)
    store.create("dev", "C=SE,O=Vigil,CN=cam.example", ["DNS:cam.example", "IP:192.0.2.7"], "RSA-2048",
                 None, None, "root")
    leaf = store.certificate("dev").leaf
    assert leaf.subject.rfc4514_string() == "C=SE,O=Vigil,CN=cam.example"
    assert isinstance(leaf.public_key(), rsa.RSAPublicKey) and leaf.public_key().key_size == 2048
    assert leaf.not_valid_after_utc - leaf.not_valid_before_utc == dt.timedelta(days=365)
    csr = store.csr("dev")
    (tmp_path / "req.pem").write_text(csr)
    assert subprocess.run(["openssl", "req", "-in", str(tmp_path / "req.pem"), "-noout", "-verify"],
                          capture_output=True, check=False).returncode == 0
    asked = x509.load_pem_x509_csr(csr.encode())
    assert asked.subject == leaf.subject
    assert "cam.example" in str(asked.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    other = x509.load_pem_x509_csr(store.csr("dev", "CN=other", []).encode())
    assert other.subject.rfc4514_string() == "CN=other" and len(other.extensions) == 0
    signed = test_ca.sign(csr)
    store.replace_certificate("dev", signed.public_bytes(PEM) + test_ca.cert.public_bytes(PEM), "root")
    assert store.certificate("dev").leaf.issuer == test_ca.cert.subject
    with pytest.raises(KeystoreRefusal, match="not for the private key"):
        store.replace_certificate("dev", key_and_cert()[1].public_bytes(PEM), "root")
    for subject, sans, key_type, match in [
        ("C=Sweden,CN=x", None, None, "two-letter country"),
        ("CN=" + "x" * 65, None, None, "CN must be 1 to 64"),
        ("", None, None, "subject is empty"),
        ("CN=x,2.5.4.99=y", None, None, "not one of"),
        ("CN=x", ["URI:http://x"], None, "not DNS:<name> or IP:<address>"),
        ("CN=x", ["IP:300.1.1.1"], None, "not an IP address"),
        ("CN=x", None, "RSA-512", "key type"),
    ]:
        with pytest.raises(PkiError, match=match):
            store.create("bad", subject, sans, key_type, None, None, "root")
    with pytest.raises(KeystoreRefusal, match="valid_to"):
        store.create("bad", "CN=x", None, None, None, -5, "root")
    with pytest.raises(PkiError, match="valid to after"):
        store.create("bad", "CN=x", None, None, 1_800_000_000, 1_700_000_000, "root")
    assert not store.exists("bad")


def test_aliases_are_unique_across_both_collections_and_uses_block_deletion(device: Device) -> None:
    store = keystore(device)
    key, cert = key_and_cert()
    store.add_ca("shared", cert.public_bytes(PEM), "root")
    with pytest.raises(KeystoreRefusal, match="taken") as taken:
        store.add_certificate("shared", cert.public_bytes(PEM), key_pem(key), "root")
    assert taken.value.status == 409
    for alias in ("", " lead", "a/b", "x" * 129, "tab\there"):
        with pytest.raises(KeystoreRefusal, match="alias is 1 to 128"):
            store.add_ca(alias, cert.public_bytes(PEM), "root")
    store.register_use(lambda alias: "the HTTPS server" if alias == "shared" else None)
    with pytest.raises(KeystoreRefusal, match="in use by the HTTPS server"):
        store.delete("shared", "root", ca=True)
    with pytest.raises(CertificateNotFound):
        store.delete("shared", "root", ca=False)  # a CA certificate, not one with a key
    store.add_ca("other", key_and_cert("other")[1].public_bytes(PEM), "root")
    exported = store.ca_file("other")
    store.delete("other", "root", ca=True)
    assert not exported.exists()
    assert [e.alias for e in store.ca_certificates()] == ["shared"]
    assert "user=root deleted CA certificate 'other'" in device.logs.text("audit")


def test_lookup_for_tls_clients(device: Device, tmp_path: Path) -> None:
    store = keystore(device)
    certs = ca_signed(tmp_path / "certs")
    store.add_ca("ca", certs.ca.read_bytes(), "root")
    store.add_ca("other", certs.other_ca.read_bytes(), "root")
    store.add_certificate("srv", certs.cert.read_bytes(), certs.key.read_bytes(), "root")
    bundle = store.ca_bundle(["ca", "other"])
    assert bundle.count("BEGIN CERTIFICATE") == 2
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(cadata=bundle)
    assert len(context.get_ca_certs()) == 2
    assert store.ca_file("ca").read_bytes() == certs.ca.read_bytes()
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    store.load_certificate(server, "srv")  # no error: the key matched the certificate
    with pytest.raises(CertificateNotFound, match="no CA certificate 'srv'"):
        store.ca_bundle(["srv"])
    encrypted = store.private_key_pem("srv", "pass")
    assert "ENCRYPTED PRIVATE KEY" in encrypted
    serialization.load_pem_private_key(encrypted.encode(), b"pass")


def test_the_old_folder_of_pem_files_is_imported_at_start(tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = data / "certificates"
    folder.mkdir(parents=True)
    certs = ca_signed(tmp_path / "certs")
    (folder / "testca.pem").write_bytes(certs.ca.read_bytes())
    (folder / "client.pem").write_bytes(certs.cert.read_bytes())
    (folder / "client.key").write_bytes(certs.key.read_bytes())
    (folder / "combined").write_bytes(certs.cert.read_bytes() + certs.key.read_bytes())
    (folder / "junk.pem").write_text("not a certificate")
    device = build_device("s3016", data, Ports(http=80, https=443), FakeClock())
    try:
        store = keystore(device)
        assert [e.alias for e in store.ca_certificates()] == ["testca"]
        assert [e.alias for e in store.certificates()] == ["client", "combined"]
        assert store.ca_file("testca.pem").read_bytes() == certs.ca.read_bytes()  # the file's name still works
        assert sorted(p.name for p in folder.iterdir()) == ["junk.pem"]
        assert "junk.pem was not moved into the keystore" in device.logs.text("system")
    finally:
        device.close()


def test_a_factory_default_deletes_every_certificate(tmp_path: Path) -> None:
    data = tmp_path / "data"
    certs = ca_signed(tmp_path / "certs")
    device = build_device("s3016", data, Ports(http=80, https=443), FakeClock())
    exported = keystore(device).add_ca("ca", certs.ca.read_bytes(), "root") and keystore(device).ca_file("ca")
    keystore(device).add_certificate("srv", certs.cert.read_bytes(), certs.key.read_bytes(), "root")
    device.close()
    assert exported.is_file()
    factory_reset(data, hard=False)
    assert not exported.exists()
    device = build_device("s3016", data, Ports(http=80, https=443), FakeClock())
    try:
        assert keystore(device).certificates() == [] and keystore(device).ca_certificates() == []
    finally:
        device.close()


def test_every_wrong_password_of_an_encrypted_key_says_so() -> None:
    """About one wrong password in 256 passes the padding check and decrypts to bytes that do not
    parse: it is still the password that is wrong (1,500 tries meet that case almost surely)."""
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                            serialization.BestAvailableEncryption(b"right"))
    for n in range(1500):
        with pytest.raises(PkiError, match="password is wrong"):
            read_private_key(pem, f"wrong-{n}")
