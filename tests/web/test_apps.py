"""Apps in a real browser against a real `vigil run --profile w401`: an unsigned app is refused
until unsigned apps are allowed, then added, started with its switch, its log read, its license
activated and deactivated with a key, its settings page linked, and deleted."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.apps.conftest import make_app
from tests.conftest import LiveDevice
from tests.peers.browser import Session
from tests.web.conftest import log_in, open_page
from vigil.features.apps.package import build

pytestmark = pytest.mark.browser


def test_add_allow_unsigned_start_log_license_delete(w401: LiveDevice, session: Session, tmp_path: Path) -> None:
    folder = make_app(tmp_path / "app", "pagetest", "echo page test says hello; exec sleep 60",
                      copyProtection={"method": "axis"}, configuration={"settingPage": "index.html"})
    (folder / "html").mkdir()
    (folder / "html" / "index.html").write_text("<p>settings</p>")
    package = tmp_path / "pagetest.eap"
    package.write_bytes(build(folder))
    key = tmp_path / "key.xml"
    key.write_text('<license application="pagetest"><key>k</key></license>')

    page = session.page
    log_in(page, w401)
    open_page(page, "Apps")
    expect(page.locator("#apps-list")).to_contain_text("No apps are installed")
    expect(page.locator("#apps-isolation")).to_contain_text("bubblewrap sandbox")
    add = page.locator("#apps-add")
    add.get_by_label("App package (.eap)").set_input_files(str(package))
    add.get_by_role("button", name="Add app").click()
    expect(page.locator(".message.error")).to_contain_text("unsigned apps are not allowed")

    page.get_by_label("Allow unsigned apps").check()
    expect(page.locator(".message.ok")).to_contain_text("Unsigned apps may be installed")
    add.get_by_label("App package (.eap)").set_input_files(str(package))
    add.get_by_role("button", name="Add app").click()
    row = page.locator("tr[data-app=pagetest]")
    expect(row).to_contain_text("Unsigned")
    expect(row).to_contain_text("Missing")
    expect(row.get_by_role("link", name="Open")).to_have_attribute("href", "/local/pagetest/index.html")

    row.get_by_role("switch").check()  # needs its license first
    expect(page.locator(".message.error")).to_contain_text("needs a license key")
    row.get_by_role("button", name="Activate license with a key").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("License key (XML)").set_input_files(str(key))
    dialog.get_by_role("button", name="Activate").click()
    expect(row).to_contain_text("Valid")
    row.get_by_role("switch").check()
    expect(row.locator(".app-status")).to_have_text("Running")

    row.get_by_role("button", name="App log").click()
    expect(page.locator("#apps-log")).to_contain_text("page test says hello")
    page.get_by_role("dialog").get_by_role("button", name="Close").click()

    row.get_by_role("switch").uncheck()
    expect(row.locator(".app-status")).to_contain_text("Stopped")
    row.get_by_role("button", name="Deactivate the license").click()
    expect(row).to_contain_text("Missing")
    row.get_by_role("button", name="Delete").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete").click()
    expect(page.locator("#apps-list")).to_contain_text("No apps are installed")
