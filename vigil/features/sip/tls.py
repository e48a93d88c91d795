"""SIP over TLS (RFC 3261 §26.2, RFC 5630): the TLS contexts of the agent. The listener on the
TLS port serves the certificate the HTTPS server serves (the keystore's chosen one, or the
device's built-in self-signed one), switched at the next handshake when that choice or the
certificate changes (as HTTPS does: the server-name callback, vigil/http/tls.py); an account whose transport is TLS reaches its registrar,
proxies and called peers with a client context made from its settings: the TLS version
(auto: 1.2 or 1.3; or exactly 1.2, or exactly 1.3; older versions are not offered), whether
the server's certificate is verified (against the system's CA certificates and the keystore's),
and the account's own certificate from the keystore, for a server that asks for one."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from pathlib import Path

from vigil.device import CERT_FILE, CERT_KEY_FILE
from vigil.features.certificates.https import HttpsSettings
from vigil.features.certificates.service import CertificateNotFound, Keystore
from vigil.http.tls import TLS12_CIPHERS, certificate_context, ensure_certificate, serve_certificate

# the account's TLS version setting -> (lowest, highest) version the handshake may agree on
TLS_VERSIONS = {
    "auto": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3),
    "1.2": (ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2),
    "1.3": (ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3),
}


def client_context(version: str, verify: bool, cadata: str = "",
                   certificate: Callable[[ssl.SSLContext], None] | None = None) -> ssl.SSLContext:
    """The context an account's outgoing TLS connections use (`certificate` puts the account's
    certificate in); KeyError for a version not offered."""
    lowest, highest = TLS_VERSIONS[version]
    context = ssl.create_default_context()
    if certificate is not None:
        certificate(context)
    if verify and cadata:
        context.load_verify_locations(cadata=cadata)
    if not verify:  # the manual's "Verify server certificate" off: encrypted, any certificate accepted
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    context.set_ciphers(TLS12_CIPHERS)
    context.minimum_version, context.maximum_version = lowest, highest
    return context


def server_context() -> ssl.SSLContext:
    """The TLS listener's context: TLS 1.2 and 1.3 with the HTTPS server's TLS 1.2 suites; the
    certificate is put in by the caller (`load_cert_chain`)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.set_ciphers(TLS12_CIPHERS)
    context.minimum_version, context.maximum_version = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
    context.options |= ssl.OP_NO_COMPRESSION | ssl.OP_NO_RENEGOTIATION
    return context


class DeviceCertificate:
    """The certificate the TLS listener serves: the one the HTTPS server serves, chosen in the
    keystore, or else the device's built-in self-signed one (made at first use, as HTTPS does)."""

    def __init__(self, keystore: Keystore | None, https: HttpsSettings | None, data: Path, hostname: str) -> None:
        self.keystore, self.https, self.data, self.hostname = keystore, https, data, hostname
        self._loaded: tuple[str, ssl.SSLContext | None] = ("", None)  # the chosen alias, loaded
        self._clients: dict[tuple[str, bool, str, str], ssl.SSLContext] = {}  # one per setting: one flow each
        if keystore is not None:
            keystore.on_change(self._forget)

    def _forget(self, alias: str) -> None:
        self._clients.clear()  # a certificate or CA certificate changed
        if alias == self._loaded[0]:
            self._loaded = ("", None)  # replaced or deleted: loaded again at the next handshake

    def chosen(self) -> ssl.SSLContext | None:
        """The keystore certificate HTTPS serves, loaded (None: the built-in one)."""
        alias = self.https.serving() if self.https is not None else ""
        if not alias or self.keystore is None:
            return None
        if self._loaded[0] != alias:
            keystore = self.keystore
            try:
                loaded: ssl.SSLContext | None = certificate_context(lambda c: keystore.load_certificate(c, alias))
            except (CertificateNotFound, ssl.SSLError, ValueError, OSError):
                loaded = None  # HTTPS logs it and serves the built-in one: so does SIP
            self._loaded = (alias, loaded)
        return self._loaded[1]

    def client(self, version: str, verify: bool, alias: str) -> ssl.SSLContext:
        """An account's client context: verified against the keystore's CA certificates besides the
        system's, presenting the keystore's certificate `alias` ("" none); CertificateNotFound,
        ssl.SSLError when that certificate cannot be used."""
        keystore = self.keystore
        if alias and keystore is None:
            raise CertificateNotFound(f"no certificate {alias!r}: this device has no keystore")
        trusted = keystore.trust_bundle() if keystore is not None else ""
        key = (version, verify, alias, trusted)
        if key not in self._clients:  # the same context for the same settings: accounts alike share a connection
            load = (lambda context: keystore.load_certificate(context, alias)) if alias and keystore else None
            self._clients[key] = client_context(version, verify, trusted, load)
        return self._clients[key]

    def check_client(self, alias: str) -> None:
        """CertificateNotFound (a sentence for the user) when `alias` is not a certificate with its key."""
        if alias:
            self.client("auto", False, alias)

    def listener(self) -> ssl.SSLContext:
        """The listener's context: the built-in certificate, and the chosen one at each handshake;
        ssl.SSLError, ValueError or OSError when the built-in one cannot be loaded."""
        context = server_context()
        ensure_certificate(self.data / CERT_FILE, self.data / CERT_KEY_FILE, self.hostname,
                           ["localhost", self.hostname])
        context.load_cert_chain(str(self.data / CERT_FILE), str(self.data / CERT_KEY_FILE))
        serve_certificate(context, self.chosen)
        return context
