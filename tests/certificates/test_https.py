"""The HTTPS server's certificate, TLS versions and cryptographic policy on a real `vigil run`,
checked with `openssl s_client`: a certificate made on the device, signed by a CA from its
request and chosen for HTTPS is served at once (verified against that CA); the FIPS policy
refuses ChaCha20-Poly1305 and X25519 while the default offers them; TLS 1.3 only refuses 1.2."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.serialization import Encoding

from tests.certificates.conftest import TestCa
from tests.conftest import ADMIN, LiveDevice, create_admin_live, new_instance, start_live, wait_until

AUTH = httpx.DigestAuth(*ADMIN)
ROOT = "/config/rest/cert/v1"


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDevice]:
    server = start_live(tmp_path_factory.mktemp("https") / "data")
    create_admin_live(server)
    yield server
    server.stop()


def s_client(live: LiveDevice, *args: str, ca: Path | None = None) -> tuple[bool, str]:
    """(handshake done, openssl's report) of one `openssl s_client -brief` to the HTTPS port."""
    cmd = ["openssl", "s_client", "-brief", "-connect", f"127.0.0.1:{live.https_port}", *args]
    if ca is not None:
        cmd += ["-CAfile", str(ca), "-verify_return_error", "-verify_ip", "127.0.0.1"]
    done = subprocess.run(cmd, input=b"", capture_output=True, timeout=20, check=False)
    report = (done.stdout + done.stderr).decode(errors="replace")
    return done.returncode == 0 and "CONNECTION ESTABLISHED" in report, report


def param(live: LiveDevice, **values: str) -> str:
    args = {"action": "update", **{k.replace("_", "."): v for k, v in values.items()}}
    return httpx.get(live.http + "/axis-cgi/param.cgi", params=args, auth=AUTH, timeout=10).text


def rest(live: LiveDevice, method: str, path: str, data=None) -> dict:
    kwargs = {"json": {"data": data}} if data is not None else {}
    return httpx.request(method, live.http + ROOT + path, auth=AUTH, timeout=30, **kwargs).json()


def install_ca_signed(live: LiveDevice, ca: TestCa, alias: str, key_type: str) -> None:
    created = rest(live, "POST", "/create_certificate", {"alias": alias, "subject": f"CN={alias}",
                                                         "key_type": key_type,
                                                         "subject_alt_names": ["IP:127.0.0.1", "DNS:localhost"]})
    assert created == {"status": "success"}, created
    csr = rest(live, "POST", f"/certificates/{alias}/get_csr", {})["data"]
    signed = ca.sign(csr).public_bytes(Encoding.PEM).decode()
    assert rest(live, "PATCH", f"/certificates/{alias}", {"certificate": signed}) == {"status": "success"}


def test_a_ca_signed_certificate_is_served_at_once(live: LiveDevice, tmp_path: Path) -> None:
    ca = TestCa("HTTPS test CA")
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(ca.pem)
    assert not s_client(live, ca=ca_file)[0]  # the built-in self-signed certificate: not trusted
    install_ca_signed(live, ca, "web", "EC-P256")
    assert param(live, HTTPS_Certificate="web") == "OK\r\n"
    done, report = s_client(live, ca=ca_file)
    assert done and "Verification: OK" in report and "CN = web" in report, report
    # An RSA certificate replaces it entirely: no ECDSA certificate lingers for clients that prefer it.
    install_ca_signed(live, ca, "web-rsa", "RSA-2048")
    assert param(live, HTTPS_Certificate="web-rsa") == "OK\r\n"
    done, report = s_client(live, "-sigalgs", "ECDSA+SHA256:RSA-PSS+SHA256:RSA+SHA256", ca=ca_file)
    assert done and "CN = web-rsa" in report, report
    # Chosen, it cannot be deleted; a name not in the keystore is refused and changes nothing.
    refused = rest(live, "DELETE", "/certificates/web-rsa")
    assert refused["error"]["code"] == 409 and "the HTTPS server" in refused["error"]["message"]
    assert "no client/server certificate 'nothing'" in param(live, HTTPS_Certificate="nothing")
    assert "CN = web-rsa" in s_client(live, ca=ca_file)[1]
    # Kept over a restart: the listener starts with it.
    login = httpx.post(live.http + "/vigil/session", json={"username": ADMIN[0], "password": ADMIN[1]})
    assert httpx.get(live.http + "/axis-cgi/restart.cgi", auth=AUTH).status_code == 200
    wait_until(lambda: new_instance(live, login.cookies), 20, "the device to restart")
    done, report = s_client(live, ca=ca_file)
    assert done and "CN = web-rsa" in report, report
    # Back to the built-in one, and the CA-signed ones can go.
    assert param(live, HTTPS_Certificate="") == "OK\r\n"
    assert not s_client(live, ca=ca_file)[0]
    assert rest(live, "DELETE", "/certificates/web-rsa") == {"status": "success"}


def test_the_fips_policy_leaves_out_chacha20_and_x25519(live: LiveDevice) -> None:
    chacha13 = ("-tls1_3", "-ciphersuites", "TLS_CHACHA20_POLY1305_SHA256")
    chacha12 = ("-tls1_2", "-cipher", "ECDHE-ECDSA-CHACHA20-POLY1305")
    x25519 = ("-tls1_3", "-groups", "X25519")
    for offered in (chacha13, chacha12, x25519):
        assert s_client(live, *offered)[0], offered
    assert param(live, HTTPS_CryptographicPolicy="fips") == "OK\r\n"
    try:
        for offered in (chacha13, chacha12, x25519):
            assert not s_client(live, *offered)[0], offered
        done, report = s_client(live, "-tls1_3")
        assert done and "TLS_AES_256_GCM_SHA384" in report, report
        done, report = s_client(live, "-tls1_2")
        assert done and "ECDHE-ECDSA-AES256-GCM-SHA384" in report, report
        assert s_client(live, "-tls1_3", "-groups", "P-384")[0]
    finally:
        assert param(live, HTTPS_CryptographicPolicy="default") == "OK\r\n"
    assert s_client(live, *chacha13)[0]


def test_tls13_only_refuses_tls12(live: LiveDevice) -> None:
    assert param(live, HTTPS_AllowTLS12="no") == "OK\r\n"
    try:
        assert not s_client(live, "-tls1_2")[0]
        done, report = s_client(live)
        assert done and "Protocol version: TLSv1.3" in report, report
    finally:
        assert param(live, HTTPS_AllowTLS12="yes") == "OK\r\n"
    done, report = s_client(live, "-tls1_2")
    assert done and "Protocol version: TLSv1.2" in report, report
