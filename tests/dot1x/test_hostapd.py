"""IEEE 802.1X for real: hostapd's wired authenticator (its own EAP server, a throw-away CA) in one
network namespace, a `vigil run` process with VIGIL_HAL=linux in another, joined by a veth pair;
the device's wpa_supplicant authenticates the port. The test sees the port authorized with
PEAP-MSCHAPv2 and with EAP-TLS (the client certificate and its encrypted key from the device's
certificate store), and failed with a wrong password, in `...dot1x.Status` and in hostapd's log."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import ADMIN, wait_until
from tests.dot1x.certs import KEY_PASSWORD, EapCerts, place
from tests.network.netns import Lan, can_make_namespaces, inside, lan, wait_serving
from tests.peers.processes import stop_process

WHY_NOT = can_make_namespaces() or ("" if shutil.which("hostapd") and shutil.which("wpa_supplicant") else
                                    "hostapd and wpa_supplicant (make debs installs them) are needed")
pytestmark = pytest.mark.skipif(bool(WHY_NOT), reason=WHY_NOT or "ok")
HTTP_PORT = 8080  # inside the device's namespace: nothing else listens there
P = "Network.Interface.I0.dot1x."


@pytest.fixture
def network() -> Iterator[Lan]:
    with lan("x", "10.77.51") as net:
        yield net


@pytest.fixture
def authenticator(network: Lan, certs: EapCerts, tmp_path: Path) -> Iterator[Path]:
    """hostapd on the switch's side; its log is the returned file."""
    users = tmp_path / "eap_users"
    users.write_text('"vigil" PEAP\n"vigil" MSCHAPV2 "secret" [2]\n"vigil-s3016" TLS\n')
    conf = tmp_path / "hostapd.conf"
    conf.write_text(f"interface={network.server_if}\ndriver=wired\nieee8021x=1\neap_server=1\neapol_version=2\n"
                    f"eap_user_file={users}\nca_cert={certs.ca}\nserver_cert={certs.server_cert}\n"
                    f"private_key={certs.server_key}\nlogger_stdout=-1\nlogger_stdout_level=1\n")
    log = tmp_path / "hostapd.log"
    process = subprocess.Popen(["ip", "netns", "exec", network.server_ns, "hostapd", str(conf)],
                               stdout=log.open("wb"), stderr=subprocess.STDOUT)
    wait_until(lambda: process.poll() is not None or "ENABLED" in log.read_text() or "interface state" in log.read_text(),
               10, "hostapd to start")
    assert process.poll() is None, log.read_text()
    yield log
    stop_process(process)


@pytest.fixture
def device(network: Lan, certs: EapCerts, tmp_path: Path) -> Iterator[subprocess.Popen]:
    data = tmp_path / "data"
    place(data, "dot1x-client", certs.client_plain)  # taken into the keystore at start
    place(data, "dot1x-ca", certs.ca)
    env = {**os.environ, "VIGIL_HAL": "linux", "VIGIL_NET_INTERFACE": network.device_if,
           "VIGIL_RESOLV_CONF": str(tmp_path / "resolv.conf"), "PYTHONUNBUFFERED": "1"}
    env.pop("VIGIL_NET_SET_HOSTNAME", None)
    process = subprocess.Popen(
        ["ip", "netns", "exec", network.device_ns, sys.executable, "-m", "vigil", "run", "--profile", "s3016",
         "--data", str(data), "--host", "127.0.0.1", "--http-port", str(HTTP_PORT), "--https-port", "8443",
         "--rtsp-port", "8554"],
        env=env, stdout=(tmp_path / "vigil.log").open("wb"), stderr=subprocess.STDOUT)
    yield process
    stop_process(process, 10)


def http(method: str, path: str, **kw) -> httpx.Response:
    return httpx.request(method, f"http://127.0.0.1:{HTTP_PORT}{path}", timeout=10, **kw)


def update(values: dict[str, str]) -> str:
    return http("GET", "/axis-cgi/param.cgi", auth=httpx.DigestAuth(*ADMIN),
                params={"action": "update", **{f"root.{k}": v for k, v in values.items()}}).text.strip()


def status() -> str:
    text = http("GET", "/axis-cgi/param.cgi", auth=httpx.DigestAuth(*ADMIN),
                params={"action": "list", "group": P + "Status"}).text
    return text.strip().split("=", 1)[1]


def test_the_port_is_authorized_with_peap_and_eap_tls_and_fails_with_a_wrong_password(
        network: Lan, authenticator: Path, device: subprocess.Popen, tmp_path: Path) -> None:
    with inside(network.device_ns) as call:
        wait_serving(call, device, tmp_path / "vigil.log", HTTP_PORT)
        call(http, "POST", "/axis-cgi/pwdgrp.cgi", data={
            "action": "add", "user": ADMIN[0], "pwd": ADMIN[1], "grp": "users", "sgrp": "admin:operator:viewer:ptz"})
        assert call(status) == "off"

        def authorized(what: str) -> None:
            wait_until(lambda: call(status) == "authorized", 30,
                       f"the port authorized with {what} (hostapd: {authenticator.read_text()[-1500:]})")

        assert call(update, {P + "Method": "PEAP-MSCHAPv2", P + "PEAP.Identity": "vigil", P + "PEAP.Password": "secret",
                             P + "CACertID": "dot1x-ca", P + "EAPOLVersion": "2", P + "Enabled": "yes"}) == "OK"
        authorized("PEAP-MSCHAPv2")
        assert "IEEE 802.1X: authenticated" in authenticator.read_text()

        assert call(update, {P + "PEAP.Password": "not-the-password"}) == "OK"
        wait_until(lambda: call(status) == "failed", 30, "the port failed with a wrong password")

        before = authenticator.read_text().count("IEEE 802.1X: authenticated")
        assert call(update, {P + "Method": "EAP-TLS", P + "EAPTLS.Identity": "vigil-s3016",
                             P + "EAPTLS.ClientCertID": "dot1x-client",
                             P + "EAPTLS.PrivateKeyPassword": KEY_PASSWORD}) == "OK"
        authorized("EAP-TLS")
        assert authenticator.read_text().count("IEEE 802.1X: authenticated") > before

        assert call(update, {P + "Enabled": "no"}) == "OK"
        assert call(status) == "off"
    assert "PRIVATE KEY" not in (tmp_path / "vigil.log").read_text()
