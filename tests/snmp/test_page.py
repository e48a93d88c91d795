"""The SNMP page in Chromium on a real `vigil run`: an administrator turns the agent on with
v2c, sets the community and the trap receiver, and net-snmp then reads the device; the status
shows where the agent listens and counts a refused community."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice, create_admin_live
from tests.peers.browser import Session, module_browser  # noqa: F401 (the browser fixture)
from tests.peers.processes import free_port
from tests.peers.snmp import free_udp_port, v2c
from tests.peers.snmp import tool_sync as snmp
from tests.snmp.conftest import needs_net_snmp
from tests.web.conftest import log_in, open_page, session  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, needs_net_snmp]


@pytest.fixture
def snmp_live(tmp_path: Path) -> Iterator[tuple[LiveDevice, int]]:
    """`vigil run` with its SNMP agent on a free loopback UDP port."""
    http, https, rtsp, snmp = free_port(), free_port(), free_port(), free_udp_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "vigil", "run", "--profile", "s3016", "--data", str(tmp_path / "data"),
         "--host", "127.0.0.1", "--http-port", str(http), "--https-port", str(https), "--rtsp-port", str(rtsp),
         "--snmp-port", str(snmp)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    server = LiveDevice(process, tmp_path / "data", http, https, rtsp, "s3016")
    server.wait_ready()
    create_admin_live(server)
    yield server, snmp
    server.stop()


def test_turn_on_and_walk(session: Session, snmp_live: tuple[LiveDevice, int]) -> None:  # noqa: F811
    server, port = snmp_live
    page = session.page
    log_in(page, server)
    open_page(page, "SNMP")
    expect(page.locator("#snmp-status")).to_contain_text("Off")
    page.get_by_role("checkbox", name="SNMP agent").check()
    page.get_by_role("checkbox", name="v2c", exact=True).check()
    page.get_by_label("Read community").fill("monitor")
    page.get_by_label("Location (sysLocation)").fill("Server room")
    page.get_by_label("Trap address").fill("127.0.0.1:9162")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status").filter(has_text="Saved")).to_be_visible()
    expect(page.locator("#snmp-status")).to_contain_text(f"Listening on 127.0.0.1:{port} (v2c)", timeout=10_000)

    r = snmp("snmpget", *v2c("monitor", port), "1.3.6.1.2.1.1.6.0")
    assert r.code == 0 and "Server room" in r.out, r.out
    assert snmp("snmpget", *v2c("public", port), "1.3.6.1.2.1.1.6.0").code != 0  # the old community
    expect(page.locator("#snmp-status")).to_contain_text("Authentication failures1", timeout=10_000)

    page.get_by_label("Trap address").fill("not a host!")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("alert")).to_contain_text("Trap.T0.Address")
