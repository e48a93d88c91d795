"""The Power over Ethernet page and the Status page's Network ports card in Chromium, against a
real `vigil run` S3016 whose switch the simulation API fills: the 16th camera beyond the budget
shows "power budget exceeded"; the user turns a port off (the refused camera gets its power),
makes a port "power only" and names it; each result is checked again over the APIs. The Status
page's front panel shows the budget on the LEDs and the buzzer (silenced there), and the Events
page has manual triggers. The S4000's
Network ports page: its three ports, a port's network turned off and named."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.conftest import LiveDevice, create_admin_live, start_live
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser


def connect(server: LiveDevice, port: int, poe_class: int, draw: float) -> None:
    r = httpx.post(server.http + "/vigil/sim/poe", auth=digest(),
                   json={"port": port, "connect": {"class": poe_class, "draw": draw}})
    assert r.status_code == 200, r.text


def ports(server: LiveDevice) -> list[dict]:
    return httpx.get(server.http + "/config/rest/poe/v1/ports", auth=digest()).json()["data"]["ports"]


def rename(page: Page, label: str, name: str) -> None:
    """Type a port's friendly name on the page and wait for the device's answer."""
    field = page.get_by_label(f"{label} friendly name")
    field.fill(name)
    field.press("Enter")
    field.blur()
    expect(page.get_by_role("status")).to_contain_text(f"{label} is named {name}")


def test_a_user_sees_the_16th_camera_refused_and_frees_power_for_it(recorder: LiveDevice, browser: Browser) -> None:
    for port in range(1, 6):
        connect(recorder, port, 4, 15.0)
    for port in range(6, 17):
        connect(recorder, port, 3 if port < 16 else 2, 7.5 if port < 16 else 5.0)
    session = Session(browser)
    page = session.page
    try:
        log_in(page, recorder)
        expect(page.locator("#poe-allocated")).to_have_text("304.0 W")
        # The Status page's front panel: the product status and port 16's LEDs red, the buzzer
        # sounding for the budget until it is silenced.
        panel = page.locator("#front-panel")
        expect(panel.locator("[data-led=status]")).to_have_text("red")
        expect(panel.locator("[data-led=poe16]")).to_have_text("red")
        expect(panel.locator("[data-led=poe1]")).to_have_text("green")
        expect(page.locator("#panel-buzzer")).to_contain_text("The PoE budget is exceeded")
        page.get_by_role("button", name="Silence buzzer").click()
        expect(page.locator("#panel-buzzer")).to_have_text("Silenced")
        assert httpx.get(recorder.http + "/vigil/panel", auth=digest()).json()["buzzer"] is None
        open_page(page, "Power over Ethernet")
        rows = page.locator("#poe-ports tbody tr")
        expect(rows).to_have_count(16)
        expect(page.locator('#poe-ports tr[data-port="16"]')).to_contain_text("Error: Power budget exceeded")
        expect(page.locator('#poe-ports tr[data-port="1"]')).to_contain_text("Connected - PoE")

        page.get_by_role("switch", name="Port 1 PoE").uncheck()
        expect(page.locator('#poe-ports tr[data-port="1"]')).to_contain_text("Disabled")
        expect(page.locator('#poe-ports tr[data-port="16"]')).to_contain_text("Connected - PoE")
        assert [p["code"] for p in ports(recorder)][::15] == [3, 1]

        page.get_by_label("Port 5 network").select_option(label="Power only")
        expect(page.get_by_role("status")).to_contain_text("Port 5: Power only")
        rename(page, "Port 5", "Gate camera")
        fifth = ports(recorder)[4]
        assert (fifth["network"], fifth["name"], fifth["code"]) == (False, "Gate camera", 1)
        sim = httpx.get(recorder.http + "/vigil/sim/poe", auth=digest()).json()["ports"]
        assert sim[4]["network"] is False and sim[4]["powered"] is True

        page.get_by_role("switch", name="Keep PoE active during a restart").check()
        expect(page.get_by_role("status")).to_contain_text("PoE stays active during a restart")
        r = httpx.get(recorder.http + "/axis-cgi/nvr/poe/getkeeppower.cgi", params={"schemaversion": "1"},
                      auth=digest())
        assert "<Enabled>yes</Enabled>" in r.text

        # Manual triggers on the recorder, which has no I/O ports.
        open_page(page, "Events")
        page.get_by_role("tab", name="Manual triggers").click()
        trigger = page.get_by_role("button", name="Virtual input 4", exact=True)
        trigger.click()
        expect(trigger).to_have_attribute("aria-pressed", "true")
        r = httpx.get(recorder.http + "/axis-cgi/virtualinput/deactivate.cgi",
                      params={"schemaversion": "1", "port": "4"}, auth=digest())
        assert "<StateChanged>true</StateChanged>" in r.text
        expect(trigger).to_have_attribute("aria-pressed", "false")  # live, from the event stream
    finally:
        session.close()


def test_the_s4000_network_ports_page(tmp_path: Path, browser: Browser) -> None:
    server = start_live(tmp_path / "s4000", "s4000")
    create_admin_live(server)
    session = Session(browser)
    page = session.page
    try:
        r = httpx.post(server.http + "/vigil/sim/poe", auth=digest(), json={"port": 3, "connect": {"class": None}})
        assert r.status_code == 200, r.text
        log_in(page, server)
        open_page(page, "Network ports")
        expect(page.locator("#network-ports tbody tr")).to_have_count(3)
        aux = page.locator('#network-ports tr[data-port="3"]')
        expect(aux).to_contain_text("3 AUX RJ45")
        expect(aux).to_contain_text("Connected")
        expect(aux).to_contain_text("No PoE")
        expect(page.locator('#network-ports tr[data-port="1"]')).to_contain_text("Not connected")
        page.get_by_role("switch", name="3 AUX RJ45 network").uncheck()
        expect(page.get_by_role("status")).to_contain_text("3 AUX RJ45: network off")
        rename(page, "3 AUX RJ45", "Service laptop")
        third = ports(server)[2]
        assert (third["network"], third["name"]) == (False, "Service laptop")
        assert httpx.get(server.http + "/vigil/sim/poe", auth=digest()).json()["ports"][2]["network"] is False
    finally:
        session.close()
        server.stop()
