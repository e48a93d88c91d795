"""Logs > Remote system log and Maintenance > Troubleshoot in a real browser (Debian's Chromium,
driven by Playwright) against a real `vigil run`: two syslog servers (TLS and UDP) set up, tested
and saved on the page, whose rsyslogd then receives the test messages and the audit log, and the
errors a wrong CA certificate and a closed port give; a ping, port checks, a network trace (read
back by tshark) and the crash report holding it, from the Maintenance page. Every effect is
checked again over the API."""

from __future__ import annotations

import contextlib
import re
import secrets
import socket
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.conftest import LiveDevice, free_port, wait_until
from tests.peers.browser import Session
from tests.peers.certs import ca_signed
from tests.peers.rsyslog import Rsyslog, available
from tests.troubleshoot.conftest import needs_capture, tshark
from tests.web.conftest import Kept, digest, log_in, open_page, with_admin
from vigil.features.troubleshoot.crash_report import TRACE_NAME

pytestmark = pytest.mark.browser
CA_ID = "syslog-ca"


@pytest.fixture
def device(kept_s3016: Kept, request: pytest.FixtureRequest) -> Iterator[LiveDevice]:
    for server in kept_s3016.handed(request):
        yield with_admin(server)


@pytest.fixture
def rsyslog(tmp_path: Path, device: LiveDevice) -> Iterator[Rsyslog]:
    if not available():
        pytest.skip("rsyslog and rsyslog-gnutls are not installed (make debs installs them)")
    certs = ca_signed(tmp_path / "certs")
    added = httpx.post(device.http + "/config/rest/cert/v1/ca_certificates", auth=digest(), timeout=10,
                       json={"data": {"alias": CA_ID, "certificate": certs.ca.read_text()}})
    assert added.json() == {"status": "success"}, added.text
    server = Rsyslog(tmp_path / "rsyslog", certs.ca, certs.cert, certs.key).start()
    yield server
    server.stop()


def syslog_status(device: LiveDevice) -> dict:
    r = httpx.post(device.http + "/axis-cgi/remotesyslog.cgi", auth=digest(),
                   json={"apiVersion": "1.0", "method": "status"})
    return r.json()["data"]


def fill_server(page: Page, index: int, host: str, port: int, protocol: str, form: str, severity: str,
                kind: str) -> None:
    server = page.locator("fieldset.syslog-server").nth(index)
    server.get_by_label("Host").fill(host)
    server.get_by_label("Format").select_option(form)
    server.get_by_label("Protocol").select_option(protocol)
    default = {"TLS": "6514", "UDP": "514"}[protocol]
    expect(server.get_by_label("Port")).to_have_value(default)  # the default follows the protocol
    server.get_by_label("Port").fill(str(port))
    server.get_by_label("Severity").select_option(severity)
    server.get_by_label("Type").select_option(kind)


def messages_received(rsyslog: Rsyslog, listener: str) -> int:
    return sum("Remote syslog test message" in r.msg and r.input == listener for r in rsyslog.records())


def test_remote_syslog_set_up_on_the_logs_page(device: LiveDevice, rsyslog: Rsyslog, session: Session) -> None:
    page = session.page
    log_in(page, device)
    open_page(page, "Logs")
    card = page.locator("#remote-syslog")
    expect(card.get_by_text("Remote logging is off.")).to_be_visible()
    fill_server(page, 0, "127.0.0.1", rsyslog.tls, "TLS", "RFC5424", "Notice", "Audit")
    add = card.get_by_role("button", name="Add server")
    add.click()
    expect(add).to_be_hidden()  # two servers at most
    closed = free_port()
    fill_server(page, 1, "127.0.0.1", closed, "UDP", "RFC3164", "Informational", "All")
    server2 = page.locator("fieldset.syslog-server").nth(1)
    server2.get_by_label("Protocol").select_option("TCP")
    results = card.locator("#syslog-test-results")

    # A CA certificate the store does not hold, and a server nobody listens on: both said.
    card.get_by_label("CA certificate set").fill("no-such-ca")
    card.get_by_role("button", name="Test server setup").click()
    expect(card.get_by_role("alert")).to_contain_text("A server could not be reached.")
    expect(results).to_contain_text(f"127.0.0.1:{rsyslog.tls} (TLS): TLS setup failed: no CA certificate "
                                    "'no-such-ca' in the keystore")
    expect(results).to_contain_text(f"127.0.0.1:{closed} (TCP): 127.0.0.1:{closed} (TCP) refused the connection")
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_role("alert")).to_contain_text("Invalid parameter value specified (caCertificates).")
    assert syslog_status(device)["servers"] == []  # nothing saved

    # The right certificate and a server that listens: the test messages arrive, nothing is saved.
    card.get_by_label("CA certificate set").fill(CA_ID)
    server2.get_by_label("Protocol").select_option("UDP")
    server2.get_by_label("Port").fill(str(rsyslog.udp))
    card.get_by_role("button", name="Test server setup").click()
    expect(results).to_contain_text(f"127.0.0.1:{rsyslog.tls} (TLS): 6 test messages sent")
    expect(results).to_contain_text(f"127.0.0.1:{rsyslog.udp} (UDP): 7 test messages sent")
    expect(card.get_by_role("status").filter(has_text="The test messages were sent.")).to_be_visible()
    wait_until(lambda: messages_received(rsyslog, "tls") == 6, 15, "Emergency to Notice test messages over TLS")
    wait_until(lambda: messages_received(rsyslog, "udp") == 7, 15, "Emergency to Informational test messages over UDP")
    assert syslog_status(device)["servers"] == []  # the test saved nothing

    card.get_by_role("button", name="Save").click()
    expect(card.get_by_role("status").filter(has_text="settings are saved")).to_be_visible()
    expect(card.locator("#syslog-delivery")).to_contain_text(f"127.0.0.1:{rsyslog.tls} (TLS): sending")
    expect(card.locator("#syslog-delivery")).to_contain_text(f"127.0.0.1:{rsyslog.udp} (UDP): sending")
    data = syslog_status(device)
    assert data["enabled"] is True and data["caCertificates"] == [CA_ID]
    assert data["servers"] == [{"address": "127.0.0.1", "port": rsyslog.tls, "protocol": "TLS",
                                "syslogFormat": "RFC5424", "severity": "Notice", "type": "Audit"},
                               {"address": "127.0.0.1", "port": rsyslog.udp, "protocol": "UDP",
                                "syslogFormat": "RFC3164", "severity": "Informational", "type": "All"}]

    r = httpx.get(device.http + "/axis-cgi/param.cgi", auth=digest(),
                  params={"action": "update", "System.Theme": "dark"})
    assert r.text.strip() == "OK"
    wait_until(lambda: {r.input for r in rsyslog.records() if "set root.System.Theme=dark" in r.msg} == {"tls", "udp"},
               15, "the audit entry over TLS and UDP")
    record = next(r for r in rsyslog.records() if "set root.System.Theme=dark" in r.msg and r.input == "tls")
    assert (record.msgid, record.sd, record.facility) == ("AUDIT", '[vigil@32473 user="root"]', 13)

    # The page shows the saved servers when it opens again; removing them turns remote logging off.
    page.reload()
    expect(card.locator("fieldset.syslog-server")).to_have_count(2)
    expect(card.locator("fieldset.syslog-server").nth(1).get_by_label("Port")).to_have_value(str(rsyslog.udp))
    card.get_by_role("button", name="Remove server 1").click()
    expect(card.locator("fieldset.syslog-server legend")).to_have_text(["Server 1"])
    card.get_by_role("button", name="Remove server 1").click()
    card.get_by_role("button", name="Save").click()
    expect(card.get_by_role("status").filter(has_text="No server: remote logging is off.")).to_be_visible()
    assert syslog_status(device) == {"enabled": False, "servers": [], "caCertificates": [CA_ID], "delivery": []}


@contextlib.contextmanager
def sending_marked(port: int, marker: bytes) -> Iterator[None]:
    """UDP datagrams holding `marker` to 127.0.0.1:`port` every 50 ms while the block runs."""
    stop = threading.Event()

    def send() -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            while not stop.wait(0.05):
                s.sendto(marker, ("127.0.0.1", port))

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        yield
    finally:
        stop.set()
        sender.join()


def test_troubleshoot_on_the_maintenance_page(device: LiveDevice, session: Session, tmp_path: Path) -> None:
    needs_capture()
    page = session.page
    log_in(page, device)
    open_page(page, "Maintenance")
    card = page.locator("#troubleshoot")

    ping = card.get_by_role("form", name="Ping")
    ping.get_by_label("Host").fill("127.0.0.1")
    ping.get_by_role("button", name="Start").click()
    expect(card.locator("#ping-result")).to_contain_text("got response")
    expect(card.locator("#ping-result")).to_contain_text("3 received")

    port = card.get_by_role("form", name="Port check")
    port.get_by_label("Host").fill("127.0.0.1")
    port.get_by_label("Port").fill(str(device.http_port))
    port.get_by_role("button", name="Start").click()
    expect(card.locator("#port-result")).to_contain_text("Test successful.")
    expect(card.get_by_role("status").filter(has_text="The port answered.")).to_be_visible()
    closed = free_port()
    port.get_by_label("Port").fill(str(closed))
    port.get_by_role("button", name="Start").click()
    expect(card.locator("#port-result")).to_contain_text("Test failed")
    expect(card.get_by_role("alert")).to_contain_text("The port did not answer.")
    port.get_by_label("Host").fill("not a host")
    port.get_by_role("button", name="Start").click()
    expect(card.get_by_role("alert")).to_contain_text("not a host name nor an IP address")

    trace = card.get_by_role("form", name="Network trace")
    trace.get_by_label("Trace time", exact=True).fill("2")
    target, marker = free_port(), secrets.token_hex(8).encode()
    with sending_marked(target, marker), page.expect_download(timeout=60_000) as download:
        trace.get_by_role("button", name="Download").click()
    expect(card.get_by_role("status").filter(has_text="The network trace is downloaded.")).to_be_visible()
    assert re.fullmatch(r"trace_[0-9A-F]+_any\.pcap", download.value.suggested_filename)
    saved = tmp_path / "trace.pcap"
    download.value.save_as(saved)
    found = tshark(saved, f"udp.dstport == {target} && !icmp", "data.data")
    assert found and all(row == [marker.hex()] for row in found), found
    r = httpx.get(device.http + "/axis-cgi/auditlog.cgi", params={"text": "network trace"}, auth=digest())
    assert "took a network trace on any" in r.text

    # The crash report holds that trace.
    with page.expect_download(timeout=60_000) as crash:
        page.get_by_role("button", name="Download crash report").click()
    assert re.fullmatch(r"debug_[0-9A-F]+_\d{8}_\d{6}\.tgz", crash.value.suggested_filename)
    crash.value.save_as(tmp_path / "debug.tgz")
    with tarfile.open(tmp_path / "debug.tgz", "r:gz") as archive:
        member = archive.extractfile(TRACE_NAME)
        assert member is not None and member.read() == saved.read_bytes()
