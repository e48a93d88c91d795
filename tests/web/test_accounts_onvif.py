"""Accounts > ONVIF accounts in a real browser: ONVIF is off until the first ONVIF account,
which the page creates; the account then works for an ONVIF client (WS-UsernameToken), its
role changes, and it is deleted."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
from playwright.sync_api import expect

from tests.conftest import LiveDevice, create_admin_live
from tests.onvif.schemas import request, security
from tests.peers.browser import Session
from tests.web.conftest import log_in
from vigil.features.onvif.const import DEVICE_PATH


def device_information(live: LiveDevice, user: str, password: str) -> httpx.Response:
    header = security(user, password, created=datetime.now(UTC))
    return httpx.post(live.http + DEVICE_PATH, content=request("GetDeviceInformation", header=header),
                      headers={"Content-Type": "application/soap+xml"})


def test_onvif_accounts_on_the_accounts_page(live: LiveDevice, session: Session) -> None:
    create_admin_live(live)
    page = session.page
    log_in(page, live)
    page.locator("#nav").get_by_role("link", name="Accounts").click()
    expect(page.locator("#onvif-state")).to_have_text("ONVIF is off: create an ONVIF account to turn it on.")

    page.get_by_role("button", name="Add ONVIF account").click()
    dialog = page.get_by_role("dialog", name="Add ONVIF account")
    dialog.get_by_label("Account", exact=True).fill("hass")
    dialog.get_by_label("New password").fill("hass1234")
    dialog.get_by_label("Repeat password").fill("hass1234")
    dialog.get_by_label("Media account").check()
    dialog.get_by_role("button", name="Add").click()
    expect(dialog).to_be_hidden()
    row = page.locator('tr[data-onvif-account="hass"]')
    expect(row).to_contain_text("Media account")
    expect(page.locator("#onvif-state")).to_have_text("ONVIF is on.")
    assert device_information(live, "hass", "hass1234").status_code == 200
    assert device_information(live, "hass", "wrong").status_code == 400

    row.get_by_role("button", name="Update ONVIF account hass").click()
    dialog = page.get_by_role("dialog", name="Update ONVIF account hass")
    dialog.get_by_label("Operator").check()
    dialog.get_by_role("button", name="Save").click()
    expect(row).to_contain_text("Operator")

    row.get_by_role("button", name="Delete ONVIF account hass").click()
    page.get_by_role("dialog", name="Delete ONVIF account").get_by_role("button", name="Delete").click()
    expect(row).to_have_count(0)
    expect(page.locator("#onvif-state")).to_have_text("ONVIF is off: create an ONVIF account to turn it on.")
    assert device_information(live, "hass", "hass1234").status_code == 400
