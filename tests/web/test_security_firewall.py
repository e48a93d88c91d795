"""The Security page's Firewall tab in Debian's Chromium (Playwright) against a real `vigil run`
S3016 with the simulated firewall: the user turns the firewall on, tests a deny-all rule set and
watches the countdown and the rollback (another client, from 127.0.0.2, is blocked while it
lasts), then tests rules that let the browser in and keeps them; malformed input and a lock-out
applied without a test are refused with the reason shown. On the IEEE 802.1X tab the user sets up
PEAP against the simulated port's scripted authenticator and sees it fail, then authorize."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.conftest import ADMIN, LiveDevice, create_admin_live, wait_until
from tests.firewall.test_simulated import http_answers
from tests.peers.browser import Session
from tests.web.conftest import log_in, open_page

pytestmark = pytest.mark.browser


def rules(live: LiveDevice) -> dict:
    r = httpx.get(live.http + "/config/rest/firewall/v1/conf/rules", auth=httpx.DigestAuth(*ADMIN))
    return r.json()["data"]


def test_the_user_tests_a_deny_all_rule_watches_it_roll_back_then_keeps_rules(live: LiveDevice,
                                                                             session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    open_page(page, "Security")
    page.get_by_role("tab", name="Firewall").click()
    expect(page.get_by_role("tab", name="Firewall")).to_have_attribute("aria-selected", "true")
    page.get_by_role("checkbox", name="Firewall").check()
    page.get_by_role("form", name="Firewall on or off").get_by_role("button", name="Save").click()
    expect(page.get_by_text("The firewall is on.")).to_be_visible()

    # Deny everything, for a 6 s test.
    editor = page.locator("#firewall-editor")
    editor.get_by_label("Default policy").select_option("DROP")
    editor.get_by_label("Test time in seconds").fill("6")
    editor.get_by_role("button", name="Test rules").click()
    expect(page.locator("#firewall-test")).to_be_visible()
    expect(page.locator("#firewall-countdown")).to_contain_text("roll back in")
    assert not http_answers("127.0.0.2", live)  # another client is shut out while the test lasts
    expect(page.locator("#firewall-test-message")).to_contain_text("The test time ran out", timeout=20_000)
    expect(page.locator("#firewall-test")).to_be_hidden()
    assert http_answers("127.0.0.2", live)
    assert rules(live)["activeDefaultPolicy"] == "ACCEPT"

    # Malformed input never leaves the page.
    editor.get_by_role("button", name="+ New rule").click()
    row = editor.locator("#firewall-rules tbody tr").last
    row.get_by_label("Protocol").select_option("TCP")
    row.get_by_label("Port or port range").fill("70000")
    editor.get_by_role("button", name="Test rules").click()
    expect(editor.get_by_text("Ports are from 1 to 65535.")).to_be_visible()
    expect(row.get_by_label("Port or port range")).to_have_attribute("aria-invalid", "true")

    # A rule that drops this browser, applied without a test, is refused.
    row.get_by_label("Protocol").select_option("")
    row.get_by_label("Port or port range").fill("")
    row.get_by_label("Policy").select_option("DROP")
    row.get_by_label("Source").select_option("ip")
    row.get_by_label("IP address or network").fill("127.0.0.1")
    editor.get_by_role("button", name="Apply rules").click()
    page.get_by_role("dialog").get_by_role("button", name="Apply rules").click()
    expect(editor.get_by_text("would lock out this client")).to_be_visible()
    assert rules(live)["activeRules"] == []

    # Let the browser in, test, and keep the rules.
    row.get_by_label("Policy").select_option("ACCEPT")
    editor.get_by_label("Test time in seconds").fill("120")
    editor.get_by_role("button", name="Test rules").click()
    expect(page.locator("#firewall-countdown")).to_contain_text("roll back in")
    page.get_by_role("button", name="Keep the rules").click()
    expect(page.get_by_text("The rules are kept.")).to_be_visible()
    expect(page.locator("#firewall-test")).to_be_hidden()
    expect(page.get_by_role("table", name="Confirmed (active) rules")).to_contain_text("ACCEPT from 127.0.0.1")
    expect(page.get_by_role("table", name="Confirmed (active) rules")).to_contain_text("Default policy: DROP")
    wait_until(lambda: not http_answers("127.0.0.2", live), 5, "127.0.0.2 to be shut out")
    assert rules(live)["activeRules"][0]["ip"] == "127.0.0.1"


def test_the_user_sets_up_peap_and_sees_the_port_authorized(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    httpx.post(live.http + "/vigil/sim/dot1x", json={"present": True, "peapUsers": {"vigil": "secret"}},
               auth=httpx.DigestAuth(*ADMIN)).raise_for_status()
    page = session.page
    log_in(page, live)
    open_page(page, "Security")
    page.get_by_role("tab", name="IEEE 802.1X").click()
    expect(page.locator("#dot1x-status")).to_contain_text("Off")
    form = page.locator("#dot1x-form")
    form.get_by_label("Use IEEE 802.1X").check()
    form.get_by_label("Authentication method").select_option("PEAP-MSCHAPv2")
    expect(form.get_by_label("Client certificate")).to_be_hidden()
    form.get_by_label("Identity", exact=True).fill("vigil")
    form.get_by_label("Password", exact=True).fill("wrong")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#dot1x-status")).to_contain_text("Failed: the authentication server refused")
    form.get_by_label("Password", exact=True).fill("secret")
    form.get_by_role("button", name="Save").click()
    expect(page.locator("#dot1x-status")).to_contain_text("Authorized")
    # A method without what it needs is refused with the device's reason.
    form.get_by_label("Authentication method").select_option("EAP-TLS")
    form.get_by_role("button", name="Save").click()
    expect(form.get_by_text("EAP-TLS needs the EAP identity")).to_be_visible()
    # The stored password stays when the field is left empty.
    page.reload()
    form = page.locator("#dot1x-form")
    expect(form.get_by_label("Password", exact=True)).to_have_value("")
    form.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Saved: the device authenticates with these settings now.")).to_be_visible()
    expect(page.locator("#dot1x-status")).to_contain_text("Authorized")
