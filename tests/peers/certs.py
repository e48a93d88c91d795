"""Certificates for the TLS peers, all for `localhost` and 127.0.0.1 on EC P-256 keys: a
self-signed server certificate (a client that validates refuses it), and a test CA with a server
certificate it signed plus another CA that signed nothing (for clients given a CA file)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PEM = serialization.Encoding.PEM
LOOPBACK_NAMES = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                              x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def _builder(key: ec.EllipticCurvePrivateKey, subject: x509.Name, issuer: x509.Name,
             not_before: dt.timedelta, valid_for: dt.timedelta) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - not_before)
            .not_valid_after(now + valid_for))


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(key.private_bytes(PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))


def self_signed(folder: Path) -> tuple[str, str]:
    """(certificate file, key file) of a self-signed server certificate valid for a day, in `folder`."""
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(key, _name("localhost"), _name("localhost"), dt.timedelta(minutes=5), dt.timedelta(days=1))
            .add_extension(LOOPBACK_NAMES, False).sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(PEM))
    _write_key(key_file, key)
    return str(cert_file), str(key_file)


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server-side TLS context with a `self_signed` certificate."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*self_signed(folder))
    return context


@dataclass
class Certs:
    ca: Path
    cert: Path
    key: Path
    other_ca: Path  # a CA that did not sign the server's certificate


def _ca(common: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(key, _name(common), _name(common), dt.timedelta(days=1), dt.timedelta(days=30))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256()))
    return key, cert


def ca_signed(folder: Path) -> Certs:
    """A test CA, a server certificate it signed (valid for 30 days) and another CA, in `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = _ca("Vigil test CA")
    _, other = _ca("Some other CA")
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (_builder(key, _name("localhost"), ca_cert.subject, dt.timedelta(days=1), dt.timedelta(days=30))
            .add_extension(LOOPBACK_NAMES, critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    certs = Certs(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "other-ca.pem")
    certs.ca.write_bytes(ca_cert.public_bytes(PEM))
    certs.other_ca.write_bytes(other.public_bytes(PEM))
    certs.cert.write_bytes(cert.public_bytes(PEM))
    _write_key(certs.key, key)
    return certs
