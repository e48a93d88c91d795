"""Enrollment over Secure Transport (RFC 7030), the client side: `/cacerts` (the CA certificates
the server vouches with), `/simpleenroll` (a new certificate for a signing request) and
`/simplereenroll` (its renewal). Requests and replies are base64 DER: PKCS#10 out, PKCS#7
"certs-only" back. Every failure is an `EstError` whose text says what the server did.

The server is `host[:port][/path]` (the path defaults to /.well-known/est), always over HTTPS,
verified against the chosen CA certificates (none chosen: the system's trusted CAs); the client
authenticates with a certificate of the keystore (TLS), with a user name and password (HTTP
Basic, RFC 7030 §3.2.3), or both."""

from __future__ import annotations

import base64
import binascii
import re
import ssl
from dataclasses import dataclass

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding, pkcs7

from vigil.core.proxies import Proxies

WELL_KNOWN = "/.well-known/est"
TIMEOUT = 30.0
_SERVER = re.compile(r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]{1,253})(?::(?P<port>\d{1,5}))?(?P<path>/[!-~]*)?")


class EstError(Exception):
    """An enrollment that did not happen; `str()` says why, for the user."""


def parse_server(text: str) -> str:
    """The base URL for `host[:port][/path]` (an `https://` prefix may be given); ValueError if it is none."""
    raw = text.strip().removeprefix("https://")
    match = _SERVER.fullmatch(raw)
    if not match or (match.group("port") and not 0 < int(match.group("port")) < 65536):
        raise ValueError("the EST server is host[:port][/path], such as est.example.com:8443/.well-known/est")
    path = (match.group("path") or WELL_KNOWN).rstrip("/")
    port = f":{match.group('port')}" if match.group("port") else ""
    return f"https://{match.group('host')}{port}{path}"


@dataclass
class EstClient:
    base: str  # from parse_server
    tls: ssl.SSLContext  # server verification and the client certificate, if any
    proxies: Proxies
    username: str = ""
    password: str = ""

    async def _call(self, method: str, operation: str, body: bytes | None = None) -> bytes:
        url = f"{self.base}/{operation}"
        chosen = self.proxies.for_url(url)
        proxy = httpx.Proxy(chosen.endpoint, auth=(chosen.username, chosen.password) if chosen.username else None) \
            if chosen is not None else None
        auth = httpx.BasicAuth(self.username, self.password) if self.username else None
        headers = {"Content-Type": "application/pkcs10", "Content-Transfer-Encoding": "base64"} if body else {}
        try:
            async with httpx.AsyncClient(verify=self.tls, proxy=proxy, timeout=TIMEOUT, trust_env=False,
                                         follow_redirects=False) as client:
                response = await client.request(method, url, content=body, headers=headers, auth=auth)
        except httpx.ConnectError as err:
            cause = err.__cause__ or err.__context__
            if isinstance(cause, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(err):
                raise EstError(f"the EST server {self.base} is not trusted: {cause or err}") from None
            raise EstError(f"no connection to the EST server {self.base}: {err}") from None
        except httpx.HTTPError as err:
            raise EstError(f"the EST server {self.base} did not answer: {err or type(err).__name__}") from None
        if response.status_code == 202:
            raise EstError(f"the EST server holds the request for approval (retry after "
                           f"{response.headers.get('retry-after', 'a while')})")
        if response.status_code != 200:
            said = " ".join(response.text.split())[:200]
            raise EstError(f"the EST server refused {operation}: HTTP {response.status_code} "
                           f"{response.reason_phrase}{': ' + said if said else ''}")
        return response.content

    @staticmethod
    def _certificates(body: bytes, operation: str) -> list[x509.Certificate]:
        try:
            der = base64.b64decode(b"".join(body.split()), validate=True)
            certificates = pkcs7.load_der_pkcs7_certificates(der)
        except (binascii.Error, ValueError):
            raise EstError(f"the EST server's answer to {operation} is not base64 PKCS#7 certificates") from None
        if not certificates:
            raise EstError(f"the EST server's answer to {operation} holds no certificate")
        return certificates

    async def cacerts(self) -> list[x509.Certificate]:
        return self._certificates(await self._call("GET", "cacerts"), "cacerts")

    async def enroll(self, csr: x509.CertificateSigningRequest, renewal: bool) -> list[x509.Certificate]:
        """The certificate issued for `csr` (with whatever chain the server sends), leaf first."""
        operation = "simplereenroll" if renewal else "simpleenroll"
        body = base64.encodebytes(csr.public_bytes(Encoding.DER))
        certificates = self._certificates(await self._call("POST", operation, body), operation)
        key = csr.public_key()
        leaf = [c for c in certificates if c.public_key() == key]
        if not leaf:
            raise EstError(f"the EST server's answer to {operation} holds no certificate for the request's key")
        return leaf + [c for c in certificates if c not in leaf]
