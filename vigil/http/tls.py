"""HTTPS: the built-in certificate (self-signed, made at first start and kept until a factory
default) and the TLS mechanics of the listener: the TLS versions, the cryptographic policy
(cipher suites and key exchange groups) and the certificate, each changed on the live context
so that the next handshake uses it, without a restart.

The certificate is switched by the server-name callback, which OpenSSL calls on every
handshake (with or without SNI): it hands the connection a context that holds only the chosen
certificate, so that the old one cannot linger in another key type's slot of the listener's
context. Python 3.11's ssl has no call for the TLS 1.3 suites or the key exchange groups, so
those two are set through OpenSSL's own functions on the context (`_openssl_ctx`)."""

from __future__ import annotations

import ctypes
import datetime
import ipaddress
import ssl
from collections.abc import Callable
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TlsPolicy:
    """A cryptographic policy: the TLS 1.2 suites (OpenSSL cipher string), the TLS 1.3 suites and
    the key exchange groups."""

    tls12: str
    tls13: str
    groups: str


POLICIES = {
    # TLS 1.2: ECDHE key exchange (forward secrecy) and AEAD ciphers (GCM, ChaCha20-Poly1305) only,
    # no CBC. TLS 1.3 has only such suites.
    "default": TlsPolicy("ECDHE+AESGCM:ECDHE+CHACHA20",
                         "TLS_AES_256_GCM_SHA384:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_128_GCM_SHA256",
                         "X25519:P-256:P-384:P-521"),
    # FIPS 140-2 approved algorithms only: AES-GCM (no ChaCha20-Poly1305) and the NIST curves
    # (no X25519).
    "fips": TlsPolicy("ECDHE+AESGCM", "TLS_AES_256_GCM_SHA384:TLS_AES_128_GCM_SHA256", "P-256:P-384:P-521"),
}
TLS12_CIPHERS = POLICIES["default"].tls12
_SSL_CTRL_SET_GROUPS_LIST = 92  # SSL_CTX_set1_groups_list is this SSL_CTX_ctrl in OpenSSL's headers


def _openssl_ctx(context: ssl.SSLContext) -> int:
    """The SSL_CTX of `context`: CPython's context object holds it right after the object header."""
    return ctypes.c_void_p.from_address(id(context) + object.__basicsize__).value or 0


def _openssl() -> ctypes.CDLL:
    lib = ctypes.CDLL(ssl._ssl.__file__)  # type: ignore[attr-defined]  # the libssl CPython is linked with
    lib.SSL_CTX_set_ciphersuites.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.SSL_CTX_ctrl.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_long, ctypes.c_char_p]
    lib.SSL_CTX_ctrl.restype = ctypes.c_long
    return lib


def apply_policy(context: ssl.SSLContext, policy: TlsPolicy) -> None:
    """The suites and groups of `policy` for the next handshakes; ssl.SSLError when OpenSSL
    refuses one (nothing is half set: the suites are checked before they are set)."""
    lib = _openssl()
    handle = _openssl_ctx(context)
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    probe.set_ciphers(policy.tls12)
    if not lib.SSL_CTX_set_ciphersuites(_openssl_ctx(probe), policy.tls13.encode()) \
            or not lib.SSL_CTX_ctrl(_openssl_ctx(probe), _SSL_CTRL_SET_GROUPS_LIST, 0, policy.groups.encode()):
        raise ssl.SSLError(f"OpenSSL refuses the TLS 1.3 suites or groups of the policy: {policy}")
    context.set_ciphers(policy.tls12)
    lib.SSL_CTX_set_ciphersuites(handle, policy.tls13.encode())
    lib.SSL_CTX_ctrl(handle, _SSL_CTRL_SET_GROUPS_LIST, 0, policy.groups.encode())


def server_context(cert_path: Path, key_path: Path, allow_tls12: bool) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert_path), str(key_path))
    context.set_ciphers(TLS12_CIPHERS)
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_CIPHER_SERVER_PREFERENCE | ssl.OP_NO_RENEGOTIATION
    context.maximum_version = ssl.TLSVersion.TLSv1_3
    set_tls12(context, allow_tls12)
    return context


def certificate_context(load: Callable[[ssl.SSLContext], None]) -> ssl.SSLContext:
    """A context holding only the certificate `load` puts in (ssl.SSLError/ValueError when it cannot)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    load(context)
    return context


def serve_certificate(context: ssl.SSLContext, current: Callable[[], ssl.SSLContext | None]) -> None:
    """Every handshake on `context` from now on uses the certificate of `current()` (None: the
    context's own)."""
    def switch(connection: ssl.SSLObject, server_name: str | None, _: ssl.SSLContext) -> None:
        chosen = current()
        if chosen is not None:
            connection.context = chosen

    context.sni_callback = switch  # type: ignore[assignment]


def set_tls12(context: ssl.SSLContext, allowed: bool) -> None:
    """HTTPS.AllowTLS12: TLS 1.2 and 1.3, or 1.3 only. Applies to the next handshake."""
    context.minimum_version = ssl.TLSVersion.TLSv1_2 if allowed else ssl.TLSVersion.TLSv1_3
