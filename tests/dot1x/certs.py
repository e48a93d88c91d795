"""Certificates for 802.1X peers: a test CA, the authentication server's certificate, and a client
certificate for the device whose PEM holds the certificate and its private key (encrypted under a
password, or not), as the device's certificate store keeps a client certificate."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from vigil.features.certificates.service import Keystore

PEM = serialization.Encoding.PEM
KEY_PASSWORD = "keypass1"


@dataclass
class EapCerts:
    ca: Path  # the CA certificate (PEM)
    server_cert: Path
    server_key: Path
    client: Path  # the client certificate and its encrypted private key, in one PEM
    client_plain: Path  # the same with the key not encrypted
    other_client: Path  # a client certificate another CA signed (key not encrypted)


def _cert(subject: str, key: rsa.RSAPrivateKey, issuer: x509.Name, signer: rsa.RSAPrivateKey, ca: bool,
          usage: x509.ObjectIdentifier | None) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    builder = (x509.CertificateBuilder()
               .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(issuer).public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if usage is not None:
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem_key(key: rsa.RSAPrivateKey, password: str = "") -> bytes:
    encryption = (serialization.BestAvailableEncryption(password.encode()) if password
                  else serialization.NoEncryption())
    return key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, encryption)


def eap_certs(folder: Path, client_name: str) -> EapCerts:
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, other_key = _key(), _key()
    ca = _cert("Vigil 802.1X test CA", ca_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME,
                                                                               "Vigil 802.1X test CA")]),
               ca_key, True, None)
    other = _cert("Some other CA", other_key, x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Some other CA")]),
                  other_key, True, None)
    server_key, client_key = _key(), _key()
    server = _cert("radius.test", server_key, ca.subject, ca_key, False, ExtendedKeyUsageOID.SERVER_AUTH)
    client = _cert(client_name, client_key, ca.subject, ca_key, False, ExtendedKeyUsageOID.CLIENT_AUTH)
    stranger = _cert(client_name, client_key, other.subject, other_key, False, ExtendedKeyUsageOID.CLIENT_AUTH)
    made = EapCerts(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "client.pem",
                    folder / "client-plain.pem", folder / "other-client.pem")
    made.ca.write_bytes(ca.public_bytes(PEM))
    made.server_cert.write_bytes(server.public_bytes(PEM))
    made.server_key.write_bytes(_pem_key(server_key))
    made.client.write_bytes(client.public_bytes(PEM) + _pem_key(client_key, KEY_PASSWORD))
    made.client_plain.write_bytes(client.public_bytes(PEM) + _pem_key(client_key))
    made.other_client.write_bytes(stranger.public_bytes(PEM) + _pem_key(client_key))
    return made


def install(keystore: Keystore, alias: str, source: Path, password: str = "") -> None:
    """Put a certificate into the device's keystore: a client certificate with its private key
    (opened with `password`), or a CA certificate where the file holds no key."""
    pem = source.read_text()
    if "PRIVATE KEY" in pem:
        keystore.add_certificate(alias, pem, pem[pem.index("-----BEGIN ENCRYPTED PRIVATE KEY") if "ENCRYPTED" in pem
                                                else pem.index("-----BEGIN PRIVATE KEY"):], "test", password)
    else:
        keystore.add_ca(alias, pem, "test")


def place(data: Path, alias: str, source: Path) -> None:
    """Leave a PEM file where an older version kept certificates; the keystore takes it in at start."""
    store = data / "certificates"
    store.mkdir(parents=True, exist_ok=True)
    (store / f"{alias}.pem").write_bytes(source.read_bytes())
