"""Fixtures of the certificate tests: a test CA that signs what a device asks for (`TestCa`)."""

from __future__ import annotations

import contextlib
import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


class TestCa:
    """A CA of its own (EC P-256), valid from a day ago for 30 days, that signs requests."""

    __test__ = False

    def __init__(self, name: str = "Vigil test CA") -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = dt.datetime.now(dt.UTC)
        self.cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
                     .public_key(self.key.public_key()).serial_number(x509.random_serial_number())
                     .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                     .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                     .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), True)
                     .add_extension(x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), False)
                     .sign(self.key, hashes.SHA256()))

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    def sign(self, csr: x509.CertificateSigningRequest | str | bytes, valid_for: dt.timedelta = dt.timedelta(days=10),
             backdate: dt.timedelta = dt.timedelta(minutes=5)) -> x509.Certificate:
        """A server/client certificate for the request, with the names it asks for, valid from
        `backdate` ago for `valid_for`."""
        if not isinstance(csr, x509.CertificateSigningRequest):
            csr = x509.load_pem_x509_csr(csr.encode() if isinstance(csr, str) else csr)
        assert csr.is_signature_valid
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        builder = (x509.CertificateBuilder().subject_name(csr.subject).issuer_name(self.cert.subject)
                   .public_key(csr.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(now - backdate).not_valid_after(now - backdate + valid_for)
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                         ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False))
        with contextlib.suppress(x509.ExtensionNotFound):
            builder = builder.add_extension(
                csr.extensions.get_extension_for_class(x509.SubjectAlternativeName).value, critical=False)
        return builder.sign(self.key, hashes.SHA256())


@pytest.fixture(scope="session")
def test_ca() -> TestCa:
    return TestCa()
