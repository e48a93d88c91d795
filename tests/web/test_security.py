"""The Security page in Chromium against a real `vigil run`: a new user makes a certificate on
the device, asks for it to be signed (signing request), installs the CA-signed certificate and
the CA, chooses it for HTTPS, and a browser that trusts that CA then sees it; bad input shows
the device's reason and stores nothing; TLS settings and brute-force prevention are saved; an
EST profile enrolls from the page; the virtual host's authentication type (Accounts) applies."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import Error as PlaywrightError

from tests.certificates.conftest import TestCa
from tests.certificates.est_server import EstServer
from tests.conftest import ADMIN, LiveDevice, create_admin_live, start_live
from tests.peers.browser import CHROMIUM, CHROMIUM_ARGS, Session
from tests.web.conftest import digest, log_in, open_page

ROOT = "/config/rest/cert/v1"


@pytest.fixture(scope="module")
def device(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveDevice]:
    server = start_live(tmp_path_factory.mktemp("security") / "data")
    try:
        create_admin_live(server)
        yield server
    finally:
        server.stop()


def spki_hash(ca: TestCa) -> str:
    der = ca.cert.public_key().public_bytes(serialization.Encoding.DER,
                                            serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def params(device: LiveDevice, *names: str) -> dict[str, str]:
    text = httpx.get(device.http + "/axis-cgi/param.cgi", params={"action": "list", "group": ",".join(names)},
                     auth=digest(), timeout=10).text
    return dict(line.removeprefix("root.").split("=", 1) for line in text.splitlines() if "=" in line)


def dialog(page: Page):
    return page.locator("dialog[open]")


def test_install_a_ca_signed_certificate_and_the_browser_sees_it(device: LiveDevice, browser: Browser,
                                                                  session: Session, tmp_path: Path) -> None:
    ca = TestCa("Security page test CA")
    chain = tmp_path / "signed.pem"
    ca_file = tmp_path / "ca.cer"
    ca_file.write_bytes(ca.cert.public_bytes(serialization.Encoding.DER))  # a .cer file, DER
    page = session.page
    log_in(page, device)
    open_page(page, "Security")

    # Create a certificate on the device.
    page.locator("#add-certificate").click()
    form = dialog(page)
    form.get_by_label("Type", exact=True).select_option("create")
    form.get_by_label("Alias").fill("web")
    form.get_by_label("Subject", exact=True).fill("C=SE,CN=localhost")
    form.get_by_label("Subject alternative names").fill("DNS:localhost, IP:127.0.0.1")
    form.get_by_label("Key type").select_option("EC-P384")
    form.get_by_role("button", name="Add").click()
    row = page.locator("#certificates-table tr[data-alias='web']")
    expect(row).to_contain_text("Self-signed")

    # Its signing request, signed by the CA, installed back on it.
    page.get_by_role("button", name="Create certificate signing request web").click()
    dialog(page).get_by_role("button", name="Create").click()
    expect(page.locator("#csr-text")).to_be_visible()
    csr = page.locator("#csr-text").input_value()
    assert csr.startswith("-----BEGIN CERTIFICATE REQUEST-----")
    dialog(page).get_by_role("button", name="Close").click()
    chain.write_bytes(ca.sign(csr).public_bytes(serialization.Encoding.PEM) + ca.pem.encode())
    page.get_by_role("button", name="Install signed certificate web").click()
    dialog(page).locator("input[name=signed-certificate-file]").set_input_files(str(chain))
    dialog(page).get_by_role("button", name="Install").click()
    expect(row).to_contain_text("CN=Security page test CA")

    # The CA certificate, from a .cer file; its information.
    page.locator("#add-ca-certificate").click()
    dialog(page).get_by_label("Alias").fill("test-ca")
    dialog(page).locator("input[name=ca-file]").set_input_files(str(ca_file))
    dialog(page).get_by_role("button", name="Add").click()
    ca_row = page.locator("#ca-certificates-table tr[data-alias='test-ca']")
    expect(ca_row).to_contain_text("CN=Security page test CA")
    page.get_by_role("button", name="CA certificate information test-ca").click()
    expect(dialog(page)).to_contain_text(ca.cert.fingerprint(hashes.SHA256()).hex(":").upper())
    dialog(page).get_by_role("button", name="Close").click()

    # A second Chromium that trusts the test CA (as one with the CA installed would), from the same Playwright.
    trusting = browser.browser_type.launch(executable_path=CHROMIUM, args=[
        *CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki_hash(ca)}"])
    try:
        viewer = Session(trusting)
        try:
            # The built-in self-signed certificate: this browser does not trust it.
            with pytest.raises(PlaywrightError, match="ERR_CERT"):
                viewer.page.goto(f"https://localhost:{device.https_port}/")
            # Chosen for HTTPS on the page: seen at once, trusted through the CA.
            page.locator("#https-certificate").select_option("web")
            page.locator("#https-save").click()
            expect(page.locator("#https-form").get_by_role("status")).to_contain_text("Saved.")
            response = viewer.page.goto(f"https://localhost:{device.https_port}/")
            assert response is not None and response.ok
            details = response.security_details()
            assert details is not None and details["subjectName"] == "localhost", details
            assert details["issuer"] == "Security page test CA", details
        finally:
            viewer.close()
    finally:
        trusting.close()

    # In use by HTTPS: the page says so and keeps it.
    page.get_by_role("button", name="Delete certificate web").click()
    dialog(page).get_by_role("button", name="Delete").click()
    expect(page.get_by_role("alert")).to_contain_text("in use by the HTTPS server")
    expect(row).to_be_visible()
    page.get_by_role("button", name="Delete CA certificate test-ca").click()
    dialog(page).get_by_role("button", name="Delete").click()
    expect(ca_row).to_be_hidden()


def test_bad_input_is_refused_with_the_reason_and_nothing_stored(device: LiveDevice, session: Session,
                                                                  tmp_path: Path) -> None:
    page = session.page
    log_in(page, device)
    open_page(page, "Security")
    page.locator("#add-certificate").click()
    form = dialog(page)
    form.get_by_label("Alias").fill("bad")
    form.get_by_label("Subject", exact=True).fill("C=Sweden,CN=x")
    form.get_by_role("button", name="Add").click()
    expect(form.get_by_role("alert")).to_contain_text("two-letter country code")
    form.get_by_label("Type", exact=True).select_option("pkcs12")
    junk = tmp_path / "junk.pfx"
    junk.write_bytes(b"\x30\x03\x02\x01\x03")
    form.locator("input[name=pkcs12-file]").set_input_files(str(junk))
    form.get_by_label("Passphrase").fill("x")
    form.get_by_role("button", name="Add").click()
    expect(form.get_by_role("alert")).to_contain_text("not a PKCS#12")
    form.get_by_role("button", name="Cancel").click()
    stored = httpx.get(device.http + ROOT + "/certificates", auth=digest(), timeout=10).json()["data"]
    assert "bad" not in [e["alias"] for e in stored]


def test_tls_policy_and_brute_force_settings_are_saved(device: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, device)
    open_page(page, "Security")
    page.locator("#https-policy").select_option("fips")
    page.locator("#https-tls-versions").select_option("no")
    page.locator("#https-save").click()
    expect(page.locator("#https-form").get_by_role("status")).to_contain_text("Saved.")
    page.locator("#brute-force-BlockingPeriod").fill("30")
    page.locator("#brute-force-save").click()
    expect(page.locator("#brute-force-form").get_by_role("status")).to_contain_text("Saved.")
    page.locator("#brute-force-Window").fill("0")
    page.locator("#brute-force-save").click()
    expect(page.locator("#brute-force-form").get_by_role("alert")).to_contain_text("BruteForce.Window")
    values = params(device, "HTTPS", "System.BruteForce")
    assert values["HTTPS.CryptographicPolicy"] == "fips" and values["HTTPS.AllowTLS12"] == "no"
    assert values["System.BruteForce.BlockingPeriod"] == "30" and values["System.BruteForce.Window"] == "60"
    assert httpx.get(device.http + "/axis-cgi/param.cgi", auth=digest(), timeout=10, params={
        "action": "update", "HTTPS.CryptographicPolicy": "default", "HTTPS.AllowTLS12": "yes"}).text == "OK\r\n"


def test_enroll_over_est_from_the_page(device: LiveDevice, session: Session, tmp_path: Path) -> None:
    est = EstServer(TestCa("EST page CA"), tmp_path / "est").start()
    try:
        added = httpx.post(device.http + ROOT + "/ca_certificates", auth=digest(), timeout=10,
                           json={"data": {"alias": "est-root", "certificate": est.ca.pem}})
        assert added.json() == {"status": "success"}
        page = session.page
        log_in(page, device)
        open_page(page, "Security")
        page.locator("#add-est-profile").click()
        form = dialog(page)
        form.get_by_label("Profile ID").fill("web")
        form.get_by_label("EST server").fill(est.address)
        form.get_by_label("Common name (CN)").fill("localhost")
        form.get_by_label("Subject alternative names").fill("IP:127.0.0.1")
        form.get_by_label("CA certificate of the server").select_option("est-root")
        form.get_by_label("User name").fill(est.username)
        form.get_by_label("Password", exact=True).fill(est.password)
        form.get_by_role("button", name="Add and enroll").click()
        row = page.locator("#est-table tr[data-profile='web']")
        expect(row.locator(".est-status")).to_contain_text("ENROLLED")
        expect(page.locator("#certificates-table tr[data-alias='EST web']")).to_contain_text("CN=EST page CA")
        expect(page.locator("#https-certificate")).to_have_value("EST web")
        assert params(device, "HTTPS.Certificate")["HTTPS.Certificate"] == "EST web"
        # The server refuses the renewal: the page says why, and the certificate stays.
        est.refuse = (400, "renewal not allowed by policy")
        page.get_by_role("button", name="Enroll now web").click()
        expect(page.get_by_role("alert")).to_contain_text(
            "the EST server refused simplereenroll: HTTP 400 Bad Request: renewal not allowed by policy")
        expect(row.locator(".est-status")).to_contain_text("renewal not allowed by policy")
        expect(page.locator("#certificates-table tr[data-alias='EST web']")).to_be_visible()
        # Back to the built-in certificate for the other tests of this device.
        assert httpx.get(device.http + "/axis-cgi/param.cgi", auth=digest(), timeout=10,
                         params={"action": "update", "HTTPS.Certificate": ""}).text == "OK\r\n"
    finally:
        est.stop()


def test_virtual_host_type_on_the_accounts_page(device: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, device)
    open_page(page, "Accounts")
    table = page.locator("#virtual-host-table")
    expect(table.locator("tr[data-host='default-http']")).to_contain_text(str(device.http_port))
    expect(table.locator("tr[data-host='default-https']")).to_contain_text(str(device.https_port))
    basic = httpx.BasicAuth(*ADMIN)
    assert httpx.get(device.http + "/axis-cgi/usergroup.cgi", auth=basic, timeout=10).status_code == 200
    page.locator("#virtual-host-type").select_option("digest")
    page.locator("#virtual-host-save").click()
    expect(page.locator("#virtual-host-form").get_by_role("status")).to_contain_text("Saved.")
    try:
        assert params(device, "Network.HTTP.AuthenticationPolicy")["Network.HTTP.AuthenticationPolicy"] == "digest"
        assert httpx.get(device.http + "/axis-cgi/usergroup.cgi", auth=basic, timeout=10).status_code == 401
        assert httpx.get(device.http + "/axis-cgi/usergroup.cgi", auth=digest(), timeout=10).status_code == 200
    finally:
        assert httpx.get(device.http + "/axis-cgi/param.cgi", auth=digest(), timeout=10, params={
            "action": "update", "Network.HTTP.AuthenticationPolicy": "basic_digest"}).text == "OK\r\n"
