"""Network Time Security (RFC 8915): NTP exchanges authenticated with keys agreed over TLS.

NTS Key Establishment: a TLS 1.3 connection (ALPN `ntske/1`, port 4460) to the NTS-KE server,
whose certificate must chain to the trusted CAs (the chosen ones of the device's keystore,
else the system's) and name the server. Client and server agree on NTPv4 and AEAD_AES_SIV_CMAC_256;
the server hands out cookies and may name another NTP server and port; both sides derive the two
keys from the TLS session (RFC 5705 exporter). Python's ssl module has no exporter, so this side
runs on pyOpenSSL, in a worker thread.

Each NTS-protected request carries a fresh unique identifier, one cookie, placeholders asking for
as many new cookies as it keeps, and an authenticator: AES-SIV over the packet with the client key.
A reply counts only if it echoes the identifier and its authenticator opens with the server key;
the fresh cookies travel encrypted inside it. A server that lost its keys answers NTSN: the client
then starts over with a new key establishment.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import ipaddress
import os
import select
import socket
import ssl
import struct
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESSIV
from cryptography.x509.verification import PolicyBuilder, Store, VerificationError
from OpenSSL import SSL

from vigil.core.clock import Clock
from vigil.features.timesync.ntp import NtpError, Sample, exchange, sample_of
from vigil.features.timesync.servers import Server

ALPN = b"ntske/1"
EXPORTER_LABEL = b"EXPORTER-network-time-security"
NTPV4 = 0
AEAD_AES_SIV_CMAC_256 = 15
KEY_LENGTH = 32
CRITICAL = 0x8000
# NTS-KE record types
END, NEXT_PROTOCOL, ERROR, WARNING, AEAD, NEW_COOKIE, SERVER, PORT = range(8)
# NTP extension field types
UNIQUE_ID, COOKIE, COOKIE_PLACEHOLDER, AUTHENTICATOR = 0x0104, 0x0204, 0x0304, 0x0404
COOKIES_KEPT = 8
MAX_RECORDS_BYTES = 64 * 1024  # an NTS-KE answer beyond this is no answer


class NtsError(NtpError):
    """A failed NTS key establishment, or an NTS reply that must not be trusted."""


@dataclass
class KeySession:
    """What a key establishment gives: the two keys, cookies, and where to send NTP requests."""

    c2s: bytes
    s2c: bytes
    cookies: list[bytes]
    host: str
    port: int
    ke_server: str = ""
    established: float = field(default_factory=time.monotonic)


# -- records -------------------------------------------------------------------------------
def record(kind: int, body: bytes, critical: bool = False) -> bytes:
    return struct.pack(">HH", kind | (CRITICAL if critical else 0), len(body)) + body


def ke_request() -> bytes:
    return (record(NEXT_PROTOCOL, struct.pack(">H", NTPV4), critical=True)
            + record(AEAD, struct.pack(">H", AEAD_AES_SIV_CMAC_256))
            + record(END, b"", critical=True))


def parse_records(data: bytes) -> list[tuple[int, bool, bytes]]:
    """(type, critical, body) of each record up to End of Message; NtsError if cut short."""
    out = []
    at = 0
    while True:
        if at + 4 > len(data):
            raise NtsError("the NTS-KE server's answer ended before its End of Message record")
        kind, length = struct.unpack_from(">HH", data, at)
        body = data[at + 4:at + 4 + length]
        if len(body) != length:
            raise NtsError("the NTS-KE server's answer is cut short")
        at += 4 + length
        out.append((kind & ~CRITICAL, bool(kind & CRITICAL), body))
        if kind & ~CRITICAL == END:
            return out


def session_from(records: list[tuple[int, bool, bytes]], ke_host: str) -> tuple[list[bytes], str, int]:
    """Cookies, NTP host and port from the server's records, after checking what it agreed to."""
    protocols: list[int] = []
    aeads: list[int] = []
    cookies: list[bytes] = []
    host, port = ke_host, 123
    for kind, critical, body in records:
        if kind == ERROR:
            code = struct.unpack(">H", body[:2])[0] if len(body) >= 2 else -1
            raise NtsError(f"the NTS-KE server answered with error {code}")
        if kind == NEXT_PROTOCOL:
            protocols = [struct.unpack_from(">H", body, i)[0] for i in range(0, len(body) - 1, 2)]
        elif kind == AEAD:
            aeads = [struct.unpack_from(">H", body, i)[0] for i in range(0, len(body) - 1, 2)]
        elif kind == NEW_COOKIE:
            cookies.append(body)
        elif kind == SERVER:
            host = body.decode("ascii", "replace")
        elif kind == PORT and len(body) == 2:
            port = struct.unpack(">H", body)[0]
        elif critical and kind not in (END, WARNING):
            raise NtsError(f"the NTS-KE server sent a critical record this client does not know ({kind})")
    if protocols != [NTPV4]:
        raise NtsError("the NTS-KE server does not offer NTPv4")
    if aeads != [AEAD_AES_SIV_CMAC_256]:
        raise NtsError("the NTS-KE server does not offer AEAD_AES_SIV_CMAC_256")
    if not cookies:
        raise NtsError("the NTS-KE server gave no cookies")
    return cookies, host, port


# -- key establishment (blocking: runs in a worker thread) ---------------------------------
def _load(path: Path) -> list[x509.Certificate]:
    try:
        with warnings.catch_warnings():  # system bundles hold a few certificates older rules allowed
            warnings.simplefilter("ignore")
            return x509.load_pem_x509_certificates(path.read_bytes())
    except (OSError, ValueError) as err:
        raise NtsError(f"the CA certificate {path.name} cannot be read ({err})") from None


@functools.cache
def _system_authorities() -> tuple[x509.Certificate, ...]:
    paths = ssl.get_default_verify_paths()
    for name in (paths.cafile, paths.openssl_cafile):
        if name and Path(name).is_file():
            return tuple(_load(Path(name)))
    return ()


def trusted_certificates(ca_files: list[Path]) -> list[x509.Certificate]:
    """The CA certificates to trust: those given, else the system's trust store."""
    found = [cert for path in ca_files for cert in _load(path)] if ca_files else list(_system_authorities())
    if not found:
        raise NtsError("no trusted CA certificate to check the NTS-KE server with")
    return found


def _subject(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def verify_names(chain: list[x509.Certificate], authorities: list[x509.Certificate], server: Server) -> None:
    """The server's certificate chains to `authorities` and names the host it was reached as
    (OpenSSL checked the chain; it does not check the name)."""
    if not chain:
        raise NtsError(f"{server} sent no certificate")
    try:
        verifier = PolicyBuilder().store(Store(authorities)).build_server_verifier(_subject(server.host))
        verifier.verify(chain[0], chain[1:])
    except VerificationError as err:
        raise NtsError(f"the certificate of {server} is not trusted for that name ({err})") from None


def _until(deadline: float, sock: socket.socket, operation):  # noqa: ANN001, ANN202 - one of pyOpenSSL's calls
    """Run a pyOpenSSL call on a non-blocking socket until it is done or `deadline` passes."""
    while True:
        try:
            return operation()
        except (SSL.WantReadError, SSL.WantWriteError) as want:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NtsError("the NTS-KE server did not answer in time") from None
            reading = isinstance(want, SSL.WantReadError)
            select.select([sock] if reading else [], [] if reading else [sock], [], left)


def key_exchange(server: Server, ca_files: list[Path], timeout: float) -> KeySession:
    """One NTS key establishment with `server` (blocking)."""
    deadline = time.monotonic() + timeout
    authorities = trusted_certificates(ca_files)
    context = SSL.Context(SSL.TLS_METHOD)
    context.set_min_proto_version(SSL.TLS1_3_VERSION)
    context.set_alpn_protos([ALPN])
    context.set_verify(SSL.VERIFY_PEER)
    for path in ca_files:
        context.load_verify_locations(str(path))
    if not ca_files:
        context.set_default_verify_paths()
    try:
        sock = socket.create_connection((server.host, server.port), timeout=timeout)
    except OSError as err:
        raise NtsError(f"no connection to the NTS-KE server {server} ({err.strerror or err})") from None
    sock.setblocking(False)
    connection = SSL.Connection(context, sock)
    try:
        if isinstance(_subject(server.host), x509.DNSName):
            connection.set_tlsext_host_name(server.host.encode("idna"))
        connection.set_connect_state()
        try:
            _until(deadline, sock, connection.do_handshake)
        except SSL.Error as err:
            raise NtsError(f"the TLS handshake with the NTS-KE server {server} failed ({_ssl_reason(err)})") from None
        if connection.get_alpn_proto_negotiated() != ALPN:
            raise NtsError(f"{server} does not speak NTS-KE (no ALPN {ALPN.decode()})")
        verify_names(connection.get_peer_cert_chain(as_cryptography=True) or [], authorities, server)
        _until(deadline, sock, lambda: connection.sendall(ke_request()))
        answer = b""
        while True:
            try:
                chunk = _until(deadline, sock, lambda: connection.recv(4096))
            except (SSL.ZeroReturnError, SSL.SysCallError):
                break
            if not chunk:
                break
            answer += chunk
            if len(answer) > MAX_RECORDS_BYTES:
                raise NtsError(f"{server} sent an NTS-KE answer of more than {MAX_RECORDS_BYTES} bytes")
            try:
                records = parse_records(answer)
                break
            except NtsError:
                continue  # not all of it yet
        records = parse_records(answer)
        cookies, host, port = session_from(records, server.host)
        algorithm = struct.pack(">HH", NTPV4, AEAD_AES_SIV_CMAC_256)
        c2s = connection.export_keying_material(EXPORTER_LABEL, KEY_LENGTH, algorithm + b"\x00")
        s2c = connection.export_keying_material(EXPORTER_LABEL, KEY_LENGTH, algorithm + b"\x01")
        return KeySession(c2s, s2c, cookies[:COOKIES_KEPT], host, port, str(server))
    finally:
        with contextlib.suppress(SSL.Error):
            connection.shutdown()
        sock.close()


def _ssl_reason(err: SSL.Error) -> str:
    parts = [p for args in err.args for p in (args if isinstance(args, list) else [args])]
    reasons = [p[2] for p in parts if isinstance(p, tuple) and len(p) == 3 and p[2]]
    return ", ".join(reasons) or str(err) or type(err).__name__


# -- NTS-protected NTP ---------------------------------------------------------------------
def extension(kind: int, body: bytes) -> bytes:
    padded = body + b"\0" * (-len(body) % 4)
    return struct.pack(">HH", kind, 4 + len(padded)) + padded


def parse_extensions(data: bytes, start: int) -> list[tuple[int, int, bytes]]:
    """(type, offset of the field in `data`, body) of each extension field from `start`."""
    out = []
    at = start
    while at + 4 <= len(data):
        kind, length = struct.unpack_from(">HH", data, at)
        if length < 4 or length % 4 or at + length > len(data):
            raise NtsError("a malformed extension field in the NTS reply")
        out.append((kind, at, data[at + 4:at + length]))
        at += length
    return out


def authenticator(key: bytes, associated: bytes, plaintext: bytes = b"") -> bytes:
    nonce = os.urandom(16)
    sealed = AESSIV(key).encrypt(plaintext, [associated, nonce])
    body = struct.pack(">HH", len(nonce), len(sealed)) + nonce + sealed
    return extension(AUTHENTICATOR, body)


def open_authenticator(key: bytes, packet: bytes, at: int, body: bytes) -> bytes:
    """The plaintext of the authenticator field at offset `at` of `packet`; NtsError when forged."""
    if len(body) < 4:
        raise NtsError("a truncated NTS authenticator")
    nonce_length, sealed_length = struct.unpack_from(">HH", body)
    nonce = body[4:4 + nonce_length]
    start = 4 + nonce_length + (-nonce_length % 4)
    sealed = body[start:start + sealed_length]
    if len(nonce) != nonce_length or len(sealed) != sealed_length:
        raise NtsError("a truncated NTS authenticator")
    try:
        return AESSIV(key).decrypt(sealed, [packet[:at], nonce])
    except InvalidTag:
        raise NtsError("the NTS reply's authenticator does not open with the session key") from None


class NtsSource:
    """An NTS-KE server and the NTS-protected NTP server it leads to."""

    def __init__(self, ke_server: Server, ca_files: list[Path], timeout: float) -> None:
        self.ke_server = ke_server
        self.ca_files = ca_files
        self.timeout = timeout
        self.session: KeySession | None = None
        self.key_exchanges = 0

    @property
    def name(self) -> str:
        return f"{self.session.host}:{self.session.port} (NTS-KE {self.ke_server})" if self.session \
            else f"NTS-KE {self.ke_server}"

    async def establish(self) -> KeySession:
        self.session = await asyncio.to_thread(key_exchange, self.ke_server, self.ca_files, self.timeout * 5)
        self.key_exchanges += 1
        return self.session

    async def sample(self, clock: Clock) -> Sample:
        session = self.session if self.session and self.session.cookies else await self.establish()
        cookie = session.cookies.pop(0)
        unique = os.urandom(32)

        def fields(header: bytes) -> bytes:
            wanted = COOKIES_KEPT - len(session.cookies) - 1
            plain = (extension(UNIQUE_ID, unique) + extension(COOKIE, cookie)
                     + b"".join(extension(COOKIE_PLACEHOLDER, b"\0" * len(cookie)) for _ in range(max(0, wanted))))
            return plain + authenticator(session.c2s, header + plain)

        try:
            reply, t1, t4, _sent = await exchange(session.host, session.port, clock, self.timeout, fields)
        except NtpError as err:
            if err.kiss == "NTSN":  # the server no longer knows our cookies: a new key establishment
                self.session = None
            raise
        packet = reply.raw
        found = parse_extensions(packet, 48)
        if not any(kind == UNIQUE_ID and body == unique for kind, _at, body in found):
            raise NtsError("the NTS reply does not answer this request (unique identifier)")
        auth = [(at, body) for kind, at, body in found if kind == AUTHENTICATOR]
        if len(auth) != 1:
            raise NtsError("the NTS reply carries no authenticator")
        plaintext = open_authenticator(session.s2c, packet, *auth[0])
        for kind, _at, body in parse_extensions(plaintext, 0):
            if kind == COOKIE and len(session.cookies) < COOKIES_KEPT:
                session.cookies.append(body)
        return sample_of(self.name, reply, t1, t4, clock.host_time(), nts=True)

