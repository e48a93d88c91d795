"""The S3016 in Chromium: the Status page's Front panel card shows the LEDs and the buzzer (a
broken drive sounds it; Silence silences it), and the Events page has Manual triggers although
the recorder has no I/O ports."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import digest, log_in, open_page

pytestmark = pytest.mark.browser


def test_front_panel_and_manual_triggers_on_the_s3016(recorder: LiveDevice, session: Session) -> None:
    page = session.page
    log_in(page, recorder)
    panel = page.locator("#front-panel")
    expect(panel.locator("[data-led=status]")).to_have_text("green")
    expect(page.locator("#panel-buzzer")).to_have_text("Silent")
    r = httpx.post(recorder.http + "/vigil/sim/disks", json={"action": "fail", "slot": 2}, auth=digest())
    assert r.status_code == 200, r.text
    expect(page.locator("#panel-buzzer")).to_contain_text("Hard drive 3 is broken")
    expect(panel.locator("[data-led=disk3]")).to_have_text("red")
    expect(panel.locator("[data-led=disk1]")).to_have_text("amber")
    page.get_by_role("button", name="Silence buzzer").click()
    expect(page.locator("#panel-buzzer")).to_have_text("Silenced")
    assert httpx.get(recorder.http + "/vigil/panel", auth=digest()).json()["buzzer"] is None

    open_page(page, "Events")
    page.get_by_role("tab", name="Manual triggers").click()
    trigger = page.get_by_role("button", name="Virtual input 4", exact=True)
    trigger.click()
    expect(trigger).to_have_attribute("aria-pressed", "true")
    r = httpx.get(recorder.http + "/axis-cgi/virtualinput/deactivate.cgi", params={"schemaversion": "1", "port": "4"},
                  auth=digest())
    assert "<StateChanged>true</StateChanged>" in r.text
    expect(trigger).to_have_attribute("aria-pressed", "false")  # live, from the event stream
