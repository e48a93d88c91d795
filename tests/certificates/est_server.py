"""A small EST server (RFC 7030) for the enrollment tests: HTTPS on 127.0.0.1 with a certificate
of its own CA, `/cacerts`, `/simpleenroll` (HTTP Basic user and password) and `/simplereenroll`
(TLS client certificate issued by its CA, as RFC 7030 §3.3.2 has it), replies in base64 PKCS#7.
`refuse` makes it answer enrollments with that HTTP status and text; `requests` records what came."""

from __future__ import annotations

import base64
import datetime as dt
import ssl
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.serialization import pkcs7

from tests.certificates.conftest import TestCa
from tests.peers.certs import LOOPBACK_NAMES

PATH = "/.well-known/est"


@dataclass
class Seen:
    operation: str
    client_subject: str  # of the TLS client certificate ("" without one)
    csr_subject: str
    at: float = field(default_factory=time.time)


@dataclass
class EstServer:
    ca: TestCa
    folder: Path
    username: str = "device"
    password: str = "enroll-secret"
    validity: float = 3600.0  # seconds of an issued certificate
    refuse: tuple[int, str] | None = None
    requests: list[Seen] = field(default_factory=list)
    port: int = 0

    def issue(self, csr: x509.CertificateSigningRequest) -> x509.Certificate:
        return self.ca.sign(csr, dt.timedelta(seconds=self.validity), backdate=dt.timedelta(0))

    def start(self) -> EstServer:
        key = self.ca.key  # the server's own certificate: the CA's key is fine for a test peer
        now = dt.datetime.now(dt.UTC)
        cert = (x509.CertificateBuilder().subject_name(x509.Name.from_rfc4514_string("CN=localhost"))
                .issuer_name(self.ca.cert.subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5))
                .not_valid_after(now + dt.timedelta(days=1)).add_extension(LOOPBACK_NAMES, critical=False)
                .sign(key, hashes.SHA256()))
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "est.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        (self.folder / "est.key").write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                                                serialization.PrivateFormat.PKCS8,
                                                                serialization.NoEncryption()))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.folder / "est.pem", self.folder / "est.key")
        context.verify_mode = ssl.CERT_OPTIONAL
        context.load_verify_locations(cadata=self.ca.pem)
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.socket = context.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}{PATH}"

    def operations(self) -> list[str]:
        return [s.operation for s in self.requests]

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def reply(self, status: int, body: bytes, kind: str = "application/pkcs7-mime; smime-type=certs-only") -> None:
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Transfer-Encoding", "base64")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def certs(self, certificates: list[x509.Certificate]) -> None:
                der = pkcs7.serialize_certificates(certificates, serialization.Encoding.DER)
                self.reply(200, base64.encodebytes(der))

            def client_subject(self) -> str:
                peer = self.connection.getpeercert(binary_form=True)  # type: ignore[attr-defined]
                return x509.load_der_x509_certificate(peer).subject.rfc4514_string() if peer else ""

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                if self.path != f"{PATH}/cacerts":
                    self.reply(404, b"not found", "text/plain")
                    return
                server.requests.append(Seen("cacerts", self.client_subject(), ""))
                self.certs([server.ca.cert])

            def do_POST(self) -> None:  # noqa: N802
                operation = self.path.removeprefix(PATH + "/")
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if operation not in ("simpleenroll", "simplereenroll"):
                    self.reply(404, b"not found", "text/plain")
                    return
                csr = x509.load_der_x509_csr(base64.b64decode(b"".join(body.split())))
                client = self.client_subject()
                server.requests.append(Seen(operation, client, csr.subject.rfc4514_string()))
                if server.refuse is not None:
                    status, text = server.refuse
                    self.reply(status, text.encode(), "text/plain")
                    return
                expected = "Basic " + base64.b64encode(f"{server.username}:{server.password}".encode()).decode()
                if operation == "simpleenroll" and self.headers.get("Authorization") != expected:
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="est"')
                    self.send_header("Content-Length", "21")
                    self.end_headers()
                    self.wfile.write(b"unknown user/password")
                    return
                if operation == "simplereenroll" and not client:
                    self.reply(403, b"re-enrollment needs the current certificate", "text/plain")
                    return
                self.certs([server.issue(csr), server.ca.cert])

        return Handler
