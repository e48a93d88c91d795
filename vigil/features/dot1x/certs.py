"""Where 802.1X takes its certificates from: the client certificate with its private key, and
the CA certificate, by id. The one place that knows the store: today the PEM files of
vigil/core/certstore.py (`<id>.pem` holding the client certificate and its private key, PEM,
encrypted under the private key password or not); pointing `tls_credentials` at another store
changes nothing else."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from vigil.core.certstore import CertificateNotFound, certificate_file
from vigil.hal.dot1x import TlsCredentials


class CredentialError(ValueError):
    """The certificates cannot be used; `str()` is for the user."""


def _blocks(pem: bytes, kind: str) -> list[bytes]:
    out, inside = [], False
    lines: list[bytes] = []
    for line in pem.splitlines(keepends=True):
        if line.startswith(b"-----BEGIN ") and kind.encode() in line:
            inside, lines = True, [line]
        elif inside:
            lines.append(line)
            if line.startswith(b"-----END "):
                out.append(b"".join(lines))
                inside = False
    return out


def ca_certificate(data: Path, ca_id: str) -> bytes:
    """The PEM certificates of CA certificate `ca_id`; CredentialError when not usable."""
    try:
        pem = certificate_file(ca_id, data).read_bytes()
    except CertificateNotFound as err:
        raise CredentialError(str(err)) from None
    certs = _blocks(pem, "CERTIFICATE")
    try:
        for cert in certs:
            x509.load_pem_x509_certificate(cert)
    except ValueError:
        raise CredentialError(f"certificate {ca_id!r} is not a PEM certificate") from None
    if not certs:
        raise CredentialError(f"certificate {ca_id!r} is not a PEM certificate")
    return b"".join(certs)


def tls_credentials(data: Path, client_id: str, key_password: str) -> TlsCredentials:
    """The client certificate `client_id` with its private key (opened with `key_password` to prove
    it is the certificate's); CredentialError when not usable."""
    try:
        pem = certificate_file(client_id, data).read_bytes()
    except CertificateNotFound as err:
        raise CredentialError(str(err)) from None
    certs, keys = _blocks(pem, "CERTIFICATE"), _blocks(pem, "PRIVATE KEY")
    if not certs or not keys:
        raise CredentialError(f"certificate {client_id!r} has no private key with it: a client certificate needs one")
    try:
        cert = x509.load_pem_x509_certificate(certs[0])
    except ValueError:
        raise CredentialError(f"certificate {client_id!r} cannot be read") from None
    try:
        key = serialization.load_pem_private_key(keys[0], key_password.encode() or None)
    except TypeError:
        raise CredentialError(f"the private key of {client_id!r} is encrypted: give its password"
                              if not key_password else f"the private key of {client_id!r} is not encrypted: "
                              "leave the private key password empty") from None
    except ValueError:
        raise CredentialError(f"the private key of {client_id!r} cannot be opened: wrong private key password?") from None
    if key.public_key() != cert.public_key():
        raise CredentialError(f"the private key of {client_id!r} is not its certificate's")
    return TlsCredentials(b"".join(certs), keys[0], key_password)
