"""HTTPS: the certificate (self-signed, made at first start and kept until a factory default)
and the TLS settings of the listener."""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from vigil.core.atomic import atomic_write


def ensure_certificate(cert_path: Path, key_path: Path, common_name: str, hostnames: list[str]) -> None:
    if cert_path.exists() and key_path.exists():
        return
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = datetime.datetime.now(datetime.UTC)
    alt = [x509.DNSName(h) for h in hostnames] + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=3650))
        .add_extension(x509.SubjectAlternativeName(alt), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    atomic_write(key_path, key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                             serialization.NoEncryption()), mode=0o600)
    atomic_write(cert_path, cert.public_bytes(serialization.Encoding.PEM))


# TLS 1.2 suites: ECDHE key exchange (forward secrecy) and AEAD ciphers (GCM, ChaCha20-Poly1305)
# only, no CBC. TLS 1.3 has only such suites.
TLS12_CIPHERS = "ECDHE+AESGCM:ECDHE+CHACHA20"


def server_context(cert_path: Path, key_path: Path, allow_tls12: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    set_tls12(context, allow_tls12)
    return context


def set_tls12(context: ssl.SSLContext, allowed: bool) -> None:
    """HTTPS.AllowTLS12: TLS 1.2 and 1.3, or 1.3 only. Applies to the next handshake."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2 if allowed else ssl.TLSVersion.TLSv1_3
