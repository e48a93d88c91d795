"""The HTTPS listener's TLS (probe findings 12 and 21), with Python's ssl module as the client
against a real `vigil run`: TLS 1.2 offers only ECDHE suites with AEAD ciphers (no CBC), and
`HTTPS.AllowTLS12=no` leaves TLS 1.3 only, at once and after a restart."""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import ADMIN, LiveDevice, create_admin_live, new_instance, start_live, wait_until

AUTH = httpx.DigestAuth(*ADMIN)
CBC = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES256-SHA384:ECDHE-ECDSA-AES128-SHA:ECDHE-ECDSA-AES256-SHA"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDevice]:
    server = start_live(tmp_path_factory.mktemp("tls") / "data")
    create_admin_live(server)
    yield server
    server.stop()


def handshake(server: LiveDevice, version: ssl.TLSVersion, ciphers: str | None = None) -> tuple[str, str]:
    """(protocol, cipher) of a handshake limited to `version`; raises ssl.SSLError when refused."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.minimum_version = context.maximum_version = version
    if ciphers:
        context.set_ciphers(ciphers)
    with socket.create_connection(("127.0.0.1", server.https_port), timeout=10) as raw, \
            context.wrap_socket(raw) as tls:
        cipher = tls.cipher()
        assert cipher is not None
        return tls.version() or "", cipher[0]


def refused(server: LiveDevice, version: ssl.TLSVersion, ciphers: str | None = None) -> bool:
    try:
        handshake(server, version, ciphers)
    except (ssl.SSLError, ConnectionResetError):
        return True
    return False


def set_tls12(server: LiveDevice, value: str) -> None:
    r = httpx.get(server.http + "/axis-cgi/param.cgi", params={"action": "update", "HTTPS.AllowTLS12": value},
                  auth=AUTH)
    assert r.text == "OK\r\n"


def test_tls12_offers_only_aead_ecdhe_suites(live: LiveDevice) -> None:
    version, cipher = handshake(live, ssl.TLSVersion.TLSv1_2)
    assert version == "TLSv1.2" and cipher.startswith("ECDHE-") and ("GCM" in cipher or "CHACHA20" in cipher)
    assert refused(live, ssl.TLSVersion.TLSv1_2, CBC)  # a client that offers CBC suites only
    for aead in ("ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"):
        assert handshake(live, ssl.TLSVersion.TLSv1_2, aead) == ("TLSv1.2", aead)
    assert handshake(live, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"


def test_allow_tls12_no_leaves_tls13_only(live: LiveDevice) -> None:
    set_tls12(live, "no")
    try:
        # At once, without a restart.
        assert refused(live, ssl.TLSVersion.TLSv1_2)
        assert handshake(live, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
        # And when the listener starts again.
        login = httpx.post(live.http + "/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
        assert httpx.get(live.http + "/axis-cgi/restart.cgi", auth=AUTH).status_code == 200
        wait_until(lambda: new_instance(live, login.cookies), 20, "the device to restart")
        assert refused(live, ssl.TLSVersion.TLSv1_2)
        assert handshake(live, ssl.TLSVersion.TLSv1_3)[0] == "TLSv1.3"
        assert httpx.get(live.https + "/axis-cgi/usergroup.cgi", auth=AUTH, verify=False).status_code == 200
    finally:
        set_tls12(live, "yes")
    assert handshake(live, ssl.TLSVersion.TLSv1_2)[0] == "TLSv1.2"
